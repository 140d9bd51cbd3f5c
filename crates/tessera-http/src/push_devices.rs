//! Legacy push-device registration: `users/me/apns_device_token` and
//! `users/me/android_gcm_reg_id` (decision D1).

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::params::Params;
use axum::extract::State;
use axum::response::Response;
use serde_json::json;
use tessera_app::{App, PushService};

/// POST /api/v1/users/me/apns_device_token — `appid`, `token`.
pub async fn post_apns(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let appid = params.required("appid")?;
    let token = params.required("token")?;
    app.add_push_device(&who, PushService::Apns, &token, Some(&appid))
        .await?;
    Ok(params.success(json!({})))
}

/// DELETE /api/v1/users/me/apns_device_token — `token`.
pub async fn delete_apns(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let token = params.required("token")?;
    app.remove_push_device(&who, PushService::Apns, &token)
        .await?;
    Ok(params.success(json!({})))
}

/// POST /api/v1/users/me/android_gcm_reg_id — `token`.
pub async fn post_fcm(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let token = params.required("token")?;
    app.add_push_device(&who, PushService::Fcm, &token, None)
        .await?;
    Ok(params.success(json!({})))
}

/// DELETE /api/v1/users/me/android_gcm_reg_id — `token`.
pub async fn delete_fcm(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let token = params.required("token")?;
    app.remove_push_device(&who, PushService::Fcm, &token)
        .await?;
    Ok(params.success(json!({})))
}
