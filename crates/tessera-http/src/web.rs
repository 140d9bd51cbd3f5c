//! tessera's web UI: server-rendered pages (askama templates in `templates/`), a stylesheet
//! and a little plain JavaScript embedded in the binary (`assets/`). Sessions are cookies whose
//! token the store keeps only as a digest; forms and `/json` calls are CSRF-checked
//! (`csrf.rs`). The page/element contract is `docs/web-ui.md`.

pub mod api_docs;
pub mod assets;
pub mod emails;
pub mod login;
pub mod password_reset;
pub mod settings;

use crate::cookies::{cookie_names, cookie_value, set_cookie};
use crate::csrf::CsrfVerdict;
use crate::request_info::{client_addr, client_ip, original_path, subdomain};
use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use std::convert::Infallible;
use tessera_app::{App, SessionCaller};
use tessera_core::Token;

/// Django's CSRF cookie lives for a year.
const CSRF_COOKIE_AGE: i64 = 365 * 24 * 3600;

/// Everything a page handler needs about the request.
pub struct Web {
    pub app: App,
    pub subdomain: String,
    /// The signed-in user, if the session cookie names a live session of this realm.
    pub caller: Option<SessionCaller>,
    /// The session cookie as sent (for logout).
    pub session_cookie: Option<String>,
    /// The CSRF token the page embeds (the cookie's, or a fresh one set with the page).
    pub csrf_token: String,
    fresh_csrf: bool,
    verdict: Option<CsrfVerdict>,
    /// Path and query of this request (for `next=`).
    pub path_and_query: String,
    /// The client's address and browser, for sessions and rate limits.
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

impl FromRequestParts<App> for Web {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let sub = subdomain(app, parts);
        let (session_name, csrf_name) = cookie_names(app);
        let session_cookie = cookie_value(&parts.headers, session_name);
        let caller = match &session_cookie {
            // A deactivated account or realm is simply signed out here.
            Some(c) => app.session_caller(&sub, c).await.ok().flatten(),
            None => None,
        };
        if let Some(c) = &caller {
            app.note_session_use(c.session_id, client_addr(parts)).await;
        }
        let existing =
            cookie_value(&parts.headers, csrf_name).filter(|t| Token::parse(t).is_some());
        let (csrf_token, fresh_csrf) = match existing {
            Some(t) => (t, false),
            None => (Token::generate().expose().to_owned(), true),
        };
        let path = original_path(parts);
        let path_and_query = match parts.uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(300).collect());
        Ok(Web {
            client_ip: client_ip(parts),
            user_agent,
            app: app.clone(),
            subdomain: sub,
            caller,
            session_cookie,
            csrf_token,
            fresh_csrf,
            verdict: parts.extensions.get::<CsrfVerdict>().cloned(),
            path_and_query,
        })
    }
}

/// Common page data the base template reads.
pub struct Chrome {
    pub csrf_token: String,
    pub user_name: Option<String>,
    pub user_email: Option<String>,
    pub development: bool,
    pub realm_name: String,
}

impl Web {
    /// The page chrome for this request.
    pub async fn chrome(&self) -> Chrome {
        let realm_name = self
            .app
            .realm_for_subdomain(&self.subdomain)
            .await
            .map(|r| r.row.name)
            .unwrap_or_else(|_| "Tessera".into());
        let (user_name, user_email) = match &self.caller {
            Some(c) => match self.app.user_row(c.principal.user_id.0).await {
                Ok(u) => (Some(u.full_name), Some(u.delivery_email)),
                Err(_) => (None, None),
            },
            None => (None, None),
        };
        Chrome {
            csrf_token: self.csrf_token.clone(),
            user_name,
            user_email,
            development: self.app.config().development,
            realm_name,
        }
    }

    /// Render a page with status 200.
    pub fn page(&self, t: &impl Template) -> Response {
        self.page_with_status(StatusCode::OK, t)
    }

    /// Render a page with a status.
    pub fn page_with_status(&self, status: StatusCode, t: &impl Template) -> Response {
        match t.render() {
            Ok(html) => {
                let mut resp = (status, Html(html)).into_response();
                self.finish(resp.headers_mut());
                resp
            }
            Err(e) => crate::error::ApiError::internal(&format!("template: {e}")).into_response(),
        }
    }

    /// A 302 to `location` (Django's `HttpResponseRedirect`).
    pub fn redirect(&self, location: &str) -> Response {
        let mut resp = StatusCode::FOUND.into_response();
        if let Ok(v) = HeaderValue::from_str(location) {
            resp.headers_mut().insert(header::LOCATION, v);
        }
        self.finish(resp.headers_mut());
        resp
    }

