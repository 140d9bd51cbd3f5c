//! `POST /api/v1/users/me/api_key/regenerate` and rotation's effects.

use crate::both;
use crate::helpers::*;
use axum::http::Method;
use tessera_core::Role;

both!(rotation_is_immediate_and_audited, |t: TestApp| async move {
    t.post(
        "/api/v1/users/me/apns_device_token",
        Some(t.owner()),
        &[("appid", "org.zulip.Zulip"), ("token", "aGVsbG8=")],
    )
    .await
    .ok();
    assert_eq!(t.app.store().push_devices_for(1).await.unwrap().len(), 1);
    let r = t
        .post("/api/v1/users/me/api_key/regenerate", Some(t.owner()), &[])
        .await;
    let new_key = r.ok()["api_key"].as_str().unwrap().to_owned();
    assert_ne!(new_key, t.owner_key);
    assert!(tessera_core::ApiKey::parse(&new_key).is_ok());
    // The old key is refused on the very next request; the new one works.
    t.get("/api/v1/users/me", Some(t.owner()))
        .await
        .unauthorized("Invalid API key");
    t.get("/api/v1/users/me", Some((OWNER, &new_key)))
        .await
        .ok();
    // Audit 127 by the user, and every push registration is gone (mobile devices logged out).
    assert_eq!(t.audit_events(1).await.last(), Some(&(127, Some(1))));
    assert!(t.app.store().push_devices_for(1).await.unwrap().is_empty());
    // fetch_api_key (with Zulip's one-key policy) now hands out the new key.
    t.patch(
        "/api/v1/realm",
        (OWNER, &new_key),
        &[("api_key_per_login", "false")],
    )
    .await
    .ok();
    let r = t
        .post(
            "/api/v1/fetch_api_key",
            None,
            &[("username", OWNER), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.ok()["api_key"], new_key.as_str());
});

both!(bots_may_rotate_their_own_key, |t: TestApp| async move {
    let (id, key, email) = t.bot(t.owner(), "rot", 1).await;
    let r = t
        .post(
            "/api/v1/users/me/api_key/regenerate",
            Some((&email, &key)),
            &[],
        )
        .await;
    let new_key = r.ok()["api_key"].as_str().unwrap().to_owned();
    t.get("/api/v1/users/me", Some((&email, &key)))
        .await
        .unauthorized("Invalid API key");
    t.get("/api/v1/users/me", Some((&email, &new_key)))
        .await
        .ok();
    assert_eq!(t.audit_events(id).await.last(), Some(&(127, Some(id))));
});

both!(
    no_json_variant_and_no_session_rotation,
    |t: TestApp| async move {
        let r = t
            .post("/json/users/me/api_key/regenerate", Some(t.owner()), &[])
            .await;
        r.error(404, "BAD_REQUEST", "Not Found");
        let r = t
            .request(
                Method::GET,
                "/api/v1/users/me/api_key/regenerate",
                Some(t.owner()),
                &[],
                &[],
            )
            .await;
        assert_eq!(r.status.as_u16(), 405);
    }
);

both!(
    rotation_by_another_process_evicts_this_cache,
    |t: TestApp| async move {
        let (id, key) = t.user("member@tessera.test", Role::Member).await;
        let who = ("member@tessera.test", key.as_str());
        // Warm this process's cache.
        t.get("/api/v1/users/me", Some(who)).await.ok();
        t.get("/api/v1/users/me", Some(who)).await.ok();
        // "The CLI" rotates through its own App on the same store.
        let cli = t.sibling();
        let user = cli.user_row(id).await.unwrap();
        let new_key = cli.regenerate_api_key(&user, id).await.unwrap();
        t.get("/api/v1/users/me", Some(who))
            .await
            .unauthorized("Invalid API key");
        t.get(
            "/api/v1/users/me",
            Some(("member@tessera.test", new_key.expose())),
        )
        .await
        .ok();
        // Deactivation by another process too.
        let user = cli.user_row(id).await.unwrap();
        cli.deactivate_user(&user, 1).await.unwrap();
        t.get(
            "/api/v1/users/me",
            Some(("member@tessera.test", new_key.expose())),
        )
        .await
        .unauthorized("Account is deactivated");
    }
);

#[tokio::test]
async fn postgres_listener_evicts_on_notify() {
    let t = TestApp::new(tessera_store::Engine::Postgres).await;
    assert!(t.app.key_cache().start_listener().await);
    let (id, key) = t.user("member@tessera.test", Role::Member).await;
    let who = ("member@tessera.test", key.as_str());
    t.get("/api/v1/users/me", Some(who)).await.ok();
    let cli = t.sibling();
    let user = cli.user_row(id).await.unwrap();
    cli.regenerate_api_key(&user, id).await.unwrap();
    // Delivery is asynchronous; it must land well within a second.
    let mut refused = false;
    for _ in 0..100 {
        if t.get("/api/v1/users/me", Some(who)).await.status.as_u16() == 401 {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        refused,
        "the old key still authenticated a second after rotation elsewhere"
    );
}

both!(role_change_is_seen_at_once, |t: TestApp| async move {
    let (id, key) = t.user("member@tessera.test", Role::Member).await;
    let who = ("member@tessera.test", key.as_str());
    let (bot_id, _, _) = t.bot(t.owner(), "gen", 1).await;
    t.get(&format!("/api/v1/bots/{bot_id}/api_key"), Some(who))
        .await
        .error(400, "BAD_REQUEST", "Insufficient permission");
    let user = t.app.user_row(id).await.unwrap();
    t.app.set_role(&user, Role::Admin, 1).await.unwrap();
    t.get(&format!("/api/v1/bots/{bot_id}/api_key"), Some(who))
        .await
        .ok();
});

both!(
    a_bots_old_key_can_overlap_the_new_one,
    |t: TestApp| async move {
        let (bot, old, email) = t.bot(t.owner(), "deployer", 1).await;
        let regenerate = format!("/api/v1/bots/{bot}/api_key/regenerate");
        // Out of range: refused, nothing changes.
        for bad in ["-1", "86401", "\"1h\""] {
            let r = t
                .post(&regenerate, Some(t.owner()), &[("overlap_seconds", bad)])
                .await;
            assert_eq!(r.status.as_u16(), 400, "{}", r.text);
        }
        t.get("/api/v1/users/me", Some((&email, &old))).await.ok();
        // A running integration holds a queue with the old key.
        let queue = t.register_queue((&email, &old), "[\"message\"]").await;

        let r = t
            .post(&regenerate, Some(t.owner()), &[("overlap_seconds", "3600")])
            .await;
        let new = r.ok()["api_key"].as_str().unwrap().to_owned();
        // Both work during the window, and the old key's queue was kept.
        t.get("/api/v1/users/me", Some((&email, &old))).await.ok();
        t.get(
            &format!("/api/v1/events?queue_id={queue}&last_event_id=-1&dont_block=true"),
            Some((&email, &old)),
        )
        .await
        .ok();
        // The old key does what the integration does, never what only a full key may: it
        // cannot replace the new key, make keys, or reveal any.
        for (path, method) in [
            ("/api/v1/users/me/api_key/regenerate", Method::POST),
            ("/api/v1/users/me/api_keys", Method::POST),
            ("/api/v1/users/me/api_keys", Method::GET),
        ] {
            let r = t
                .request(method, path, Some((&email, &old)), &[("name", "mine")], &[])
                .await;
            r.error(
                403,
                "API_KEY_SCOPE",
                "This API key's scope does not allow this request (it needs: full).",
            );
        }
        let listed = t
            .get(&format!("/api/v1/bots/{bot}/api_keys"), Some(t.owner()))
            .await;
        let previous = listed.ok()["api_keys"][0].clone();
        assert_eq!(previous["kind"], "previous");
        let now = t.app.now().div_euclid(1_000_000);
        assert_eq!(previous["expires"], now + 3600);

        // The new key's first use ends the old one at once — on every node.
        let sibling = t.sibling();
        sibling
            .authenticate_api_key("", Some(&email), &new, false, None)
            .await
            .unwrap();
        t.get("/api/v1/users/me", Some((&email, &old)))
            .await
            .unauthorized("Invalid API key");
        t.get("/api/v1/users/me", Some((&email, &new))).await.ok();
        let audit = t.app.store().audit_for_user(bot).await.unwrap();
        let retired = audit.iter().rfind(|a| a.event_type == 9007).unwrap();
        assert_eq!(retired.acting_user_id, None);
        assert!(
            retired
                .extra_data
                .as_deref()
                .unwrap()
                .contains("new key used")
        );
        let listed = t
            .get(&format!("/api/v1/bots/{bot}/api_keys"), Some(t.owner()))
            .await;
        assert_eq!(listed.ok()["api_keys"], serde_json::json!([]));

        // Unused, the overlap ends with its window.
        let r = t
            .post(
                &regenerate,
                Some(t.owner()),
                &[("overlap_seconds", "86400")],
            )
            .await;
        let newest = r.ok()["api_key"].as_str().unwrap().to_owned();
        t.clock.advance_secs(86_399.0);
        t.get("/api/v1/users/me", Some((&email, &new))).await.ok();
        t.clock.advance_secs(1.0);
        t.get("/api/v1/users/me", Some((&email, &new)))
            .await
            .unauthorized("This API key has expired.");
        t.get("/api/v1/users/me", Some((&email, &newest)))
            .await
            .ok();

        // Without an overlap (the default): the old key stops at once, as the seed says.
        let r = t.post(&regenerate, Some(t.owner()), &[]).await;
        let last = r.ok()["api_key"].as_str().unwrap().to_owned();
        t.get("/api/v1/users/me", Some((&email, &newest)))
            .await
            .unauthorized("Invalid API key");
        t.get("/api/v1/users/me", Some((&email, &last))).await.ok();
    }
);
