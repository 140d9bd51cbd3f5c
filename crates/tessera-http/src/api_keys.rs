//! `users/me/api_keys`, `users/me/api_keys/{key_id}`, `bots/{bot_id}/api_keys`,
//! `bots/{bot_id}/api_keys/{key_id}` (tessera's own): named keys with a scope and an expiry.
//! A key is returned once, by the `POST` that creates it; lists never carry keys. Only a full
//! key (or a session) may use these routes (`routes::required_scope`).

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::params::{Params, PathId};
use crate::users::path_id;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;
use tessera_app::{App, KeyOwner, NewKey};
use tessera_core::KeyScope;

/// The `name`, `scope` (default `"full"`) and `expires` (seconds since the epoch, optional)
/// of a new key.
fn new_key(params: &mut Params) -> ApiResult<NewKey> {
    let name = params.required("name")?;
    let scope = match params.optional("scope") {
        None => KeyScope::FULL,
        Some(raw) => KeyScope::parse(&raw).map_err(|e| ApiError::bad_request(e.to_string()))?,
    };
    let expires = params.json_int("expires")?;
    Ok(NewKey {
        name,
        scope,
        expires,
    })
}

async fn create(
    app: &App,
    who: &tessera_app::Principal,
    owner: KeyOwner,
    mut params: Params,
) -> ApiResult<Response> {
    let new = new_key(&mut params)?;
    let (view, key) = app.create_named_key_by(who, owner, new).await?;
    Ok(params.success(json!({ "api_key": key.expose(), "key": view })))
}

async fn list(
    app: &App,
    who: &tessera_app::Principal,
    owner: KeyOwner,
    params: Params,
) -> ApiResult<Response> {
    let keys = app.list_named_keys_by(who, owner).await?;
    Ok(params.success(json!({ "api_keys": keys })))
}

/// GET /api/v1/users/me/api_keys (also /json) — the caller's live named keys, newest first.
pub async fn get_own_keys(
    State(app): State<App>,
    Caller(who): Caller,
    params: Params,
) -> ApiResult<Response> {
    list(&app, &who, KeyOwner::Me, params).await
}

/// POST /api/v1/users/me/api_keys (also /json) — create a named key for the caller.
pub async fn post_own_key(
    State(app): State<App>,
    Caller(who): Caller,
    params: Params,
) -> ApiResult<Response> {
    create(&app, &who, KeyOwner::Me, params).await
}

/// DELETE /api/v1/users/me/api_keys/{key_id} (also /json) — revoke one of the caller's
/// named keys; the others keep working.
pub async fn delete_own_key(
    State(app): State<App>,
    Caller(who): Caller,
    PathId(key_id): PathId,
    params: Params,
) -> ApiResult<Response> {
    app.revoke_named_key_by(&who, KeyOwner::Me, key_id).await?;
    Ok(params.success(json!({})))
}

/// GET /api/v1/bots/{bot_id}/api_keys (also /json) — a bot's live named keys (its owner or
/// an administrator).
pub async fn get_bot_keys(
    State(app): State<App>,
    Caller(who): Caller,
    PathId(bot_id): PathId,
    params: Params,
) -> ApiResult<Response> {
    list(&app, &who, KeyOwner::Bot(bot_id), params).await
}

/// POST /api/v1/bots/{bot_id}/api_keys (also /json) — create a named key for a bot.
pub async fn post_bot_key(
    State(app): State<App>,
    Caller(who): Caller,
    PathId(bot_id): PathId,
    params: Params,
) -> ApiResult<Response> {
    create(&app, &who, KeyOwner::Bot(bot_id), params).await
}

/// DELETE /api/v1/bots/{bot_id}/api_keys/{key_id} (also /json) — revoke one of a bot's
/// named keys.
pub async fn delete_bot_key(
    State(app): State<App>,
    Caller(who): Caller,
    Path((bot_id, key_id)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Response> {
    let (bot_id, key_id) = (path_id(&bot_id)?, path_id(&key_id)?);
    app.revoke_named_key_by(&who, KeyOwner::Bot(bot_id), key_id)
        .await?;
    Ok(params.success(json!({})))
}
