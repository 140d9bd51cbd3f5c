//! `/users/me/status` and `/users/{user_id}/status`.

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::params::{Params, PathId};
use axum::extract::State;
use axum::response::Response;
use serde_json::json;
use tessera_app::{App, StatusRequest};

/// POST /api/v1/users/me/status (also /json) — set the caller's status text, emoji and
/// `away`; parameters not sent stay as they are.
pub async fn post_status(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let req = StatusRequest {
        away: params.json_bool("away")?,
        status_text: params.optional("status_text"),
        emoji_name: params.optional("emoji_name"),
        emoji_code: params.optional("emoji_code"),
        reaction_type: params.optional("reaction_type"),
    };
    app.update_status(&who, req).await?;
    Ok(params.success(json!({})))
}

/// GET /api/v1/users/{user_id}/status (also /json) — a user's status (`{}` if never set).
pub async fn get_status(
    State(app): State<App>,
    Caller(who): Caller,
    PathId(user_id): PathId,
    params: Params,
) -> ApiResult<Response> {
    let status = app.user_status(&who, user_id).await?;
    Ok(params.success(json!({ "status": status })))
}
