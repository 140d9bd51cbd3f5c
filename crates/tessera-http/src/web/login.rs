//! `/login/`, `/accounts/login/` and `/accounts/logout/`: Zulip's password login form
//! (`OurAuthenticationForm`) and logout (`logout_view`, POST only).

use super::{Chrome, HOME, Web, safe_next};
use crate::cookies::{cookie_names, set_cookie};
use crate::params::Params;
use askama::Template;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use tessera_app::{AppError, SESSION_LIFETIME_SECS, SessionOrigin};
use tessera_core::Token;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    c: Chrome,
    next: String,
    email: String,
    error: Option<String>,
    mobile_flow_otp: String,
    desktop_flow_otp: String,
}

#[derive(Template)]
#[template(path = "desktop_redirect.html")]
struct DesktopRedirectPage {
    c: Chrome,
    desktop_data: String,
    realm_url: String,
}

/// The app hand-off parameters: (mobile, desktop), validated as Zulip's
/// `validate_otp_params` does.
fn otp_params(
    params: &mut Params,
) -> Result<(Option<String>, Option<String>), crate::error::ApiError> {
    let mobile = params.optional("mobile_flow_otp").filter(|s| !s.is_empty());
    let desktop = params
        .optional("desktop_flow_otp")
        .filter(|s| !s.is_empty());
    let invalid = crate::error::ApiError::bad_request;
    if mobile.is_some() && desktop.is_some() {
        return Err(invalid(
            "Can't use both mobile_flow_otp and desktop_flow_otp together.",
        ));
    }
    for otp in mobile.iter().chain(desktop.iter()) {
        if !tessera_core::mobile_auth::is_valid_otp(otp) {
            return Err(invalid("Invalid OTP"));
        }
    }
    Ok((mobile, desktop))
}

/// The generic wrong-credentials message (Django's `invalid_login` with Zulip's email field);
/// also used for unknown and other-organization accounts so nothing is revealed.
pub const INVALID_LOGIN: &str =
    "Please enter a correct email and password. Note that both fields may be case-sensitive.";

async fn login_page(
    web: &Web,
    next: String,
    email: String,
    error: Option<String>,
    otps: &(Option<String>, Option<String>),
) -> Response {
    let page = LoginPage {
        c: web.chrome().await,
        next,
        email,
        error,
        mobile_flow_otp: otps.0.clone().unwrap_or_default(),
        desktop_flow_otp: otps.1.clone().unwrap_or_default(),
    };
    web.page(&page)
}

