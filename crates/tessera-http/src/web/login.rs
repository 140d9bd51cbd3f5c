//! `/login/`, `/accounts/login/` and `/accounts/logout/`: Zulip's password login form
//! (`OurAuthenticationForm`) and logout (`logout_view`, POST only).

use super::{Chrome, HOME, Web, cookie_names, safe_next, set_cookie};
use crate::params::Params;
use askama::Template;
use axum::http::header;
use axum::response::Response;
use tessera_app::{AppError, SESSION_LIFETIME_SECS, SessionOrigin};
use tessera_core::Token;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    c: Chrome,
    next: String,
    email: String,
    error: Option<String>,
}

/// The generic wrong-credentials message (Django's `invalid_login` with Zulip's email field);
/// also used for unknown and other-organization accounts so nothing is revealed.
pub const INVALID_LOGIN: &str =
    "Please enter a correct email and password. Note that both fields may be case-sensitive.";

async fn login_page(web: &Web, next: String, email: String, error: Option<String>) -> Response {
    let page = LoginPage {
        c: web.chrome().await,
        next,
        email,
        error,
    };
    web.page(&page)
}

/// GET /login/ (also GET /accounts/login/) — the login form; signed-in users go on to `next`.
pub async fn get_login(web: Web, mut params: Params) -> Response {
    let next = safe_next(params.optional("next").as_deref());
    if web.caller.is_some() {
        return web.redirect(next.as_deref().unwrap_or(HOME));
    }
    login_page(&web, next.unwrap_or_default(), String::new(), None).await
}

/// POST /accounts/login/ (also POST /login/) — check the password (rate limited per username
/// and per client IP exactly as `fetch_api_key`), open a session, rotate the CSRF token, and
/// go to `next` (local paths only).
pub async fn post_login(web: Web, mut params: Params) -> Response {
    if let Some(r) = web.csrf_failure() {
        return r;
    }
    let username = params.optional("username").unwrap_or_default();
    let password = params.optional("password").unwrap_or_default();
    let next = safe_next(params.optional("next").as_deref());
    let origin = SessionOrigin {
        ip: web.client_ip.clone(),
        user_agent: web.user_agent.clone(),
    };
    let result = web
        .app
        .login(&web.subdomain, username.trim(), &password, &origin)
        .await;
    let session = match result {
        Ok(s) => s,
        Err(e) => {
            let msg = match e {
                AppError::UserDeactivated => format!(
                    "Your account {username} has been deactivated. Please contact your organization administrator to reactivate it."
                ),
                AppError::RealmDeactivated => "This organization has been deactivated.".into(),
                AppError::RateLimited { retry_after } => format!(
                    "You're making too many attempts to sign in. Try again in {} seconds or contact your organization administrator for help.",
                    retry_after.ceil() as i64
                ),
                AppError::Internal(detail) | AppError::Config(detail) => {
                    return web.internal_error(&detail).await;
                }
                _ => INVALID_LOGIN.into(),
            };
            return login_page(&web, next.unwrap_or_default(), username, Some(msg)).await;
        }
    };
    let (session_name, csrf_name) = cookie_names(&web.app);
    let mut resp = web.redirect(next.as_deref().unwrap_or(HOME));
    let h = resp.headers_mut();
    // The redirect may already carry a fresh CSRF cookie; login rotates it regardless.
    h.remove(header::SET_COOKIE);
    let cookies = [
        set_cookie(
            &web.app,
            session_name,
            session.token.expose(),
            SESSION_LIFETIME_SECS,
        ),
        set_cookie(
            &web.app,
            csrf_name,
            Token::generate().expose(),
            365 * 24 * 3600,
        ),
    ];
    for v in cookies.into_iter().flatten() {
        h.append(header::SET_COOKIE, v);
    }
    resp
}

/// POST /accounts/logout/ — end this session and go to the login page.
pub async fn post_logout(web: Web) -> Response {
    if let Some(r) = web.csrf_failure() {
        return r;
    }
    if let Some(cookie) = &web.session_cookie
        && let Err(e) = web.app.logout(cookie).await
    {
        tracing::warn!(error = %e, "logout could not delete the session");
    }
    let (session_name, _) = cookie_names(&web.app);
    let mut resp = web.redirect("/login/");
    if let Some(v) = set_cookie(&web.app, session_name, "", 0) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}
