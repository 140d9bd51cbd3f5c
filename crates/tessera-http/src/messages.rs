//! `messages`, `messages/{id}`, `messages/{id}/reactions`, `messages/flags`.

use crate::auth::{Caller, WebhookCaller};
use crate::error::{ApiError, ApiResult};
use crate::params::{Params, PathId, parse_narrow};
use crate::request_info::RequestInfo;
use crate::users::path_id;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};
use tessera_app::{Anchor, App, Destination, Fetch, Outgoing};

/// Zulip's `extract_stream_indicator`: JSON int = id, JSON string or raw text = name.
fn stream_destination(to: Option<String>, stream_id: Option<i64>) -> ApiResult<Destination> {
    if let Some(id) = stream_id {
        return Ok(Destination::Stream {
            name: None,
            id: Some(id),
        });
    }
    let Some(to) = to else {
        return Err(ApiError::bad_request("Missing channel"));
    };
    Ok(match serde_json::from_str::<Value>(&to) {
        Ok(Value::Number(n)) => Destination::Stream {
            name: None,
            id: n.as_i64(),
        },
        Ok(Value::String(s)) => Destination::Stream {
            name: Some(s),
            id: None,
        },
        Ok(Value::Array(items)) => {
            if items.len() != 1 {
                return Err(ApiError::bad_request("Expected exactly one channel"));
            }
            match &items[0] {
                Value::Number(n) => Destination::Stream {
                    name: None,
                    id: n.as_i64(),
                },
                Value::String(s) => Destination::Stream {
                    name: Some(s.clone()),
                    id: None,
                },
                _ => return Err(ApiError::bad_request("Invalid data type for channel")),
            }
        }
        Ok(_) => return Err(ApiError::bad_request("Invalid data type for channel")),
        Err(_) => Destination::Stream {
            name: Some(to),
            id: None,
        },
    })
}

/// Zulip's `extract_private_recipients`: a JSON list of emails or of ids, or comma text.
fn direct_destination(to: Option<String>) -> ApiResult<Destination> {
    let to = to.unwrap_or_default();
    let items: Vec<Value> = match serde_json::from_str::<Value>(&to) {
        Ok(Value::Array(a)) => a,
        Ok(Value::String(s)) => s.split(',').map(|p| json!(p)).collect(),
        Ok(Value::Number(n)) => vec![Value::Number(n)],
        Ok(_) => return Err(ApiError::bad_request("Invalid data type for recipients")),
        Err(_) => to.split(',').map(|p| json!(p)).collect(),
    };
    if items.iter().all(Value::is_number) && !items.is_empty() {
        let mut ids: Vec<i64> = items.iter().filter_map(Value::as_i64).collect();
        ids.dedup();
        return Ok(Destination::DirectIds(ids));
    }
    if items.iter().all(Value::is_string) {
        let mut emails: Vec<String> = items
            .iter()
            .filter_map(Value::as_str)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        emails.dedup();
        return Ok(Destination::DirectEmails(emails));
    }
    Err(ApiError::bad_request(
        "Recipient lists may contain emails or user IDs, but not both.",
    ))
}

/// POST /api/v1/messages (also /json) — send to a channel + topic or as a direct message.
/// Incoming-webhook bots may use it.
pub async fn post_messages(
    State(app): State<App>,
    WebhookCaller(who): WebhookCaller,
    info: RequestInfo,
    mut params: Params,
) -> ApiResult<Response> {
    let kind = params.required("type")?;
    let to = params.optional("to");
    let topic = params
        .optional("topic")
        .or_else(|| params.optional("subject"));
    let content = params.required("content")?;
    let stream_id = match params.optional("stream_id") {
        Some(raw) => Some(
            raw.trim()
                .parse::<i64>()
                .map_err(|_| ApiError::bad_request("Invalid stream_id"))?,
        ),
        None => None,
    };
    let read_by_sender = params.json_bool("read_by_sender")?;
    let local_id = params.optional("local_id");
    let queue_id = params.optional("queue_id");
    let destination = match kind.as_str() {
        "stream" | "channel" => stream_destination(to, stream_id)?,
        "private" | "direct" => direct_destination(to)?,
        _ => return Err(ApiError::bad_request("Invalid message type")),
    };
    let client = info.client;
    let id = app
        .send_message(
            &who,
            Outgoing {
                to: destination,
                topic,
                content,
                read_by_sender: read_by_sender.unwrap_or(client == "website"),
                client,
                local_id,
                sender_queue_id: queue_id,
            },
        )
        .await?;
    Ok(params.success(json!({ "id": id })))
}

