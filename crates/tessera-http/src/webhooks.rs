//! `external/json`: Zulip's JSON webhook integration for incoming-webhook bots, with Zulip's
//! webhook authentication (`?api_key=`, or HTTP Basic).

use crate::auth::basic_principal;
use crate::error::{ApiError, ApiResult};
use crate::params::success_with;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde_json::json;
use std::collections::HashMap;
use tessera_app::App;

/// POST /api/v1/external/json — post the request body, a JSON object, as a code block to
/// `stream` / `topic` (default topic "JSON"; no stream: a direct message to the bot's owner).
pub async fn post_external_json(
    State(app): State<App>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    deadline: Option<axum::Extension<crate::params::BodyDeadline>>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    body: axum::body::Body,
) -> ApiResult<Response> {
    let ip = peer.map(|p| p.0.0.ip());
    let body: Bytes =
        crate::params::read_body(deadline.map(|d| d.0), body, crate::params::MAX_BODY_BYTES)
            .await?;
    let sub = {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        app.subdomain_for_host(host)
    };
    let who = match (query.get("api_key"), headers.get(header::AUTHORIZATION)) {
        (Some(key), _) => app
            .authenticate_api_key(&sub, None, key, true, ip)
            .await
            .map_err(ApiError::from)?,
        (None, Some(value)) => basic_principal(&app, &sub, value.as_bytes(), true, ip).await?,
        (None, None) => return Err(ApiError::missing("api_key")),
    };
    who.grant.require(tessera_core::KeyScope::SEND)?;
    if let Some(key_id) = who.grant.key_id {
        app.note_key_use(key_id, "ZulipJSONWebhook", ip).await;
    }
    if app.hit_api_rate_limit(who.user_id.0).is_err() {
        return Err(tessera_app::AppError::RateLimited { retry_after: 60.0 }.into());
    }
    app.external_json(
        &who,
        query.get("stream").cloned(),
        query.get("topic").cloned(),
        &body,
    )
    .await?;
    let ignored: Vec<String> = {
        let mut k: Vec<String> = query
            .keys()
            .filter(|k| !matches!(k.as_str(), "api_key" | "stream" | "topic" | "client"))
            .cloned()
            .collect();
        k.sort();
        k
    };
    Ok(success_with(json!({}), &ignored))
}
