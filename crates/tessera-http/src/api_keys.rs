//! `users/me/api_keys`, `users/me/api_keys/{key_id}`, `bots/{bot_id}/api_keys`,
//! `bots/{bot_id}/api_keys/{key_id}` (tessera's own): the keys beside the account key — named
//! keys with a scope, an expiry and an allow-list, device keys (one per app login), a bot's
//! previous key. A key is returned once, by the `POST` that creates it; lists never carry
//! keys. Only a full key (or a session) may use these routes (`routes::required_scope`); a
//! session creating a key re-enters the password, as for revealing the account key.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::params::{Params, PathId};
use crate::request_info::RequestInfo;
use crate::users::path_id;
use axum::Extension;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;
use tessera_app::{App, KeyOwner, NewKey, SessionCaller};
use tessera_core::{KeyScope, Networks};

/// The `name`, `scope` (default `"full"`), `expires` (seconds since the epoch, optional) and
/// `allowed_networks` (addresses and CIDR blocks, optional) of a new key.
fn new_key(params: &mut Params) -> ApiResult<NewKey> {
    let name = params.required("name")?;
    let scope = match params.optional("scope") {
        None => KeyScope::FULL,
        Some(raw) => KeyScope::parse(&raw).map_err(|e| ApiError::bad_request(e.to_string()))?,
    };
    let expires = params.json_int("expires")?;
    let networks = match params.optional("allowed_networks") {
        None => None,
        Some(raw) => Networks::parse(&raw).map_err(|e| ApiError::bad_request(e.to_string()))?,
    };
    Ok(NewKey {
        name,
        scope,
        expires,
        networks,
    })
}

async fn create(
    app: &App,
    who: &tessera_app::Principal,
    owner: KeyOwner,
    session: Option<Extension<SessionCaller>>,
    origin: RequestInfo,
    mut params: Params,
) -> ApiResult<Response> {
    let new = new_key(&mut params)?;
    if session.is_some() {
        // The web UI: whoever holds the browser re-enters the password, as for the account key.
        let password = params.optional("password").unwrap_or_default();
        app.confirm_password(who, &password).await?;
    }
    let (view, key) = app
        .create_named_key_by(who, owner, new, origin.ip.as_deref())
        .await?;
    Ok(params.success(json!({ "api_key": key.expose(), "key": view })))
}

async fn list(
    app: &App,
    who: &tessera_app::Principal,
    owner: KeyOwner,
    params: Params,
) -> ApiResult<Response> {
    let keys = app.list_named_keys_by(who, owner).await?;
    let policy = app.key_policy(who.realm_id).await?;
    Ok(params.success(json!({
        "api_keys": keys,
        "max_lifetime_days": policy.max_lifetime_days,
    })))
}

/// GET /api/v1/users/me/api_keys (also /json) — the caller's live keys beside the account key
/// (named, device, previous), newest first, and the organization's longest key lifetime.
pub async fn get_own_keys(
    State(app): State<App>,
    Caller(who): Caller,
    params: Params,
) -> ApiResult<Response> {
    list(&app, &who, KeyOwner::Me, params).await
}

/// POST /api/v1/users/me/api_keys (also /json) — create a named key for the caller (from a
/// session: with `password`).
pub async fn post_own_key(
    State(app): State<App>,
    Caller(who): Caller,
    session: Option<Extension<SessionCaller>>,
    origin: RequestInfo,
    params: Params,
) -> ApiResult<Response> {
    create(&app, &who, KeyOwner::Me, session, origin, params).await
}

/// DELETE /api/v1/users/me/api_keys/{key_id} (also /json) — revoke one of the caller's keys
/// (a named key, or a device key: that app is signed out and its push registrations go); the
/// others keep working.
pub async fn delete_own_key(
    State(app): State<App>,
    Caller(who): Caller,
    PathId(key_id): PathId,
    params: Params,
) -> ApiResult<Response> {
    app.revoke_named_key_by(&who, KeyOwner::Me, key_id).await?;
    Ok(params.success(json!({})))
}

/// GET /api/v1/bots/{bot_id}/api_keys (also /json) — a bot's live keys beside its account key
/// (its owner or an administrator).
pub async fn get_bot_keys(
    State(app): State<App>,
    Caller(who): Caller,
    PathId(bot_id): PathId,
    params: Params,
) -> ApiResult<Response> {
    list(&app, &who, KeyOwner::Bot(bot_id), params).await
}

/// POST /api/v1/bots/{bot_id}/api_keys (also /json) — create a named key for a bot (from a
/// session: with the caller's `password`).
pub async fn post_bot_key(
    State(app): State<App>,
    Caller(who): Caller,
    PathId(bot_id): PathId,
    session: Option<Extension<SessionCaller>>,
    origin: RequestInfo,
    params: Params,
) -> ApiResult<Response> {
    create(&app, &who, KeyOwner::Bot(bot_id), session, origin, params).await
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
