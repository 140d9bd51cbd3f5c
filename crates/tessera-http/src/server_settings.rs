//! `GET /api/v1/server_settings`: what apps read before logging in. Unauthenticated; Basic
//! credentials sent to it are ignored, as Zulip ignores them (the Python client sends them).

use crate::error::ApiResult;
use crate::params::Params;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use tessera_app::App;
pub use tessera_app::{ZULIP_FEATURE_LEVEL, ZULIP_VERSION};

/// GET /api/v1/server_settings — realm by Host; unknown subdomain → 400 "Invalid subdomain".
pub async fn get_server_settings(
    State(app): State<App>,
    headers: HeaderMap,
    params: Params,
) -> ApiResult<Response> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    Ok(params.success(app.server_settings(host, ua).await?))
}
