//! `streams`, `streams/{stream_id}`, `users/me/{stream_id}/topics`, `users/me/subscriptions`,
//! `get_stream_id`.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::params::{Params, PathId};
use crate::users::path_id;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Map, Value, json};
use tessera_app::{App, StreamPatch, SubscribeRequest};

/// GET /api/v1/streams (also /json) — channels the caller can see.
pub async fn get_streams(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let include_public = params.json_bool("include_public")?.unwrap_or(true);
    let include_subscribed = params.json_bool("include_subscribed")?.unwrap_or(true);
    let all = params
        .json_bool("include_all")?
        .or(params.json_bool("include_all_active")?)
        .unwrap_or(false);
    let _ = params.json_bool("include_default")?;
    let _ = params.json_bool("exclude_archived")?;
    let _ = params.json_bool("include_web_public")?;
    let streams = app
        .streams_for(&who, include_public, include_subscribed, all)
        .await?;
    let mut list: Vec<Value> = Vec::with_capacity(streams.len());
    for s in &streams {
        list.push(app.stream_dict(s).await?);
    }
    Ok(params.success(json!({ "streams": list })))
}

/// GET /api/v1/streams/{stream_id} (also /json) — one channel the caller can see
/// (administrators: any channel of the organization).
pub async fn get_stream(
    State(app): State<App>,
    Caller(who): Caller,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let stream = app.channel_view(&who, path_id(&id)?).await?;
    Ok(params.success(json!({ "stream": stream })))
}

/// PATCH /api/v1/streams/{stream_id} (also /json) — administrators change a channel: its
/// name, description, privacy, history, default status, posting policy, retention and the
/// group that may remove subscribers.
pub async fn patch_stream(
    State(app): State<App>,
    Caller(who): Caller,
    PathId(id): PathId,
    mut params: Params,
) -> ApiResult<Response> {
    let patch = StreamPatch {
        description: params.optional("description"),
        new_name: params.optional("new_name"),
        is_private: params.json_bool("is_private")?,
        is_announcement_only: params.json_bool("is_announcement_only")?,
        is_web_public: params.json_bool("is_web_public")?,
        history_public_to_subscribers: params.json_bool("history_public_to_subscribers")?,
        is_default_stream: params.json_bool("is_default_stream")?,
        stream_post_policy: params.json_int("stream_post_policy")?,
        message_retention_days: params.json_value("message_retention_days")?,
        can_remove_subscribers_group: params.json_int("can_remove_subscribers_group")?,
    };
    app.update_stream(&who, id, patch).await?;
    Ok(params.success(json!({})))
}

/// DELETE /api/v1/streams/{stream_id} (also /json) — administrators archive a channel.
pub async fn delete_stream(
    State(app): State<App>,
    Caller(who): Caller,
    PathId(id): PathId,
    params: Params,
) -> ApiResult<Response> {
    app.archive_stream(&who, id).await?;
    Ok(params.success(json!({})))
}

/// GET /api/v1/streams/{stream_id}/members (also /json) — the channel's subscribers.
pub async fn get_stream_members(
    State(app): State<App>,
    Caller(who): Caller,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let subscribers = app.channel_subscribers(&who, path_id(&id)?).await?;
    Ok(params.success(json!({ "subscribers": subscribers })))
}

/// GET /api/v1/users/me/{stream_id}/topics (also /json) — the channel's topics, newest
/// first, each with the id of its newest message.
pub async fn get_stream_topics(
    State(app): State<App>,
    Caller(who): Caller,
    Path(id): Path<String>,
    mut params: Params,
) -> ApiResult<Response> {
    // Read, as Zulip reads it (tessera has no empty-topic renaming to opt out of).
    let _ = params.json_bool("allow_empty_topic_name")?;
    let topics: Vec<Value> = app
        .channel_topics(&who, path_id(&id)?)
        .await?
        .into_iter()
        .map(|(name, max_id)| json!({"name": name, "max_id": max_id}))
        .collect();
    Ok(params.success(json!({ "topics": topics })))
}

