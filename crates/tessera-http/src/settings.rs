//! `/json/settings`: the settings a signed-in user changes from the web UI. tessera serves the
//! password change (Zulip's `json_change_settings` with `old_password` and `new_password`);
//! other settings are reported in `ignored_parameters_unsupported`.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use axum::extract::State;
use axum::http::request::Parts;
use axum::response::Response;
use serde_json::json;
use tessera_app::{App, SessionCaller};

/// The web session behind a `/json` request (put there by [`Caller`]).
pub struct Session(pub SessionCaller);

impl axum::extract::FromRequestParts<App> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let Caller(_) = Caller::from_request_parts(parts, app).await?;
        parts
            .extensions
            .get::<SessionCaller>()
            .cloned()
            .map(Session)
            .ok_or_else(|| {
                use axum::response::IntoResponse;
                ApiError::bad_request("This endpoint requires a web session.").into_response()
            })
    }
}

/// PATCH /json/settings — change your password: `old_password` must be right (rate limited),
/// `new_password` strong; your other web sessions end, this one stays. Human users only.
pub async fn patch_settings(
    State(app): State<App>,
    Session(session): Session,
    mut params: Params,
) -> ApiResult<Response> {
    session.principal.require_human()?;
    if let Some(enabled) = params.json_bool("enable_login_emails")? {
        app.set_login_emails(&session.principal, enabled).await?;
    }
    if let Some(new_password) = params.optional("new_password") {
        let old_password = params.optional("old_password").unwrap_or_default();
        // tessera's own option (zulip#21636); Zulip's API never rotates the key here.
        let regenerate = params.json_bool("regenerate_api_key")?.unwrap_or(false);
        app.change_own_password(&session, &old_password, &new_password, regenerate)
            .await?;
    }
    Ok(params.success(json!({})))
}

/// DELETE /json/users/me/sessions/{session_id} — sign out one of your web sessions
/// (tessera's own, for the Devices section).
pub async fn delete_session(
    State(app): State<App>,
    Session(session): Session,
    axum::extract::Path(id): axum::extract::Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let id = crate::users::path_id(&id)?;
    app.sign_out_session(&session.principal, id).await?;
    Ok(params.success(json!({})))
}

/// POST /json/users/me/logout_everywhere — "Log out everywhere" (tessera's own): a new API
/// key (mobile devices and API clients are logged out, push registrations dropped) and every
/// other web session ended. Needs the password, like revealing the key.
pub async fn post_logout_everywhere(
    State(app): State<App>,
    Session(session): Session,
    mut params: Params,
) -> ApiResult<Response> {
    session.principal.require_human()?;
    let password = params.optional("password").unwrap_or_default();
    app.reveal_own_api_key(&session.principal, &password)
        .await?;
    app.log_out_everywhere(&session).await?;
    Ok(params.success(json!({})))
}
