//! `/user_topics`.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use axum::extract::State;
use axum::response::Response;
use serde_json::json;
use tessera_app::App;

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
