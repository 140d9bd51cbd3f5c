//! `/realm`: the organization's settings; `/realm/emoji` (tessera has no custom emoji yet: the
//! set is empty, Zulip's value for "none configured").

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::params::Params;
use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};
use tessera_app::App;
use tessera_core::realm_settings;

/// PATCH /api/v1/realm (and /json/realm) — administrators change organization settings
/// (Zulip's `update_realm`; a few, such as `invite_required` and `message_retention_days`,
/// only owners). Every value is checked before anything changes; each changed setting is
/// stored and announced with a `realm` `update` (group settings: `update_dict`) event. The
/// answer lists each changed setting with its new value (`"updated"` for text). tessera's
/// API-key policy (`api_key_per_login`, `max_api_key_lifetime_days`) is changed here too,
/// audited but announced by no event.
pub async fn patch_realm(
    State(app): State<App>,
    Caller(principal): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let sent: Vec<_> = realm_settings::all()
        .filter_map(|s| params.optional(s.name).map(|raw| (s, raw)))
        .collect();
    let data = app.update_realm(&principal, sent).await?;
    Ok(params.success(Value::Object(data)))
}

/// GET /api/v1/realm/emoji (also /json) — the organization's custom emoji (none).
pub async fn get_realm_emoji(Caller(_who): Caller, params: Params) -> ApiResult<Response> {
    Ok(params.success(json!({ "emoji": {} })))
}