/// GET /api/v1/get_stream_id?stream=NAME (also /json).
pub async fn get_stream_id(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let name = params.required("stream")?;
    let stream_id = app.stream_id_by_name(&who, &name).await?;
    Ok(params.success(json!({ "stream_id": stream_id })))
}

/// GET /api/v1/users/me/subscriptions (also /json).
pub async fn get_subscriptions(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let include_subscribers = params.json_bool("include_subscribers")?.unwrap_or(false);
    let list = app.subscriptions_view(&who, include_subscribers).await?;
    Ok(params.success(json!({ "subscriptions": list })))
}

/// Principals as Zulip takes them: a JSON list of emails or of user ids.
async fn principals(app: &App, realm_id: i64, raw: Option<Value>) -> ApiResult<Option<Vec<i64>>> {
    let Some(raw) = raw else { return Ok(None) };
    let Value::Array(items) = raw else {
        return Err(ApiError::bad_request("principals is not a list"));
    };
    let mut ids = Vec::new();
    for item in items {
        match item {
            Value::Number(n) => ids.push(
                n.as_i64()
                    .ok_or_else(|| ApiError::bad_request("No such user"))?,
            ),
            Value::String(email) => {
                let id = app
                    .user_id_by_email(realm_id, &email)
                    .await?
                    .ok_or_else(|| ApiError::bad_request("No such user"))?;
                ids.push(id);
            }
            _ => {
                return Err(ApiError::bad_request(
                    "principals is not a list of strings or integers",
                ));
            }
        }
    }
    Ok(Some(ids))
}

/// POST /api/v1/users/me/subscriptions (also /json) — subscribe (creating missing channels).
pub async fn post_subscriptions(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let subs = match params.json_value("subscriptions")? {
        Some(Value::Array(a)) => a,
        Some(_) => return Err(ApiError::bad_request("subscriptions is not a list")),
        None => return Err(ApiError::missing("subscriptions")),
    };
    let mut names = Vec::new();
    for s in subs {
        match s {
            Value::Object(m) => {
                let name = m
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| ApiError::bad_request("subscriptions[0] is missing name"))?;
                let description = m.get("description").and_then(Value::as_str).unwrap_or("");
                names.push((name.to_owned(), description.replace('\n', " ")));
            }
            Value::String(name) => names.push((name, String::new())),
            _ => {
                return Err(ApiError::bad_request(
                    "subscriptions is not a list of objects",
                ));
            }
        }
    }
    let principals = principals(&app, who.realm_id, params.json_value("principals")?).await?;
    let req = SubscribeRequest {
        names,
        principals,
        invite_only: params.json_bool("invite_only")?.unwrap_or(false),
        authorization_errors_fatal: params
            .json_bool("authorization_errors_fatal")?
            .unwrap_or(true),
    };
    let _ = params.json_bool("announce")?;
    let fatal = req.authorization_errors_fatal;
    let result = app.subscribe(&who, req).await?;
    let as_map = |list: &[(i64, Vec<String>)]| {
        let mut m = Map::new();
        for (id, names) in list {
            m.insert(id.to_string(), json!(names));
        }
        Value::Object(m)
    };
    let mut data = json!({
        "subscribed": as_map(&result.subscribed),
        "already_subscribed": as_map(&result.already_subscribed),
    });
    if !fatal && let Some(m) = data.as_object_mut() {
        m.insert("unauthorized".into(), json!(result.unauthorized));
    }
    Ok(params.success(data))
}

/// DELETE /api/v1/users/me/subscriptions (also /json) — unsubscribe.
pub async fn delete_subscriptions(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let names: Vec<String> = match params.json_value("subscriptions")? {
        Some(Value::Array(a)) => a
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                Value::Object(m) => m.get("name").and_then(Value::as_str).map(str::to_owned),
                _ => None,
            })
            .collect(),
        Some(_) => return Err(ApiError::bad_request("subscriptions is not a list")),
        None => return Err(ApiError::missing("subscriptions")),
    };
    let principals = principals(&app, who.realm_id, params.json_value("principals")?).await?;
    let (removed, not_removed) = app.unsubscribe(&who, &names, principals).await?;
    Ok(params.success(json!({ "removed": removed, "not_removed": not_removed })))
}
