//! `GET /api/v1/server_settings`.

use crate::both;
use crate::helpers::*;
use axum::http::Method;

both!(fields_for_apps, |t: TestApp| async move {
    let r = t.get("/api/v1/server_settings", None).await;
    let b = r.ok();
    assert_eq!(b["zulip_feature_level"], 371);
    assert_eq!(b["zulip_version"], "10.0");
    assert_eq!(b["zulip_merge_base"], "10.0");
    assert_eq!(b["realm_uri"], SITE);
    assert_eq!(b["realm_url"], SITE);
    assert_eq!(b["realm_name"], "Test Org");
    assert_eq!(b["email_auth_enabled"], true);
    assert_eq!(b["require_email_format_usernames"], true);
    assert_eq!(b["authentication_methods"]["password"], true);
    assert_eq!(b["external_authentication_methods"], serde_json::json!([]));
    assert_eq!(b["push_notifications_enabled"], false);
    assert_eq!(b["is_incompatible"], false);
    for f in [
        "realm_icon",
        "realm_description",
        "realm_web_public_access_enabled",
    ] {
        assert!(b.get(f).is_some(), "{f}");
    }
    assert!(r.text.ends_with("}\n"), "Zulip appends a newline");
});

both!(credentials_are_ignored, |t: TestApp| async move {
    t.get(
        "/api/v1/server_settings",
        Some(("nobody@x.org", &"y".repeat(32))),
    )
    .await
    .ok();
    t.request(
        Method::GET,
        "/api/v1/server_settings",
        None,
        &[],
        &[("authorization", "Basic !!!")],
    )
    .await
    .ok();
    let r = t
        .request(Method::HEAD, "/api/v1/server_settings", None, &[], &[])
        .await;
    assert_eq!(r.status.as_u16(), 200);
    let r = t
        .request(
            Method::GET,
            "/api/v1/server_settings",
            None,
            &[],
            &[("user-agent", "ZulipInvalid/1.0")],
        )
        .await;
    assert_eq!(r.ok()["is_incompatible"], true);
});

// Realms are cached with the keys; a change made by another process on the same store (here
// turning password login off) shows on the very next request.
both!(
    realm_change_elsewhere_shows_at_once,
    |t: TestApp| async move {
        let r = t.get("/api/v1/server_settings", None).await;
        assert_eq!(r.ok()["authentication_methods"]["password"], true);
        t.get("/api/v1/server_settings", None).await.ok();
        let cli = t.sibling();
        cli.store()
            .set_realm_password_auth(1, false, t.app.now())
            .await
            .unwrap();
        let r = t.get("/api/v1/server_settings", None).await;
        assert_eq!(r.ok()["authentication_methods"]["password"], false);
        assert_eq!(r.ok()["email_auth_enabled"], false);
        cli.store()
            .set_realm_deactivated(1, true, t.app.now())
            .await
            .unwrap();
        t.get("/api/v1/users/me", Some(t.owner()))
            .await
            .unauthorized("This organization has been deactivated");
    }
);
