//! `/user_topics`.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use axum::extract::State;
use axum::response::Response;
use serde_json::json;
use tessera_app::{App, ChannelRef};

/// Zulip's `MAX_TOPIC_NAME_LENGTH`, as the parameter's limit.
const MAX_TOPIC_LENGTH: usize = 60;

/// POST /api/v1/user_topics (also /json) — set the caller's `visibility_policy` (0 inherit,
/// 1 muted, 2 unmuted, 3 followed) for `topic` in `stream_id`.
pub async fn post_user_topics(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let stream_id = params
        .json_int("stream_id")?
        .ok_or_else(|| ApiError::missing("stream_id"))?;
    let topic = params.required("topic")?;
    if topic.chars().count() > MAX_TOPIC_LENGTH {
        return Err(ApiError::bad_request(format!(
            "topic is too long (limit: {MAX_TOPIC_LENGTH} characters)"
        )));
    }
    let policy = params
        .json_int("visibility_policy")?
        .ok_or_else(|| ApiError::missing("visibility_policy"))?;
    app.set_topic_visibility(&who, stream_id, &topic, policy)
        .await?;
    Ok(params.success(json!({})))
}

/// PATCH /api/v1/users/me/subscriptions/muted_topics (also /json) — Zulip's legacy muting
/// (the 0.9.1 client's `mute_topic`): `stream` (name) or `stream_id`, `topic`, `op`
/// `add`/`remove`.
pub async fn patch_muted_topics(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let stream_id = params.json_int("stream_id")?;
    let stream = params.optional("stream");
    let channel = match (stream, stream_id) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "Please choose one: 'stream' or 'stream_id'.",
            ));
        }
        (Some(name), None) => ChannelRef::Name(name),
        (None, Some(id)) => ChannelRef::Id(id),
        (None, None) => return Err(ApiError::bad_request("Please supply 'stream'.")),
    };
    let topic = params.required("topic")?;
    let mute = match params.required("op")?.as_str() {
        "add" => true,
        "remove" => false,
        _ => return Err(ApiError::bad_request("Invalid op")),
    };
    app.legacy_mute_topic(&who, channel, &topic, mute).await?;
    Ok(params.success(json!({})))
}
