//! Getting an existing key with a password: `POST /api/v1/fetch_api_key` (apps),
//! `POST /api/v1/dev_fetch_api_key` (development only) and `POST /json/fetch_api_key` (the
//! web UI's "Manage your API key").

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::params::Params;
use crate::request_info::RequestInfo;
use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};
use tessera_app::{App, FetchedKey};

/// POST /api/v1/fetch_api_key — `username`, `password` → `api_key`, `email`, `user_id`. The key
/// is this login's own device key (tessera's default; the organization's `api_key_per_login`
/// off: the account key, as Zulip).
pub async fn post_fetch_api_key(
    State(app): State<App>,
    origin: RequestInfo,
    mut params: Params,
) -> ApiResult<Response> {
    let username = params.required("username")?;
    let password = params.required("password")?;
    let fetched = app
        .fetch_api_key(
            &origin.subdomain,
            &username,
            &password,
            origin.ip.as_deref(),
            &origin.app_name(),
        )
        .await?;
    let user = app.user_row(fetched.user_id).await?;
    app.note_login(&user, &origin.client, origin.ip.as_deref(), "fetch_api_key")
        .await?;
    Ok(params.success(key_answer(&fetched)))
}

/// POST /api/v1/dev_fetch_api_key — development mode only: `username` → a key as
/// `fetch_api_key` gives one, no password.
pub async fn post_dev_fetch_api_key(
    State(app): State<App>,
    origin: RequestInfo,
    mut params: Params,
) -> ApiResult<Response> {
    app.require_development()?;
    let username = params.required("username")?;
    let fetched = app
        .dev_fetch_api_key(
            &origin.subdomain,
            &username,
            &origin.app_name(),
            origin.ip.as_deref(),
        )
        .await?;
    Ok(params.success(key_answer(&fetched)))
}

/// POST /json/fetch_api_key — session + `password` (default "") → `api_key`, `email`; a wrong
/// password is 400 "Password is incorrect.".
pub async fn post_json_fetch_api_key(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let password = params.optional("password").unwrap_or_default();
    let (key, email) = app.reveal_own_api_key(&who, &password).await?;
    Ok(params.success(json!({ "api_key": key.expose(), "email": email })))
}

/// The answer of both fetch endpoints: the key (shown here, once), its email and user id.
fn key_answer(fetched: &FetchedKey) -> Value {
    json!({
        "api_key": fetched.api_key.expose(),
        "email": fetched.email,
        "user_id": fetched.user_id,
    })
}
