//! CSRF protection for cookie-authenticated requests, Django's scheme as Zulip uses it: a
//! random token in the `csrftoken` cookie (HttpOnly; pages carry it in the DOM) must come back
//! in the `X-CSRFToken` header or the `csrfmiddlewaretoken` form field, and an `Origin` header,
//! when present, must be this site. Safe methods are never checked.
//!
//! The [`annotate`] middleware only records a verdict in the request's extensions; whoever
//! authenticates the request by its session cookie enforces it (Zulip checks CSRF only for
//! session-authenticated `/json` requests, after finding the session), and the HTML form
//! handlers enforce it themselves.

use crate::cookies::{cookie_names, cookie_value};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tessera_app::App;
use tessera_core::token::secrets_equal;

/// Name of the form field carrying the token.
pub const FORM_FIELD: &str = "csrfmiddlewaretoken";
/// Name of the header carrying the token.
pub const HEADER: &str = "x-csrftoken";

/// The outcome of the CSRF check for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsrfVerdict {
    /// A safe method, or a token and origin that match.
    Passed,
    /// Django's reason, e.g. "CSRF token missing.".
    Failed(String),
}

impl CsrfVerdict {
    /// `Err(reason)` when the check failed (also when no verdict was recorded).
    pub fn require(verdict: Option<&CsrfVerdict>) -> Result<(), String> {
        match verdict {
            Some(CsrfVerdict::Passed) => Ok(()),
            Some(CsrfVerdict::Failed(reason)) => Err(reason.clone()),
            None => Err("CSRF cookie not set.".into()),
        }
    }
}

fn header_str(req: &Request, name: impl header::AsHeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Record the CSRF verdict for this request (buffering a form-encoded body to read the form
/// field when the header is absent).
pub async fn annotate(State(app): State<App>, req: Request, next: Next) -> Response {
    // `/api/…` authenticates with HTTP Basic, never with cookies: nothing to check, and the
    // body is left alone.
    if req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    match check(&app, req).await {
        Ok((verdict, mut req)) => {
            req.extensions_mut().insert(verdict);
            next.run(req).await
        }
        Err(resp) => resp,
    }
}

async fn check(app: &App, req: Request) -> Result<(CsrfVerdict, Request), Response> {
    if matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) {
        return Ok((CsrfVerdict::Passed, req));
    }
    let site = app.config().site_url.clone();
    let scheme = site.scheme().to_owned();
    if let Some(origin) = header_str(&req, header::ORIGIN) {
        let host = header_str(&req, header::HOST).unwrap_or("");
        let good = format!("{scheme}://{host}");
        if !origin.eq_ignore_ascii_case(&good) {
            let reason =
                format!("Origin checking failed - {origin} does not match any trusted origins.");
            return Ok((CsrfVerdict::Failed(reason), req));
        }
    } else if scheme == "https" {
        // Django checks the Referer of secure requests that carry no Origin.
        let host = header_str(&req, header::HOST).unwrap_or("").to_owned();
        let reason = match header_str(&req, header::REFERER).map(url::Url::parse) {
            None => Some("Referer checking failed - no Referer.".to_owned()),
            Some(Err(_)) => Some("Referer checking failed - Referer is malformed.".to_owned()),
            Some(Ok(r)) if r.scheme() != "https" => Some(
                "Referer checking failed - Referer is insecure while host is secure.".to_owned(),
            ),
            Some(Ok(r)) => {
                let referer_host = match r.port() {
                    Some(p) => format!("{}:{p}", r.host_str().unwrap_or("")),
                    None => r.host_str().unwrap_or("").to_owned(),
                };
                (!referer_host.eq_ignore_ascii_case(&host)).then(|| {
                    format!(
                        "Referer checking failed - {} does not match any trusted origins.",
                        r.as_str()
                    )
                })
            }
        };
        if let Some(reason) = reason {
            return Ok((CsrfVerdict::Failed(reason), req));
        }
    }
    let (_, csrf_cookie) = cookie_names(app);
    let Some(cookie) = cookie_value(req.headers(), csrf_cookie) else {
        return Ok((CsrfVerdict::Failed("CSRF cookie not set.".into()), req));
    };
    let (token, source, req) = match header_str(&req, HEADER).map(str::to_owned) {
        Some(t) => (Some(t), "the 'X-Csrftoken' HTTP header", req),
        None => {
            let (token, req) = form_token(req).await?;
            (token, "POST", req)
        }
    };
    let Some(token) = token else {
        return Ok((CsrfVerdict::Failed("CSRF token missing.".into()), req));
    };
    if token.len() != tessera_core::token::TOKEN_LENGTH {
        return Ok((
            CsrfVerdict::Failed(format!("CSRF token from {source} has incorrect length.")),
            req,
        ));
    }
    if !secrets_equal(token.as_bytes(), cookie.as_bytes()) {
        return Ok((
            CsrfVerdict::Failed(format!("CSRF token from {source} incorrect.")),
            req,
        ));
    }
    Ok((CsrfVerdict::Passed, req))
}

/// The `csrfmiddlewaretoken` field of a form-encoded body; the body is put back untouched.
async fn form_token(req: Request) -> Result<(Option<String>, Request), Response> {
    let is_form = header_str(&req, header::CONTENT_TYPE).is_some_and(|ct| {
        ct.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    if !is_form {
        return Ok((None, req));
    }
    let (parts, body) = req.into_parts();
    let deadline = parts
        .extensions
        .get::<crate::params::BodyDeadline>()
        .copied();
    let bytes = crate::params::read_body(deadline, body, crate::params::MAX_BODY_BYTES)
        .await
        .map_err(IntoResponse::into_response)?;
    let token = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == FORM_FIELD)
        .map(|(_, v)| v.into_owned());
    Ok((token, Request::from_parts(parts, Body::from(bytes))))
}
