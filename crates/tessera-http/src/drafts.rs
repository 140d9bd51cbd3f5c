//! `/drafts` and `/drafts/{draft_id}`.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::params::{Params, PathId};
use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};
use tessera_app::{App, DraftInput};

/// GET /api/v1/drafts (also /json) — the caller's drafts, oldest edit first, with `count`.
pub async fn get_drafts(
    State(app): State<App>,
    Caller(who): Caller,
    params: Params,
) -> ApiResult<Response> {
    let drafts = app.drafts(&who).await?;
    Ok(params.success(json!({ "count": drafts.len(), "drafts": drafts })))
}

/// POST /api/v1/drafts (also /json) — create drafts from `drafts`, a JSON list; all or
/// none. Answers their `ids` in order.
pub async fn post_drafts(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    app.require_draft_sync(&who).await?;
    let list = match params.json_value("drafts")? {
        None => return Err(ApiError::missing("drafts")),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(ApiError::bad_request("drafts is not a list")),
    };
    let drafts = list
        .iter()
        .enumerate()
        .map(|(i, v)| DraftInput::from_json(v, &format!("drafts[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let ids = app.create_drafts(&who, &drafts).await?;
    Ok(params.success(json!({ "ids": ids })))
}

/// PATCH /api/v1/drafts/{draft_id} (also /json) — replace a draft with `draft`.
pub async fn patch_draft(
    State(app): State<App>,
    Caller(who): Caller,
    PathId(id): PathId,
    mut params: Params,
) -> ApiResult<Response> {
    app.require_draft_sync(&who).await?;
    let draft = params
        .json_value("draft")?
        .ok_or_else(|| ApiError::missing("draft"))?;
    let draft = DraftInput::from_json(&draft, "draft")?;
    app.edit_draft(&who, id, &draft).await?;
    Ok(params.success(json!({})))
}

/// DELETE /api/v1/drafts/{draft_id} (also /json).
pub async fn delete_draft(
    State(app): State<App>,
    Caller(who): Caller,
    PathId(id): PathId,
    params: Params,
) -> ApiResult<Response> {
    app.delete_draft(&who, id).await?;
    Ok(params.success(json!({})))
}