fn non_negative(params: &mut Params, name: &str) -> ApiResult<i64> {
    let raw = params.required(name)?;
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| ApiError::bad_request(format!("Invalid {name}")))
}

/// `anchor`: `newest`, `oldest`, `first_unread` or a message id.
fn anchor_param(params: &mut Params, default_first_unread: bool) -> ApiResult<Anchor> {
    Ok(match params.optional("anchor") {
        Some(a) => match a.trim().trim_matches('"') {
            "newest" => Anchor::Newest,
            "oldest" => Anchor::Oldest,
            "first_unread" => Anchor::FirstUnread,
            n => Anchor::Id(
                n.parse::<i64>()
                    .map_err(|_| ApiError::bad_request("Invalid anchor"))?,
            ),
        },
        None if default_first_unread => Anchor::FirstUnread,
        None => return Err(ApiError::missing("anchor").with_msg("Missing 'anchor' argument.")),
    })
}

/// GET /api/v1/messages (also /json) — a range of messages around an anchor, in a narrow.
pub async fn get_messages(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let use_first_unread = params
        .json_bool("use_first_unread_anchor")?
        .unwrap_or(false);
    let anchor = anchor_param(&mut params, use_first_unread)?;
    let num_before = non_negative(&mut params, "num_before")?;
    let num_after = non_negative(&mut params, "num_after")?;
    let fetch = Fetch {
        anchor,
        num_before,
        num_after,
        include_anchor: params.json_bool("include_anchor")?.unwrap_or(true),
        narrow: parse_narrow(params.json_value("narrow")?)?,
        apply_markdown: params.json_bool("apply_markdown")?.unwrap_or(true),
        client_gravatar: params.json_bool("client_gravatar")?.unwrap_or(false),
    };
    let data = app.fetch_messages(&who, fetch).await?;
    Ok(params.success_of(&data))
}

/// GET /api/v1/messages/{message_id} (also /json) — one message, with its Markdown source.
pub async fn get_message(
    State(app): State<App>,
    Caller(who): Caller,
    Path(id): Path<String>,
    mut params: Params,
) -> ApiResult<Response> {
    let id = path_id(&id)?;
    let apply_markdown = params.json_bool("apply_markdown")?.unwrap_or(true);
    let (message, raw_content) = app.get_message(&who, id, apply_markdown).await?;
    Ok(params.success(json!({ "raw_content": raw_content, "message": message })))
}

/// PATCH /api/v1/messages/{message_id} (also /json) — edit content and/or topic.
pub async fn patch_message(
    State(app): State<App>,
    Caller(who): Caller,
    Path(id): Path<String>,
    mut params: Params,
) -> ApiResult<Response> {
    let id = path_id(&id)?;
    let _ = params.optional("message_id");
    let content = params.optional("content");
    let topic = params
        .optional("topic")
        .or_else(|| params.optional("subject"));
    let propagate_mode = params
        .optional("propagate_mode")
        .unwrap_or_else(|| "change_one".into());
    let _ = params.json_bool("send_notification_to_old_thread")?;
    let _ = params.json_bool("send_notification_to_new_thread")?;
    app.edit_message(&who, id, content, topic, propagate_mode.trim_matches('"'))
        .await?;
    Ok(params.success(json!({})))
}

/// DELETE /api/v1/messages/{message_id} (also /json).
pub async fn delete_message(
    State(app): State<App>,
    Caller(who): Caller,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let id = path_id(&id)?;
    app.delete_message(&who, id).await?;
    Ok(params.success(json!({})))
}

/// POST /api/v1/messages/{message_id}/reactions (also /json) — add an emoji reaction
/// (`ADD`); DELETE on the same path removes one.
pub async fn reaction<const ADD: bool>(
    State(app): State<App>,
    Caller(who): Caller,
    Path(id): Path<String>,
    mut params: Params,
) -> ApiResult<Response> {
    let id = path_id(&id)?;
    let _ = params.optional("message_id");
    let name = params.optional("emoji_name");
    let code = params.optional("emoji_code");
    let kind = params.optional("reaction_type");
    app.react(&who, id, name, code, kind, ADD).await?;
    Ok(params.success(json!({})))
}

/// POST /api/v1/messages/flags (also /json) — add or remove `read`/`starred`.
pub async fn post_flags(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let ids: Vec<i64> = match params.json_value("messages")? {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_i64).collect(),
        Some(_) => return Err(ApiError::bad_request("messages is not a list")),
        None => return Err(ApiError::missing("messages")),
    };
    let op = params.required("op")?;
    let flag = params.required("flag")?;
    app.update_flags(&who, &ids, &flag, &op).await?;
    // Zulip answers with the ids as sent, not only those that changed.
    Ok(params.success(json!({ "messages": ids })))
}

