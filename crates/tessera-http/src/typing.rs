//! `/typing`.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};
use tessera_app::{App, TypingTo};

/// POST /api/v1/typing (also /json) — tell the recipients of the message being written that
/// the caller started or stopped typing: `op` `start`/`stop`; `type` `direct` (default;
/// `private` too) with `to`, a JSON list of user ids, or `stream` (`channel` too) with
/// `stream_id` and `topic`.
pub async fn post_typing(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let kind = params.optional("type").unwrap_or_else(|| "direct".into());
    let op = params.required("op")?;
    let start = match op.as_str() {
        "start" => true,
        "stop" => false,
        _ => return Err(ApiError::bad_request("Invalid op")),
    };
    let to = match kind.as_str() {
        "stream" | "channel" => {
            let stream_id = params
                .json_int("stream_id")?
                .ok_or_else(|| ApiError::bad_request("Missing 'stream_id' argument"))?;
            let topic = params
                .optional("topic")
                .ok_or_else(|| ApiError::bad_request("Missing topic"))?;
            TypingTo::Channel { stream_id, topic }
        }
        "direct" | "private" => {
            let ids = match params.json_value("to")? {
                None => return Err(ApiError::bad_request("Missing 'to' argument")),
                Some(Value::Array(items)) => items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        v.as_i64().ok_or_else(|| {
                            ApiError::bad_request(format!("to[{i}] is not an integer"))
                        })
                    })
                    .collect::<ApiResult<Vec<i64>>>()?,
                Some(_) => return Err(ApiError::bad_request("to is not a list")),
            };
            TypingTo::Direct(ids)
        }
        _ => return Err(ApiError::bad_request("Invalid type")),
    };
    app.send_typing(&who, start, to).await?;
    Ok(params.success(json!({})))
}
