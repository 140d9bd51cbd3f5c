//! `/users/me/alert_words`. tessera keeps no alert words yet: the list is empty, Zulip's
//! value for "none configured".

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::params::Params;
use axum::response::Response;
use serde_json::json;

/// GET /api/v1/users/me/alert_words (also /json) — the caller's alert words.
pub async fn get_alert_words(Caller(_who): Caller, params: Params) -> ApiResult<Response> {
    Ok(params.success(json!({ "alert_words": [] })))
}