/// POST /api/v1/messages/flags/narrow (also /json) — add or remove a flag on a range of
/// messages of a narrow (`anchor`, `num_before`, `num_after`, `include_anchor`, `narrow`,
/// `op`, `flag`); answers how many were processed and updated.
pub async fn post_flags_narrow(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let anchor = anchor_param(&mut params, false)?;
    let include_anchor = params.json_bool("include_anchor")?.unwrap_or(true);
    let num_before = non_negative(&mut params, "num_before")?;
    let num_after = non_negative(&mut params, "num_after")?;
    let narrow = match params.json_value("narrow")? {
        None => return Err(ApiError::missing("narrow")),
        Some(v) => parse_narrow(Some(v))?,
    };
    let op = params.required("op")?;
    let flag = params.required("flag")?;
    let fetch = Fetch {
        anchor,
        num_before,
        num_after,
        include_anchor,
        narrow,
        apply_markdown: true,
        client_gravatar: false,
    };
    let out = app.update_flags_for_narrow(&who, fetch, &flag, &op).await?;
    Ok(params.success(json!(out)))
}

/// POST /api/v1/messages/render (also /json) — `content` rendered as a message would be.
pub async fn post_render(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let content = params.required("content")?;
    let rendered = app.render_preview(&who, &content).await?;
    Ok(params.success(json!({ "rendered": rendered })))
}

/// GET /api/v1/messages/{message_id}/history (also /json) — the message's versions, oldest
/// first.
pub async fn get_message_history(
    State(app): State<App>,
    Caller(who): Caller,
    PathId(id): PathId,
    params: Params,
) -> ApiResult<Response> {
    let history = app.message_history(&who, id).await?;
    Ok(params.success(json!({ "message_history": history })))
}

/// POST /api/v1/mark_all_as_read (also /json) — mark every message read. Answers
/// `complete: true` (tessera finishes within the request).
pub async fn post_mark_all_as_read(
    State(app): State<App>,
    Caller(who): Caller,
    params: Params,
) -> ApiResult<Response> {
    app.mark_as_read(&who, None, None).await?;
    Ok(params.success(json!({"complete": true})))
}

/// POST /api/v1/mark_stream_as_read (also /json) — mark a channel's messages read
/// (`stream_id`).
pub async fn post_mark_stream_as_read(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let stream_id = required_int(&mut params, "stream_id")?;
    app.mark_as_read(&who, Some(stream_id), None).await?;
    Ok(params.success(json!({})))
}

/// POST /api/v1/mark_topic_as_read (also /json) — mark a topic's messages read
/// (`stream_id`, `topic_name`).
pub async fn post_mark_topic_as_read(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let stream_id = required_int(&mut params, "stream_id")?;
    let topic = params.required("topic_name")?;
    app.mark_as_read(&who, Some(stream_id), Some(&topic))
        .await?;
    Ok(params.success(json!({})))
}

/// A required JSON integer (`REQUEST_VARIABLE_MISSING` when absent).
fn required_int(params: &mut Params, name: &str) -> ApiResult<i64> {
    params
        .json_int(name)?
        .ok_or_else(|| ApiError::missing(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients() {
        assert!(
            matches!(direct_destination(Some(r#"["a@x.co", "b@x.co"]"#.into())), Ok(Destination::DirectEmails(e)) if e.len() == 2)
        );
        assert!(
            matches!(direct_destination(Some("[11, 10]".into())), Ok(Destination::DirectIds(i)) if i == vec![11, 10])
        );
        assert!(
            matches!(direct_destination(Some("a@x.co,b@x.co".into())), Ok(Destination::DirectEmails(e)) if e.len() == 2)
        );
        assert!(direct_destination(Some(r#"["a@x.co", 3]"#.into())).is_err());
        assert!(
            matches!(stream_destination(Some("general".into()), None), Ok(Destination::Stream { name: Some(n), .. }) if n == "general")
        );
        assert!(matches!(
            stream_destination(Some("17".into()), None),
            Ok(Destination::Stream { id: Some(17), .. })
        ));
        assert!(
            matches!(stream_destination(Some("\"17\"".into()), None), Ok(Destination::Stream { name: Some(n), .. }) if n == "17")
        );
    }

    #[test]
    fn narrows() {
        let n = parse_narrow(Some(
            json!([["stream", "general"], {"operator": "topic", "operand": "t", "negated": false}]),
        ))
        .unwrap_or_default();
        assert_eq!(n.len(), 2);
        assert_eq!(n[0].operator, "stream");
        assert!(parse_narrow(Some(json!("x"))).is_err());
    }
}
