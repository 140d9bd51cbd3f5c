//! Legacy push-device registration (decision D1).

use crate::both;
use crate::helpers::*;
use axum::http::Method;

both!(register_and_remove, |t: TestApp| async move {
    let o = Some(t.owner());
    t.post(
        "/api/v1/users/me/android_gcm_reg_id",
        o,
        &[("token", "fcm-token-1")],
    )
    .await
    .ok();
    t.post(
        "/api/v1/users/me/android_gcm_reg_id",
        o,
        &[("token", "fcm-token-1")],
    )
    .await
    .ok();
    t.post(
        "/api/v1/users/me/apns_device_token",
        o,
        &[("appid", "org.zulip.Zulip"), ("token", "aGVsbG8=")],
    )
    .await
    .ok();
    assert_eq!(
        t.app.store().push_devices_for(1).await.unwrap().len(),
        2,
        "re-adding is a no-op"
    );
    t.request(
        Method::DELETE,
        "/api/v1/users/me/android_gcm_reg_id",
        o,
        &[("token", "fcm-token-1")],
        &[],
    )
    .await
    .ok();
    t.request(
        Method::DELETE,
        "/api/v1/users/me/android_gcm_reg_id",
        o,
        &[("token", "fcm-token-1")],
        &[],
    )
    .await
    .error(400, "BAD_REQUEST", "Token does not exist");
    assert_eq!(t.app.store().push_devices_for(1).await.unwrap().len(), 1);
});

both!(validation, |t: TestApp| async move {
    let o = Some(t.owner());
    t.post("/api/v1/users/me/android_gcm_reg_id", o, &[("token", "")])
        .await
        .error(400, "BAD_REQUEST", "Empty or invalid length token");
    let long = "x".repeat(4097);
    t.post(
        "/api/v1/users/me/android_gcm_reg_id",
        o,
        &[("token", &long)],
    )
    .await
    .error(400, "BAD_REQUEST", "Empty or invalid length token");
    t.post("/api/v1/users/me/apns_device_token", o, &[("token", "abc")])
        .await
        .error(400, "REQUEST_VARIABLE_MISSING", "Missing 'appid' argument");
    t.post(
        "/api/v1/users/me/apns_device_token",
        o,
        &[("appid", "bad id!"), ("token", "aGVsbG8=")],
    )
    .await
    .error(400, "BAD_REQUEST", "appid has invalid format");
    t.post(
        "/api/v1/users/me/apns_device_token",
        o,
        &[("appid", "org.zulip.Zulip"), ("token", "abc")],
    )
    .await
    .error(400, "BAD_REQUEST", "Invalid APNS token");
    let (_, key, email) = t.bot(t.owner(), "pusher", 1).await;
    t.post(
        "/api/v1/users/me/android_gcm_reg_id",
        Some((&email, &key)),
        &[("token", "t")],
    )
    .await
    .error(
        400,
        "BAD_REQUEST",
        "This endpoint does not accept bot requests.",
    );
    assert!(t.app.store().push_devices_for(1).await.unwrap().is_empty());
});
