//! `users/me`, `users/me/api_key/regenerate`, `users/{user_id}/reactivate`.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;
use tessera_app::App;

/// Parse a numeric path segment; anything else is Zulip's unmatched-URL 404.
pub fn path_id(raw: &str) -> ApiResult<i64> {
    raw.parse::<i64>().map_err(|_| crate::fallback::not_found())
}

/// GET /api/v1/users/me (also /json) — the caller's own user object.
pub async fn get_users_me(
    State(app): State<App>,
    Caller(who): Caller,
    params: Params,
) -> ApiResult<Response> {
    let user = app.user_row(who.user_id.0).await?;
    Ok(params.success(app.own_profile(&user).await?))
}

/// POST /api/v1/users/me/api_key/regenerate — rotate the caller's own key (humans and bots;
/// `/api/v1` only, so a browser session alone can never rotate a key).
pub async fn post_regenerate_own_key(
    State(app): State<App>,
    Caller(who): Caller,
    params: Params,
) -> ApiResult<Response> {
    let user = app.user_row(who.user_id.0).await?;
    let key = app.regenerate_api_key(&user, who.user_id.0).await?;
    Ok(params.success(json!({ "api_key": key.expose() })))
}

/// POST /api/v1/users/{user_id}/reactivate (also /json) — administrators, or a bot's owner.
pub async fn post_reactivate(
    State(app): State<App>,
    Caller(who): Caller,
    Path(user_id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let id = path_id(&user_id)?;
    app.reactivate_by(&who, id).await.map_err(ApiError::from)?;
    Ok(params.success(json!({})))
}
