//! `bot_storage`: a bot's key-value store (used by `zulip-bots`' `StateHandler`).

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use axum::extract::State;
use axum::response::Response;
use serde_json::{Map, Value, json};
use tessera_app::App;

/// `keys`: a JSON list of names (strings; anything else in it is skipped), or none.
fn keys_param(params: &mut Params) -> ApiResult<Option<Vec<String>>> {
    Ok(match params.json_value("keys")? {
        Some(Value::Array(a)) => Some(
            a.into_iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        ),
        Some(_) => return Err(ApiError::bad_request("keys is not a list")),
        None => None,
    })
}

/// GET /api/v1/bot_storage — the stored values (`keys`: a JSON list to pick some).
pub async fn get_bot_storage(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let keys = keys_param(&mut params)?;
    let mut out = Map::new();
    for (k, v) in app.bot_storage(&who, keys).await? {
        out.insert(k, json!(v));
    }
    Ok(params.success(json!({ "storage": out })))
}

/// PUT /api/v1/bot_storage — `storage`: a JSON object of string values.
pub async fn put_bot_storage(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let entries: Vec<(String, String)> = match params.json_value("storage")? {
        Some(Value::Object(m)) => m
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k, s)),
                _ => Err(ApiError::bad_request("Value type is str, expected str")),
            })
            .collect::<ApiResult<_>>()?,
        Some(_) => return Err(ApiError::bad_request("storage is not a dict")),
        None => return Err(ApiError::missing("storage")),
    };
    app.put_bot_storage(&who, &entries).await?;
    Ok(params.success(json!({})))
}

/// DELETE /api/v1/bot_storage — `keys`: a JSON list (all when absent).
pub async fn delete_bot_storage(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let keys = keys_param(&mut params)?;
    app.remove_bot_storage(&who, keys).await?;
    Ok(params.success(json!({})))
}
