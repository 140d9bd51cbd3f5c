//! `/settings`: the settings a user changes (Zulip's `json_change_settings`), and the web UI's
//! own session actions under `/json/users/me/`.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use axum::extract::State;
use axum::http::request::Parts;
use axum::response::Response;
use serde_json::{Value, json};
use tessera_app::{App, SessionCaller, SettingsRequest};
use tessera_core::user_settings::{self, Kind};

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

/// PATCH /api/v1/settings (and /json/settings) — change your own settings (Zulip's
/// `json_change_settings`): `full_name`, a new password (`old_password` must be right, rate
/// limited; your other web sessions end, this one stays) and any of Zulip's personal settings,
/// each stored and announced with `user_settings` events. Nothing changes unless every value
/// is valid. `email` changes are not offered (reported in `ignored_parameters_unsupported`).
/// Human users only.
pub async fn patch_settings(
    State(app): State<App>,
    Caller(principal): Caller,
    session: Option<axum::Extension<SessionCaller>>,
    mut params: Params,
) -> ApiResult<Response> {
    let mut req = SettingsRequest {
        full_name: params.optional("full_name"),
        old_password: params.optional("old_password"),
        new_password: params.optional("new_password"),
        // tessera's own option (zulip#21636); Zulip's API never rotates the key here.
        regenerate_api_key: params.json_bool("regenerate_api_key")?.unwrap_or(false),
        session_id: session.map(|s| s.0.session_id),
        values: Vec::new(),
    };
    for setting in user_settings::SETTINGS {
        let value = match setting.kind {
            Kind::Str(_) => params.optional(setting.name).map(Value::String),
            Kind::Bool | Kind::Int(_) => params.json_value(setting.name)?,
        };
        if let Some(value) = value {
            req.values.push((setting, value));
        }
    }
    app.change_settings(&principal, req).await?;
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