/// GET /login/ (also GET /accounts/login/) — the login form; signed-in users go on to `next`.
pub async fn get_login(web: Web, mut params: Params) -> Response {
    let next = safe_next(params.optional("next").as_deref());
    let otps = match otp_params(&mut params) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let handoff = otps.0.is_some() || otps.1.is_some();
    if web.caller.is_some() && !handoff {
        return web.redirect(next.as_deref().unwrap_or(HOME));
    }
    login_page(&web, next.unwrap_or_default(), String::new(), None, &otps).await
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
    let otps = match otp_params(&mut params) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let origin = SessionOrigin {
        ip: web.client_ip.clone(),
        user_agent: web.user_agent.clone(),
    };
    if otps.0.is_some() || otps.1.is_some() {
        return app_handoff(&web, &username, &password, &origin, next, &otps).await;
    }
    let result = web
        .app
        .login(&web.subdomain, username.trim(), &password, &origin)
        .await;
    let session = match result {
        Ok(s) => s,
        Err(e) => {
            let msg = match login_error(&web, e, &username).await {
                Ok(msg) => msg,
                Err(resp) => return resp,
            };
            return login_page(&web, next.unwrap_or_default(), username, Some(msg), &otps).await;
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

/// The login form's message for a refused login (or the 500 page).
async fn login_error(web: &Web, e: AppError, username: &str) -> Result<String, Response> {
    Ok(match e {
        AppError::UserDeactivated => format!(
            "Your account {username} has been deactivated. Please contact your organization administrator to reactivate it."
        ),
        AppError::RealmDeactivated => "This organization has been deactivated.".into(),
        AppError::RateLimited { retry_after } => format!(
            "You're making too many attempts to sign in. Try again in {} seconds or contact your organization administrator for help.",
            retry_after.ceil() as i64
        ),
        AppError::Config(detail) => return Err(web.internal_error(&detail).await),
        AppError::Store(_) | AppError::Failed { .. } | AppError::Invariant(_) => {
            return Err(web.failure(&e).await);
        }
        _ => INVALID_LOGIN.into(),
    })
}

/// A password login that hands a credential to a Zulip app instead of opening a session:
/// the mobile flow's bare 302 to `zulip://login?…`, or the desktop flow's page.
async fn app_handoff(
    web: &Web,
    username: &str,
    password: &str,
    origin: &SessionOrigin,
    next: Option<String>,
    otps: &(Option<String>, Option<String>),
) -> Response {
    let user = match web
        .app
        .password_login(
            &web.subdomain,
            username.trim(),
            password,
            origin.ip.as_deref(),
        )
        .await
    {
        Ok(u) if !u.is_bot => u,
        Ok(_) => {
            return login_page(
                web,
                next.unwrap_or_default(),
                username.to_owned(),
                Some(INVALID_LOGIN.into()),
                otps,
            )
            .await;
        }
        Err(e) => {
            let msg = match login_error(web, e, username).await {
                Ok(msg) => msg,
                Err(resp) => return resp,
            };
            return login_page(
                web,
                next.unwrap_or_default(),
                username.to_owned(),
                Some(msg),
                otps,
            )
            .await;
        }
    };
    if let Some(otp) = &otps.0 {
        return match web
            .app
            .mobile_flow_redirect(
                &user,
                otp,
                origin.ip.as_deref(),
                &web.user_agent
                    .as_deref()
                    .filter(|ua| !ua.trim().is_empty())
                    .map(tessera_core::user_agent::describe)
                    .unwrap_or_default(),
            )
            .await
        {
            // Zulip's `HttpResponse(status=302)` with only a Location.
            Ok(url) => match axum::http::HeaderValue::from_str(&url) {
                Ok(v) => {
                    let mut r = axum::http::StatusCode::FOUND.into_response();
                    r.headers_mut().insert(header::LOCATION, v);
                    r
                }
                Err(_) => web.internal_error("bad redirect URL").await,
            },
            Err(e) => web.failure(&e).await,
        };
    }
    let otp = otps.1.clone().unwrap_or_default();
    match web.app.desktop_flow_data(&user, &otp).await {
        Ok(desktop_data) => {
            let page = DesktopRedirectPage {
                c: web.chrome().await,
                desktop_data,
                realm_url: web.app.realm_url(&web.subdomain),
            };
            web.page(&page)
        }
        Err(e) => web.failure(&e).await,
    }
}

/// GET /accounts/login/subdomain/{token} — the desktop app spends its 15-second token for a
/// web session (Zulip's `log_into_subdomain`).
pub async fn get_login_subdomain(
    web: Web,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Response {
    let origin = SessionOrigin {
        ip: web.client_ip.clone(),
        user_agent: web.user_agent.clone(),
    };
    match web
        .app
        .consume_desktop_token(&web.subdomain, &token, &origin)
        .await
    {
        Ok(session) => {
            let (session_name, _) = cookie_names(&web.app);
            let mut resp = web.redirect(HOME);
            if let Some(v) = set_cookie(
                &web.app,
                session_name,
                session.token.expose(),
                session.max_age_secs,
            ) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            resp
        }
        Err(AppError::Config(d)) => web.internal_error(&d).await,
        Err(e @ (AppError::Store(_) | AppError::Failed { .. } | AppError::Invariant(_))) => {
            web.failure(&e).await
        }
        Err(e) => {
            let page = super::MessagePage {
                c: web.chrome().await,
                title: "Invalid login".into(),
                heading: "400: Invalid login".into(),
                message: e.to_string(),
                link: Some(("/login/".into(), "Log in".into())),
            };
            web.page_with_status(axum::http::StatusCode::BAD_REQUEST, &page)
        }
    }
}
