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
    let me = app.own_profile(&who).await?;
    Ok(params.success_with_object(&me.user, &[("max_message_id", json!(me.max_message_id))]))
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

/// GET /api/v1/users (also /json) — everyone in the organization.
pub async fn get_users(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let _ = params.json_bool("client_gravatar")?;
    let _ = params.json_bool("include_custom_profile_fields")?;
    let members = app.list_users(&who).await?;
    Ok(params.success(json!({ "members": members })))
}

/// GET /api/v1/users/{user_id_or_email} (also /json) — one user, by id or by email.
pub async fn get_user(
    State(app): State<App>,
    Caller(who): Caller,
    Path(key): Path<String>,
    mut params: Params,
) -> ApiResult<Response> {
    let _ = params.json_bool("client_gravatar")?;
    let _ = params.json_bool("include_custom_profile_fields")?;
    let user = match key.parse::<i64>() {
        Ok(id) => app.get_user(&who, Some(id), None).await?,
        Err(_) => app.get_user(&who, None, Some(&key)).await?,
    };
    Ok(params.success(json!({ "user": user })))
}

/// POST /api/v1/users/me/presence (also /json) — report active/idle; the realm's presence.
pub async fn post_presence(
    State(app): State<App>,
    Caller(who): Caller,
    info: crate::request_info::RequestInfo,
    mut params: Params,
) -> ApiResult<Response> {
    let status = params.required("status")?;
    let ping_only = params.json_bool("ping_only")?.unwrap_or(false);
    let _ = params.json_bool("new_user_input")?;
    let slim = params.json_bool("slim_presence")?.unwrap_or(false);
    let data = app
        .update_presence(&who, &status, &info.client, ping_only, slim)
        .await?;
    Ok(params.success(data))
}

/// GET /api/v1/users/{user_id}/presence (also /json) — one person's presence, by id or email.
pub async fn get_user_presence(
    State(app): State<App>,
    Caller(who): Caller,
    axum::extract::Path(id_or_email): axum::extract::Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let presence = app.user_presence(&who, &id_or_email).await?;
    Ok(params.success(json!({ "presence": presence })))
}

/// GET /api/v1/realm/presence (also /json) — the organization's presences, keyed by email,
/// with the server's time.
pub async fn get_realm_presence(
    State(app): State<App>,
    Caller(who): Caller,
    params: Params,
) -> ApiResult<Response> {
    let presences = app.presences(who.realm_id, false).await?;
    let now = app.now() as f64 / 1_000_000.0;
    Ok(params.success(json!({ "presences": presences, "server_timestamp": now })))
}
