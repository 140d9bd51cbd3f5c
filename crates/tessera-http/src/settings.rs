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
    if let Some(new_password) = params.optional("new_password") {
        let old_password = params.optional("old_password").unwrap_or_default();
        app.change_own_password(&session, &old_password, &new_password)
            .await?;
    }
    Ok(params.success(json!({})))
}
