//! Who is calling: HTTP Basic on `/api/…` (Zulip's `authenticated_rest_api_view`), the web
//! session on `/json/…` (`authenticated_json_view`, arrives with the web UI).

use crate::csrf::CsrfVerdict;
use crate::error::{ApiError, BASIC_REALM, NOT_LOGGED_IN, SESSION_REALM};
use crate::request_info::{client_addr, client_name, original_path, subdomain};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tessera_app::{App, AppError, Principal};
use tessera_core::basic_auth::{BasicAuthError, parse_basic};

/// An authenticated caller of a normal endpoint (incoming-webhook bots refused).
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

/// Zulip's handling of a request with no credentials at all: browsers are sent to the login
/// page, API clients get 401 with the challenge for their path.
fn missing_authentication(parts: &Parts, path: &str) -> Response {
    let accept = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.contains("text/html") {
        let next: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
        // Django's HttpResponseRedirect: a plain 302.
        let mut r = StatusCode::FOUND.into_response();
        if let Ok(v) = HeaderValue::from_str(&format!("/login/?next={next}")) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        return r;
    }
    let challenge = if path.starts_with("/api") {
        BASIC_REALM
    } else {
        SESSION_REALM
    };
    ApiError::unauthorized(NOT_LOGGED_IN, challenge).into_response()
}

/// Authenticate a Basic header on an `/api` path. Every credential failure becomes 401
/// `UNAUTHORIZED` with `WWW-Authenticate: Basic realm="zulip"` and Zulip's message; a
/// non-Basic scheme is Zulip's 400.
pub async fn basic_principal(
    app: &App,
    subdomain: &str,
    header_value: &[u8],
    allow_incoming_webhook: bool,
    ip: Option<std::net::IpAddr>,
) -> Result<Principal, ApiError> {
    let creds = parse_basic(header_value).map_err(|e| match e {
        BasicAuthError::NotBasic => {
            ApiError::bad_request("This endpoint requires HTTP basic authentication.")
        }
        BasicAuthError::Invalid => {
            ApiError::unauthorized("Invalid authorization header for basic auth", BASIC_REALM)
        }
    })?;
    app.authenticate_api_key(
        subdomain,
        Some(&creds.username),
        &creds.api_key,
        allow_incoming_webhook,
        ip,
    )
    .await
    .map_err(|e| match e {
        AppError::Auth(f) => ApiError::unauthorized(f.to_string(), BASIC_REALM),
        other => other.into(),
    })
}

/// A caller of an endpoint that incoming-webhook bots may use too (`POST /messages`,
/// webhook integrations).
#[derive(Debug, Clone)]
pub struct WebhookCaller(pub Principal);

impl FromRequestParts<App> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        authenticate(parts, app, false).await.map(Caller)
    }
}

impl FromRequestParts<App> for WebhookCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        authenticate(parts, app, true).await.map(WebhookCaller)
    }
}

/// Where the rate-limit numbers of this request go, for the `X-RateLimit-*` headers.
#[derive(Debug, Clone, Default)]
pub struct RateLimitSlot(pub std::sync::Arc<std::sync::Mutex<Option<tessera_app::RateLimitInfo>>>);

/// Count the request against the caller's `api_by_user` limit (Zulip's
/// `RateLimitedUser`): 429 `RATE_LIMIT_HIT` when over.
fn rate_limit(parts: &Parts, app: &App, principal: &Principal) -> Result<(), ApiError> {
    let (info, limited) = match app.hit_api_rate_limit(principal.user_id.0) {
        Ok(info) => (info, false),
        Err(info) => (info, true),
    };
    if let Some(slot) = parts.extensions.get::<RateLimitSlot>() {
        *slot.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(info);
    }
    if limited {
        return Err(ApiError::from(AppError::RateLimited {
            retry_after: info.reset_after,
        }));
    }
    Ok(())
}

/// Refuse a request whose key lacks the scope its route needs (`routes::required_scope`, by
/// the matched route and method): 403 `API_KEY_SCOPE`, never a 401.
pub(crate) fn require_scope(parts: &Parts, principal: &Principal) -> Result<(), AppError> {
    let matched = parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .map_or("", |m| m.as_str());
    let need = crate::routes::required_scope(&parts.method, matched);
    principal.grant.require(need)
}

async fn authenticate(
    parts: &mut Parts,
    app: &App,
    allow_webhook: bool,
) -> Result<Principal, Response> {
    let path = original_path(parts);
    let sub = subdomain(app, parts);
    if path.starts_with("/api") {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(missing_authentication(parts, &path));
        };
        let ip = client_addr(parts);
        let principal = basic_principal(app, &sub, value.as_bytes(), allow_webhook, ip)
            .await
            .map_err(IntoResponse::into_response)?;
        rate_limit(parts, app, &principal).map_err(IntoResponse::into_response)?;
        let client = client_name(&parts.headers, &path);
        if let Some(key_id) = principal.grant.key_id {
            // A key of `api_keys`: the route's scope (one table, `routes::required_scope`),
            // then its own use record.
            require_scope(parts, &principal).map_err(|e| ApiError::from(e).into_response())?;
            app.note_key_use(key_id, &client, ip).await;
        }
        app.note_client_use(principal.user_id.0, &client, client_addr(parts))
            .await;
        return Ok(principal);
    }
    // `/json`: the web session (Zulip's `authenticated_json_view`, wrapped in
    // `csrf_protect`): no live session → unauthenticated; a session → CSRF, then the
    // account's state.
    let (session_name, _) = crate::cookies::cookie_names(app);
    let Some(cookie) = crate::cookies::cookie_value(&parts.headers, session_name) else {
        return Err(missing_authentication(parts, &path));
    };
    let session = app
        .session_caller(&sub, &cookie)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    let Some(session) = session else {
        return Err(missing_authentication(parts, &path));
    };
    if let Err(reason) = CsrfVerdict::require(parts.extensions.get::<CsrfVerdict>()) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "CSRF_FAILED",
            format!("CSRF error: {reason}"),
        )
        .with("reason", serde_json::json!(reason))
        .into_response());
    }
    if session.principal.bot_type == Some(tessera_core::BotType::IncomingWebhook) && !allow_webhook
    {
        return Err(ApiError::bad_request("Webhook bots can only access webhooks").into_response());
    }
    rate_limit(parts, app, &session.principal).map_err(IntoResponse::into_response)?;
    app.note_session_use(session.session_id, client_addr(parts))
        .await;
    parts.extensions.insert(session.clone());
    Ok(session.principal)
}
