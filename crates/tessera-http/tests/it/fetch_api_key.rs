//! `POST /api/v1/fetch_api_key` and `dev_fetch_api_key`.

use crate::both;
use crate::helpers::*;
use axum::http::Method;
use tessera_core::Role;

both!(each_login_gets_its_own_key, |t: TestApp| async move {
    let login = |username: &'static str, ua: &'static str| {
        let t = &t;
        async move {
            t.request(
                Method::POST,
                "/api/v1/fetch_api_key",
                None,
                &[("username", username), ("password", PASSWORD)],
                &[("user-agent", ua)],
            )
            .await
        }
    };
    let r = login(OWNER, "ZulipMobile/27.200 (Android 14)").await;
    let b = r.ok().clone();
    assert_eq!(b["email"], OWNER);
    assert_eq!(b["user_id"], 1);
    let first = b["api_key"].as_str().unwrap().to_owned();
    // Zulip's shape and checksum, but not the account key.
    assert!(tessera_core::ApiKey::parse(&first).is_ok());
    assert_ne!(first, t.owner_key);
    // Username case does not matter; a second login gets a key of its own.
    let r = login(
        "Owner@TESSERA.test",
        "ZulipPython/0.9.1 (Linux; Python 3.11)",
    )
    .await;
    let second = r.ok()["api_key"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert_ne!(second, t.owner_key);
    for key in [&first, &second, &t.owner_key] {
        t.get("/api/v1/users/me", Some((OWNER, key))).await.ok();
    }
    // Both are listed as signed-in apps, named after the app, with full scope.
    let keys = t.get("/api/v1/users/me/api_keys", Some(t.owner())).await;
    let keys = keys.ok()["api_keys"].as_array().unwrap().clone();
    let apps: Vec<(&str, &str, &str)> = keys
        .iter()
        .map(|k| {
            (
                k["kind"].as_str().unwrap(),
                k["name"].as_str().unwrap(),
                k["scope"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        apps,
        [
            ("device", "ZulipPython on Linux", "full"),
            ("device", "ZulipMobile on Android", "full"),
        ]
    );
    // Audited with the key's id, never the key.
    let audit = t.app.store().audit_for_user(1).await.unwrap();
    let created: Vec<&str> = audit
        .iter()
        .filter(|a| a.event_type == 9006)
        .filter_map(|a| a.extra_data.as_deref())
        .collect();
    assert_eq!(created.len(), 2);
    assert!(
        created.iter().all(|e| e.contains("\"kind\":\"device\"")
            && !e.contains(&first)
            && !e.contains(&second))
    );
});

both!(
    with_the_policy_off_login_returns_the_account_key,
    |t: TestApp| async move {
        t.set_key_per_login(false).await;
        for username in [OWNER, "Owner@TESSERA.test"] {
            let r = t
                .post(
                    "/api/v1/fetch_api_key",
                    None,
                    &[("username", username), ("password", PASSWORD)],
                )
                .await;
            // Zulip's behaviour: the existing key, not rotated by fetching it.
            assert_eq!(r.ok()["api_key"], t.owner_key.as_str());
        }
        t.get("/api/v1/users/me", Some(t.owner())).await.ok();
        let keys = t.get("/api/v1/users/me/api_keys", Some(t.owner())).await;
        assert_eq!(keys.ok()["api_keys"], serde_json::json!([]));
    }
);

both!(failures, |t: TestApp| async move {
    let wrong = t
        .post(
            "/api/v1/fetch_api_key",
            None,
            &[("username", OWNER), ("password", "nope-nope")],
        )
        .await;
    wrong.error(
        401,
        "AUTHENTICATION_FAILED",
        "Your username or password is incorrect",
    );
    assert_eq!(
        wrong.header("www-authenticate"),
        "",
        "no challenge on this path"
    );
    let unknown = t
        .post(
            "/api/v1/fetch_api_key",
            None,
            &[("username", "ghost@tessera.test"), ("password", PASSWORD)],
        )
        .await;
    unknown.error(
        401,
        "AUTHENTICATION_FAILED",
        "Your username or password is incorrect",
    );
    let empty = t
        .post(
            "/api/v1/fetch_api_key",
            None,
            &[("username", OWNER), ("password", "")],
        )
        .await;
    empty.error(
        401,
        "AUTHENTICATION_FAILED",
        "Your username or password is incorrect",
    );
    t.post(
        "/api/v1/fetch_api_key",
        None,
        &[("username", "not-an-email"), ("password", "x")],
    )
    .await
    .error(400, "BAD_REQUEST", "Enter a valid email address.");
    let missing = t
        .post("/api/v1/fetch_api_key", None, &[("password", "x")])
        .await;
    missing.error(
        400,
        "REQUEST_VARIABLE_MISSING",
        "Missing 'username' argument",
    );
    assert_eq!(missing.body["var_name"], "username");
    let r = t.get("/api/v1/fetch_api_key", None).await;
    assert_eq!(r.status.as_u16(), 405);
    assert_eq!(r.body["allowed_methods"], serde_json::json!(["POST"]));
    assert_eq!(r.body["msg"], "Method Not Allowed");
});

both!(deactivated_and_disabled, |t: TestApp| async move {
    let (id, _) = t.user("member@tessera.test", Role::Member).await;
    let user = t.app.user_row(id).await.unwrap();
    t.app.deactivate_user(&user, 1).await.unwrap();
    t.post(
        "/api/v1/fetch_api_key",
        None,
        &[("username", "member@tessera.test"), ("password", PASSWORD)],
    )
    .await
    .error(401, "USER_DEACTIVATED", "Account is deactivated");
    t.app
        .store()
        .set_realm_password_auth(1, false, t.app.now())
        .await
        .unwrap();
    t.post(
        "/api/v1/fetch_api_key",
        None,
        &[("username", OWNER), ("password", PASSWORD)],
    )
    .await
    .error(
        401,
        "PASSWORD_AUTH_DISABLED",
        "Password authentication is disabled in this organization",
    );
    t.app
        .store()
        .set_realm_password_auth(1, true, t.app.now())
        .await
        .unwrap();
    t.app
        .store()
        .set_realm_deactivated(1, true, t.app.now())
        .await
        .unwrap();
    t.post(
        "/api/v1/fetch_api_key",
        None,
        &[("username", OWNER), ("password", PASSWORD)],
    )
    .await
    .error(
        401,
        "REALM_DEACTIVATED",
        "This organization has been deactivated",
    );
});

both!(
    five_attempts_per_username_per_30_minutes,
    |t: TestApp| async move {
        let attempt = |pw: &'static str| {
            let t = &t;
            async move {
                t.post(
                    "/api/v1/fetch_api_key",
                    None,
                    &[("username", OWNER), ("password", pw)],
                )
                .await
            }
        };
        for _ in 0..4 {
            attempt("wrong-wrong").await.error(
                401,
                "AUTHENTICATION_FAILED",
                "Your username or password is incorrect",
            );
        }
        // A success clears the history ...
        attempt(PASSWORD).await.ok();
        for _ in 0..5 {
            attempt("wrong-wrong").await.error(
                401,
                "AUTHENTICATION_FAILED",
                "Your username or password is incorrect",
            );
        }
        // ... and the 6th attempt inside the window is refused even with the right password.
        let r = attempt(PASSWORD).await;
        r.error(429, "RATE_LIMIT_HIT", "API usage exceeded rate limit");
        let retry = r.body["retry-after"].as_f64().unwrap();
        assert!(retry > 1700.0 && retry <= 1800.0, "{retry}");
        let header: f64 = r.header("retry-after").parse().unwrap();
        assert!((header - retry).abs() < 1e-6);
        t.clock.advance_secs(1801.0);
        attempt(PASSWORD).await.ok();
    }
);

mod per_ip_cap {
    use super::*;
    async fn run(engine: tessera_store::Engine) {
        let t = TestApp::with_config(engine, |c| c.auth_failures_by_ip = (600, 3)).await;
        let ip: std::net::SocketAddr = "10.1.2.3:5555".parse().unwrap();
        for i in 0..3 {
            let user = format!("guess{i}@tessera.test");
            let r = t
                .post_from(
                    ip,
                    "/api/v1/fetch_api_key",
                    &[("username", &user), ("password", "x-x-x-x")],
                )
                .await;
            r.error(
                401,
                "AUTHENTICATION_FAILED",
                "Your username or password is incorrect",
            );
        }
        let r = t
            .post_from(
                ip,
                "/api/v1/fetch_api_key",
                &[("username", OWNER), ("password", PASSWORD)],
            )
            .await;
        r.error(429, "RATE_LIMIT_HIT", "API usage exceeded rate limit");
        // Another address is unaffected.
        let other: std::net::SocketAddr = "10.9.9.9:1".parse().unwrap();
        t.post_from(
            other,
            "/api/v1/fetch_api_key",
            &[("username", OWNER), ("password", PASSWORD)],
        )
        .await
        .ok();
    }
    #[tokio::test]
    async fn sqlite() {
        run(tessera_store::Engine::Sqlite).await;
    }
    #[tokio::test]
    async fn postgres() {
        run(tessera_store::Engine::Postgres).await;
    }
}

both!(
    dev_fetch_api_key_is_off_in_production,
    |t: TestApp| async move {
        t.post("/api/v1/dev_fetch_api_key", None, &[("username", OWNER)])
            .await
            .error(400, "BAD_REQUEST", "Endpoint not available in production.");
    }
);

mod dev_fetch_api_key_in_development {
    use super::*;
    #[tokio::test]
    async fn sqlite() {
        let t = TestApp::with_config(tessera_store::Engine::Sqlite, |c| c.development = true).await;
        let r = t
            .post("/api/v1/dev_fetch_api_key", None, &[("username", OWNER)])
            .await;
        // Like fetch_api_key: the login's own key.
        let key = r.ok()["api_key"].as_str().unwrap().to_owned();
        assert_ne!(key, t.owner_key);
        t.get("/api/v1/users/me", Some((OWNER, &key))).await.ok();
        t.set_key_per_login(false).await;
        let r = t
            .post("/api/v1/dev_fetch_api_key", None, &[("username", OWNER)])
            .await;
        assert_eq!(r.ok()["api_key"], t.owner_key.as_str());
    }
}

/// Argon2 runs on the password pool's own threads at `SCHED_IDLE`, so a storm of logins only
/// gets the CPU the API does not want (`/proc/self/task/*/stat` field 41 is the policy; 5 is
/// `SCHED_IDLE`).
#[tokio::test]
async fn password_hashing_threads_are_idle_priority() {
    let t = TestApp::new(tessera_store::Engine::Sqlite).await;
    t.post(
        "/api/v1/fetch_api_key",
        None,
        &[("username", OWNER), ("password", PASSWORD)],
    )
    .await
    .ok();
    let mut policies = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if !comm.starts_with("tessera-argon2") {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // Fields after the `(comm)`: state is field 3, so policy (41) is index 38.
        let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
        let policy: i64 = after.split_whitespace().nth(38).unwrap().parse().unwrap();
        policies.push(policy);
    }
    assert!(!policies.is_empty(), "no password-hashing threads found");
    assert!(policies.iter().all(|p| *p == 5), "{policies:?}");
}
