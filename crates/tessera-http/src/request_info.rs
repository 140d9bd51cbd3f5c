//! Facts about a request that several handlers need: the subdomain its `Host` names, the
//! client's address, Zulip's client name, the path as sent, in one `RequestInfo` extractor
//! (and as functions for the extractors built on them).

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::header;
use axum::http::request::Parts;
use std::convert::Infallible;
use tessera_app::App;

/// The request's subdomain, client address and Zulip client name (from the path as sent).
#[derive(Debug, Clone)]
pub struct RequestInfo {
    pub subdomain: String,
    pub ip: Option<String>,
    pub client: String,
    pub user_agent: String,
}

impl RequestInfo {
    /// How an app logging in is named in Settings → Devices: its program and system
    /// ("ZulipMobile on Android"), from the User-Agent.
    pub fn app_name(&self) -> String {
        if self.user_agent.trim().is_empty() {
            return "Unknown app".into();
        }
        tessera_core::user_agent::describe(&self.user_agent)
    }
}

impl FromRequestParts<App> for RequestInfo {
    type Rejection = Infallible;
    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let path = original_path(parts);
        Ok(RequestInfo {
            subdomain: subdomain(app, parts),
            ip: client_ip(parts),
            client: client_name(&parts.headers, &path).into_owned(),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned(),
        })
    }
}

/// The path as the client sent it (before `nest` stripped a prefix).
pub fn original_path(parts: &Parts) -> String {
    parts
        .extensions
        .get::<OriginalUri>()
        .map(|u| u.0.path().to_owned())
        .unwrap_or_else(|| parts.uri.path().to_owned())
}

/// The subdomain named by the request's `Host`.
pub fn subdomain(app: &App, parts: &Parts) -> String {
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    app.subdomain_for_host(host)
}

/// Zulip's client name for this request: `website` for the web app, else the first token of
/// the User-Agent (`ZulipPython/0.9.1 …` → `ZulipPython`), else `API`.
pub fn client_name<'h>(
    headers: &'h axum::http::HeaderMap,
    path: &str,
) -> std::borrow::Cow<'h, str> {
    use std::borrow::Cow;
    if path.starts_with("/json") {
        return Cow::Borrowed("website");
    }
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // A browser calling the API (the settings page regenerating a key) is the web app.
    if ua.starts_with("Mozilla/") {
        return Cow::Borrowed("website");
    }
    match ua.split(['/', ' ']).next().filter(|s| !s.is_empty()) {
        // At most 30 characters, cut on a character boundary.
        Some(name) => match name.char_indices().nth(30) {
            Some((cut, _)) => Cow::Borrowed(&name[..cut]),
            None => Cow::Borrowed(name),
        },
        None => Cow::Borrowed("API"),
    }
}

/// The client's IP address, when the server was started with connection info.
pub fn client_addr(parts: &Parts) -> Option<std::net::IpAddr> {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The same, as text.
pub fn client_ip(parts: &Parts) -> Option<String> {
    client_addr(parts).map(|ip| ip.to_string())
}
