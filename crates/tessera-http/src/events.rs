//! `register` and `events`: Zulip's event-queue API.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};
use tessera_app::{App, AppError, QueueError, RegisterRequest};

fn string_list(v: Option<Value>, name: &str) -> ApiResult<Option<Vec<String>>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .into_iter()
            .map(|x| match x {
                Value::String(s) => Ok(s),
                _ => Err(ApiError::bad_request(format!(
                    "{name} is not a list of strings"
                ))),
            })
            .collect::<ApiResult<Vec<_>>>()
            .map(Some),
        Some(_) => Err(ApiError::bad_request(format!("{name} is not a list"))),
    }
}

fn queue_error(e: QueueError) -> ApiError {
    match e {
        QueueError::BadQueue(id) => AppError::BadEventQueue(id).into(),
    }
}

/// POST /api/v1/register (also /json) — a new event queue and the initial state.
pub async fn post_register(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let event_types = string_list(params.json_value("event_types")?, "event_types")?;
    let fetch_event_types =
        string_list(params.json_value("fetch_event_types")?, "fetch_event_types")?;
    let narrow =
        tessera_app::queue_narrow(crate::params::parse_narrow(params.json_value("narrow")?)?)?;
    let capabilities = params
        .json_value("client_capabilities")?
        .unwrap_or(json!({}));
    let req = RegisterRequest {
        event_types,
        fetch_event_types,
        narrow,
        apply_markdown: params.json_bool("apply_markdown")?.unwrap_or(false),
        client_gravatar: params.json_bool("client_gravatar")?.unwrap_or(false),
        all_public_streams: params.json_bool("all_public_streams")?.unwrap_or(false),
        include_subscribers: params.json_bool("include_subscribers")?.unwrap_or(false),
        slim_presence: params.json_bool("slim_presence")?.unwrap_or(false),
        bulk_message_deletion: capabilities["bulk_message_deletion"]
            .as_bool()
            .unwrap_or(false),
        user_settings_object: capabilities["user_settings_object"]
            .as_bool()
            .unwrap_or(false),
        stream_typing_notifications: capabilities["stream_typing_notifications"]
            .as_bool()
            .unwrap_or(false),
    };
    let _ = params.json_int("queue_lifespan_secs")?;
    let state = app.register(&who, req).await?;
    Ok(params.success(state))
}

/// GET /api/v1/events (also /json) — long-poll a queue (a `heartbeat` after ~50 s).
pub async fn get_events(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let queue_id = params.required("queue_id")?;
    let last_event_id = match params.raw("last_event_id") {
        Some(raw) => raw
            .trim()
            .parse::<i64>()
            .map_err(|_| ApiError::bad_request("last_event_id is not an integer"))?,
        None => return Err(ApiError::missing("last_event_id")),
    };
    let dont_block = params.json_bool("dont_block")?.unwrap_or(false);
    let hub = app.events();
    let queue = hub
        .get(&queue_id, who.user_id.0, app.now())
        .map_err(queue_error)?;
    let clock = app.clone();
    let now = move || clock.now();
    let events = hub
        .poll(
            &queue,
            last_event_id,
            dont_block,
            app.config().event_heartbeat,
            &now,
        )
        .await
        .map_err(queue_error)?;
    Ok(params.success(json!({ "events": events })))
}

/// DELETE /api/v1/events (also /json) — delete a queue.
pub async fn delete_events(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let queue_id = params.required("queue_id")?;
    app.events()
        .remove(&queue_id, who.user_id.0)
        .map_err(queue_error)?;
    Ok(params.success(json!({})))
}