    /// The redirect to the login page that comes back here (for signed-out visitors).
    pub fn login_redirect(&self) -> Response {
        let next: String =
            form_urlencoded::byte_serialize(self.path_and_query.as_bytes()).collect();
        self.redirect(&format!("/login/?next={next}"))
    }

    /// The CSRF check for a form POST: `Some` is Django's 403 page.
    pub fn csrf_failure(&self) -> Option<Response> {
        CsrfVerdict::require(self.verdict.as_ref()).err().map(|reason| {
            tracing::info!(reason, "CSRF check failed on a form");
            let page = MessagePage {
                c: self.chrome_sync(),
                title: "Forbidden".into(),
                heading: "403: Forbidden".into(),
                message: format!(
                    "This form could not be accepted (CSRF verification failed: {reason}). Reload the page and try again."
                ),
                link: Some(("/login/".into(), "Back to the login page".into())),
            };
            self.page_with_status(StatusCode::FORBIDDEN, &page)
        })
    }

    /// Zulip's 500 page; the detail is logged, never shown.
    /// The page for a use-case that failed: 503 (with `Retry-After`) while the database is
    /// away, else the 500 page; the cause goes to the log either way.
    pub async fn failure(&self, e: &tessera_app::AppError) -> Response {
        // (async for the 500 page, which names the organization)
        if !matches!(
            e,
            tessera_app::AppError::Store(tessera_store::StoreError::Unavailable(_))
        ) {
            return self.internal_error(&e.detail()).await;
        }
        let page = MessagePage {
            // Not `chrome()`: it reads the organization's name, and the database is away.
            c: self.chrome_sync(),
            title: "Service unavailable".into(),
            heading: "503: Service unavailable".into(),
            message: "The server cannot reach its database just now. Nothing was changed; please try again in a few seconds.".into(),
            link: Some(("/".into(), "Go back".into())),
        };
        let mut resp = self.page_with_status(StatusCode::SERVICE_UNAVAILABLE, &page);
        resp.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("5"),
        );
        resp.extensions_mut()
            .insert(crate::error::InternalDetail(e.detail().into()));
        resp
    }

    pub async fn internal_error(&self, detail: &str) -> Response {
        let page = MessagePage {
            c: self.chrome().await,
            title: "Internal server error".into(),
            heading: "500: Internal server error".into(),
            message: "Something went wrong on the server. Please try again in a moment.".into(),
            link: Some(("/".into(), "Go back".into())),
        };
        let mut resp = self.page_with_status(StatusCode::INTERNAL_SERVER_ERROR, &page);
        resp.extensions_mut()
            .insert(crate::error::InternalDetail(detail.into()));
        resp
    }

    fn chrome_sync(&self) -> Chrome {
        Chrome {
            csrf_token: self.csrf_token.clone(),
            user_name: None,
            user_email: None,
            development: self.app.config().development,
            realm_name: String::new(),
        }
    }

    /// Headers every page gets: the CSRF cookie when new, no caching, no framing, and a
    /// content security policy that allows only this site's own scripts and styles.
    fn finish(&self, headers: &mut HeaderMap) {
        if self.fresh_csrf {
            let (_, csrf_name) = cookie_names(&self.app);
            if let Some(v) = set_cookie(&self.app, csrf_name, &self.csrf_token, CSRF_COOKIE_AGE) {
                headers.append(header::SET_COOKIE, v);
            }
        }
        security_headers(headers);
    }
}

/// Security headers for HTML responses.
pub fn security_headers(headers: &mut HeaderMap) {
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store, max-age=0"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// A page with a heading, a message and a link (errors, confirmations).
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub c: Chrome,
    pub title: String,
    pub heading: String,
    pub message: String,
    pub link: Option<(String, String)>,
}

/// Only local paths are followed after login (Django's `url_has_allowed_host_and_scheme`
/// with no allowed hosts): no scheme, no host, no `//` or `/\` tricks, no control characters.
pub fn safe_next(next: Option<&str>) -> Option<String> {
    let next = next?.trim();
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\');
    ok.then(|| next.to_owned())
}

/// Where a signed-in user lands by default.
pub const HOME: &str = "/settings/account-and-privacy";

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_is_local_only() {
        assert_eq!(
            safe_next(Some("/settings/your-bots")).as_deref(),
            Some("/settings/your-bots")
        );
        assert_eq!(safe_next(Some("/a?b=c#d")).as_deref(), Some("/a?b=c#d"));
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "\\\\evil.example",
            "javascript:alert(1)",
            "evil.example",
            "/\tx",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), None, "{bad:?}");
        }
        assert_eq!(safe_next(None), None);
    }
}
