//! Cookies: the session and CSRF cookie names (Zulip's `__Host-` names on https), reading a
//! cookie from the request, and the `Set-Cookie` tessera sends.

use axum::http::{HeaderValue, header};
use tessera_app::App;

/// (session cookie, CSRF cookie): Zulip's production names (`__Host-` prefixed, which
/// browsers accept only with `Secure`) on an https site, Django's defaults otherwise.
pub fn cookie_names(app: &App) -> (&'static str, &'static str) {
    if is_secure(app) {
        ("__Host-sessionid", "__Host-csrftoken")
    } else {
        ("sessionid", "csrftoken")
    }
}

fn is_secure(app: &App) -> bool {
    app.config().site_url.scheme() == "https"
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Path=/, Secure on https; `max_age` 0 deletes.
pub fn set_cookie(app: &App, name: &str, value: &str, max_age: i64) -> Option<HeaderValue> {
    let secure = if is_secure(app) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Lax{secure}"
    ))
    .ok()
}

/// Read a cookie from the `Cookie` header(s).
pub fn cookie_value(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
}
