//! `/user_groups`: the organization's user groups (Zulip's system groups; tessera has no
//! custom groups yet).

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::params::Params;
use axum::extract::State;
use axum::response::Response;
use serde_json::json;
use tessera_app::App;

/// GET /api/v1/user_groups (also /json) — every group of the caller's organization, with
/// members and direct subgroups.
pub async fn get_user_groups(
    State(app): State<App>,
    Caller(who): Caller,
    params: Params,
) -> ApiResult<Response> {
    let groups = app.user_groups(&who).await?;
    Ok(params.success(json!({ "user_groups": groups })))
}
