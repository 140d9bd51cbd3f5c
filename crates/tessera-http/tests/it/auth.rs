//! Authenticating `/api/v1` requests exactly as Zulip's `authenticated_rest_api_view`.

use crate::both;
use crate::helpers::*;
use axum::http::Method;
use tessera_core::{ApiKey, Role};

both!(valid_key_returns_profile, |t: TestApp| async move {
    let r = t.get("/api/v1/users/me", Some(t.owner())).await;
    let b = r.ok();
    assert_eq!(b["email"], OWNER);
    assert_eq!(b["delivery_email"], OWNER);
    assert_eq!(b["role"], 100);
    assert_eq!(b["is_owner"], true);
    assert_eq!(b["is_admin"], true);
    assert_eq!(b["full_name"], "Olive Owner");
    // Welcome Bot's direct message is the owner's newest message.
    assert!(
        b["max_message_id"].as_i64().unwrap() >= 1,
        "{}",
        b["max_message_id"]
    );
    assert!(
        b["date_joined"]
            .as_str()
            .is_some_and(|d| d.ends_with("+00:00"))
    );
    assert!(
        !r.text.contains(&t.owner_key),
        "a profile never carries the key"
    );
});

both!(
    username_is_case_insensitive_delivery_email,
    |t: TestApp| async move {
        t.get(
            "/api/v1/users/me",
            Some(("OWNER@Tessera.TEST", &t.owner_key)),
        )
        .await
        .ok();
        let (_, other_key) = t.user("member@tessera.test", Role::Member).await;
        // A valid key with someone else's email is "Invalid API key", as an unknown key.
        t.get("/api/v1/users/me", Some((OWNER, &other_key)))
            .await
            .unauthorized("Invalid API key");
        t.get("/api/v1/users/me", Some(("", &t.owner_key)))
            .await
            .unauthorized("Invalid API key");
    }
);

both!(shape_then_checksum_then_lookup, |t: TestApp| async move {
    t.get("/api/v1/users/me", Some((OWNER, "short")))
        .await
        .unauthorized("Malformed API key");
    t.get("/api/v1/users/me", Some((OWNER, &"a_".repeat(16))))
        .await
        .unauthorized("Malformed API key");
    // Right shape, wrong checksum.
    t.get("/api/v1/users/me", Some((OWNER, &"A".repeat(32))))
        .await
        .unauthorized("Invalid API key");
    // Right shape and checksum, but nobody's key.
    let stranger = ApiKey::generate();
    t.get("/api/v1/users/me", Some((OWNER, stranger.expose())))
        .await
        .unauthorized("Invalid API key");
});

both!(header_problems, |t: TestApp| async move {
    let r = t
        .request(Method::GET, "/api/v1/users/me", None, &[], &[])
        .await;
    r.unauthorized("Not logged in: API authentication or user session required");
    let r = t
        .request(
            Method::GET,
            "/api/v1/users/me",
            None,
            &[],
            &[("authorization", "Bearer abc")],
        )
        .await;
    r.error(
        400,
        "BAD_REQUEST",
        "This endpoint requires HTTP basic authentication.",
    );
    for bad in ["Basic !!!", "Basic", "Basic dXNlcg==", "Basic a b"] {
        let r = t
            .request(
                Method::GET,
                "/api/v1/users/me",
                None,
                &[],
                &[("authorization", bad)],
            )
            .await;
        r.unauthorized("Invalid authorization header for basic auth");
    }
    // A browser is sent to the login page instead.
    let r = t
        .request(
            Method::GET,
            "/api/v1/users/me",
            None,
            &[],
            &[("accept", "text/html")],
        )
        .await;
    assert_eq!(r.status.as_u16(), 302);
    assert_eq!(
        r.header("location"),
        "/login/?next=%2Fapi%2Fv1%2Fusers%2Fme"
    );
});

both!(json_paths_need_a_session, |t: TestApp| async move {
    let r = t.get("/json/users/me", Some(t.owner())).await;
    r.error(
        401,
        "UNAUTHORIZED",
        "Not logged in: API authentication or user session required",
    );
    assert_eq!(r.header("www-authenticate"), "Session realm=\"zulip\"");
});

both!(deactivation_and_reactivation, |t: TestApp| async move {
    let (id, key) = t.user("member@tessera.test", Role::Member).await;
    let who = ("member@tessera.test", key.as_str());
    t.get("/api/v1/users/me", Some(who)).await.ok();
    let user = t.app.user_row(id).await.unwrap();
    t.app.deactivate_user(&user, 1).await.unwrap();
    t.get("/api/v1/users/me", Some(who))
        .await
        .unauthorized("Account is deactivated");
    t.app.reactivate_user(&user, 1).await.unwrap();
    t.get("/api/v1/users/me", Some(who)).await.ok();
    let events: Vec<i64> = t.audit_events(id).await.into_iter().map(|e| e.0).collect();
    assert_eq!(events, vec![101, 103, 104]);
});

both!(deactivated_realm, |t: TestApp| async move {
    t.get("/api/v1/users/me", Some(t.owner())).await.ok();
    t.app
        .store()
        .set_realm_deactivated(1, true, t.app.now())
        .await
        .unwrap();
    t.get("/api/v1/users/me", Some(t.owner()))
        .await
        .unauthorized("This organization has been deactivated");
});

both!(key_of_another_realm_is_refused, |t: TestApp| async move {
    t.app
        .store()
        .create_realm("sub", "Sub Org", t.app.now())
        .await
        .unwrap();
    let r = t
        .request_host("sub.tessera.test", "/api/v1/users/me", Some(t.owner()))
        .await;
    r.unauthorized("Account is not associated with this subdomain");
    let r = t
        .request_host("nope.tessera.test", "/api/v1/server_settings", None)
        .await;
    r.error(400, "BAD_REQUEST", "Invalid subdomain");
});

both!(incoming_webhook_bots_are_limited, |t: TestApp| async move {
    let (_, key, email) = t.bot(t.owner(), "hook", 2).await;
    t.get("/api/v1/users/me", Some((&email, &key)))
        .await
        .unauthorized("This API is not available to incoming webhook bots.");
});
