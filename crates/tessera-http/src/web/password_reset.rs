//! `/accounts/password/reset/…`: Django's password-reset views with Zulip's templates and
//! `ZulipPasswordResetForm` (same answer for every address; rate limited per address and IP).

use super::{Chrome, Web};
use crate::params::Params;
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use tessera_app::AppError;

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage {
    c: Chrome,
    email: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "reset_emailed.html")]
struct ResetEmailedPage {
    c: Chrome,
    /// Mail is not sent but written to the outbox folder.
    outbox: bool,
}

#[derive(Template)]
#[template(path = "reset_confirm.html")]
struct ResetConfirmPage {
    c: Chrome,
    password_rule: String,
    valid: bool,
    email: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "reset_done.html")]
struct ResetDonePage {
    c: Chrome,
}

/// GET /accounts/password/reset/ — ask for the address.
pub async fn get_reset(web: Web) -> Response {
    let page = ResetPage {
        c: web.chrome().await,
        email: String::new(),
        error: None,
    };
    web.page(&page)
}

/// POST /accounts/password/reset/ — send the email (whatever the address) and go to the
/// "check your email" page; a rate limit hit is Zulip's 429 page.
pub async fn post_reset(web: Web, mut params: Params) -> Response {
    if let Some(r) = web.csrf_failure() {
        return r;
    }
    let email = params.optional("email").unwrap_or_default();
    match web
        .app
        .request_password_reset(&web.subdomain, email.trim(), web.client_ip.as_deref())
        .await
    {
        Ok(()) => web.redirect("/accounts/password/reset/done/"),
        Err(AppError::BadRequest(msg)) => {
            let page = ResetPage {
                c: web.chrome().await,
                email,
                error: Some(msg),
            };
            web.page(&page)
        }
        Err(AppError::RateLimited { retry_after }) => {
            let page = super::MessagePage {
                c: web.chrome().await,
                title: "Rate limit exceeded".into(),
                heading: "Rate limit exceeded".into(),
                message: format!(
                    "You have tried to reset your password too many times. Please try again in {} seconds.",
                    retry_after.ceil() as i64
                ),
                link: Some(("/login/".into(), "Back to login".into())),
            };
            web.page_with_status(StatusCode::TOO_MANY_REQUESTS, &page)
        }
        Err(AppError::InvalidSubdomain) => web.redirect("/accounts/password/reset/done/"),
        Err(e) => web.failure(&e).await,
    }
}

/// POST /accounts/password/strength — how strong a new password looks, for the meter under
/// the new-password fields (tessera's own; Zulip computes it in the browser with zxcvbn).
/// No session needed: it says nothing about any account. Answers `strength` (0–1),
/// `acceptable` and the rule.
pub async fn post_password_strength(
    axum::extract::State(app): axum::extract::State<tessera_app::App>,
    mut params: crate::params::Params,
) -> Response {
    let password = params.optional("password").unwrap_or_default();
    let s = match app.password_strength(password).await {
        Ok(s) => s,
        Err(e) => {
            return axum::response::IntoResponse::into_response(crate::error::ApiError::from(e));
        }
    };
    params.success(serde_json::json!({
        "strength": s.fraction,
        "acceptable": s.acceptable,
        "rule": password_rule(),
    }))
}

/// The password rule, in words.
pub fn password_rule() -> String {
    format!(
        "At least {} characters, and hard to guess: a few uncommon words make a strong password.",
        tessera_core::password::PASSWORD_MIN_LENGTH
    )
}

/// GET /accounts/password/reset/done/ — "Password reset sent!".
pub async fn get_reset_done(web: Web) -> Response {
    let page = ResetEmailedPage {
        c: web.chrome().await,
        outbox: web.app.outbox_dir().is_some(),
    };
    web.page(&page)
}

/// GET /accounts/password/reset/{uid}/{token}/ — the new-password form, or "invalid or
/// already used".
pub async fn get_reset_confirm(web: Web, Path((uid, token)): Path<(String, String)>) -> Response {
    let user = match web.app.check_reset_link(&web.subdomain, &uid, &token).await {
        Ok(u) => u,
        Err(e) => return web.failure(&e).await,
    };
    let page = ResetConfirmPage {
        password_rule: password_rule(),
        c: web.chrome().await,
        valid: user.is_some(),
        email: user.map(|u| u.delivery_email).unwrap_or_default(),
        error: None,
    };
    web.page(&page)
}

/// POST /accounts/password/reset/{uid}/{token}/ — set the password; every session of the
/// user ends; then "You've set a new password!".
pub async fn post_reset_confirm(
    web: Web,
    Path((uid, token)): Path<(String, String)>,
    mut params: Params,
) -> Response {
    if let Some(r) = web.csrf_failure() {
        return r;
    }
    let p1 = params.optional("new_password1").unwrap_or_default();
    let p2 = params.optional("new_password2").unwrap_or_default();
    // The form's checkbox (checked by default): absent when the user unticked it.
    let regenerate = params.optional("regenerate_api_key").is_some();
    match web
        .app
        .complete_password_reset(&web.subdomain, &uid, &token, &p1, &p2, regenerate)
        .await
    {
        Ok(_) => web.redirect("/accounts/password/done/"),
        Err(AppError::BadRequest(msg)) => {
            let user = web
                .app
                .check_reset_link(&web.subdomain, &uid, &token)
                .await
                .ok()
                .flatten();
            let page = ResetConfirmPage {
                password_rule: password_rule(),
                c: web.chrome().await,
                valid: user.is_some(),
                email: user.map(|u| u.delivery_email).unwrap_or_default(),
                error: Some(msg),
            };
            web.page(&page)
        }
        Err(e) => web.failure(&e).await,
    }
}

/// GET /accounts/password/done/ — "You've set a new password!".
pub async fn get_password_done(web: Web) -> Response {
    let page = ResetDonePage {
        c: web.chrome().await,
    };
    web.page(&page)
}
