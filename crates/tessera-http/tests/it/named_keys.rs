//! Named keys (`/users/me/api_keys`, `/bots/{bot_id}/api_keys`): scopes refused with a 403
//! that is not a 401, expiry at the boundary, revocation of one key, and "Generate new API
//! key" ending every named key of the account.

use crate::helpers::*;
use axum::http::Method;
use serde_json::Value;
use tessera_core::Role;

const KEYS: &str = "/api/v1/users/me/api_keys";

/// Create a named key as `who`; (key id, key).
async fn create_key(
    t: &TestApp,
    who: (&str, &str),
    path: &str,
    form: &[(&str, &str)],
) -> (i64, String) {
    let r = t.post(path, Some(who), form).await;
    let body = r.ok();
    (
        body["key"]["id"].as_i64().expect("key id"),
        body["api_key"].as_str().expect("api_key").to_owned(),
    )
}

/// A refusal for scope: 403 `API_KEY_SCOPE`, no Basic challenge (clients log out on 401s).
#[track_caller]
fn refused_for_scope(r: &Resp, need: &str) {
    assert_eq!(r.status.as_u16(), 403, "{}", r.text);
    assert_eq!(r.code(), "API_KEY_SCOPE", "{}", r.text);
    assert_eq!(
        r.msg(),
        format!("This API key's scope does not allow this request (it needs: {need}).")
    );
    assert_eq!(r.header("www-authenticate"), "");
}

crate::both!(scopes_are_enforced_per_route, |t: TestApp| async move {
    let (uid, _) = t.user("scoped@example.com", Role::Admin).await;
    let account_key = t
        .app
        .reveal_api_key(&t.app.user_row(uid).await.unwrap())
        .unwrap();
    let me = ("scoped@example.com", account_key.expose());
    let (_, read) = create_key(&t, me, KEYS, &[("name", "reader"), ("scope", "\"read\"")]).await;
    let (_, send) = create_key(&t, me, KEYS, &[("name", "sender"), ("scope", "send")]).await;
    let (_, read_admin) = create_key(
        &t,
        me,
        KEYS,
        &[("name", "read+admin"), ("scope", "[\"read\",\"admin\"]")],
    )
    .await;
    let (_, full) = create_key(&t, me, KEYS, &[("name", "everything")]).await;
    let email = "scoped@example.com";
    let send_msg = [
        ("type", "stream"),
        ("to", "general"),
        ("topic", "scopes"),
        ("content", "hello"),
    ];
    let rename = [("name", "\"Renamed Org\"")];

    // Read-only: reads and the event queue pass; a send and an admin change do not.
    t.get("/api/v1/users/me", Some((email, &read))).await.ok();
    t.post("/api/v1/register", Some((email, &read)), &[])
        .await
        .ok();
    let r = t
        .post("/api/v1/messages", Some((email, &read)), &send_msg)
        .await;
    refused_for_scope(&r, "send");
    let r = t.patch("/api/v1/realm", (email, &read), &rename).await;
    refused_for_scope(&r, "admin");
    // Keys are managed, and revealed, only with a full key.
    let r = t
        .post(KEYS, Some((email, &read)), &[("name", "more")])
        .await;
    refused_for_scope(&r, "full");
    let r = t.get(KEYS, Some((email, &read))).await;
    refused_for_scope(&r, "full");

    // Send-only: a send passes; a read and an admin change do not.
    t.post("/api/v1/messages", Some((email, &send)), &send_msg)
        .await
        .ok();
    let r = t.get("/api/v1/users/me", Some((email, &send))).await;
    refused_for_scope(&r, "read");
    let r = t.patch("/api/v1/realm", (email, &send), &rename).await;
    refused_for_scope(&r, "admin");

    // A list of groups; and a full named key does everything the account key does.
    t.patch("/api/v1/realm", (email, &read_admin), &rename)
        .await
        .ok();
    let r = t
        .post("/api/v1/messages", Some((email, &read_admin)), &send_msg)
        .await;
    refused_for_scope(&r, "send");
    t.post("/api/v1/messages", Some((email, &full)), &send_msg)
        .await
        .ok();
    t.get(KEYS, Some((email, &full))).await.ok();

    // The list: names, scopes and last use, never a key.
    let r = t.get(KEYS, Some(me)).await;
    let keys = r.ok()["api_keys"].as_array().unwrap().clone();
    let names: Vec<&str> = keys.iter().map(|k| k["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["everything", "read+admin", "sender", "reader"]);
    let scopes: Vec<&Value> = keys.iter().map(|k| &k["scope"]).collect();
    assert_eq!(
        scopes,
        [
            &Value::from("full"),
            &serde_json::json!(["read", "admin"]),
            &Value::from("send"),
            &Value::from("read"),
        ]
    );
    for secret in [&read, &send, &read_admin, &full] {
        assert!(
            !r.text.contains(secret.as_str()),
            "a list never carries keys"
        );
    }
    let reader = &keys[3];
    assert!(
        reader["last_used"]["timestamp"].as_i64().unwrap() > 0,
        "{reader}"
    );
    assert!(reader["expires"].is_null());
    assert_eq!(reader["created_by"], uid);
    let events: Vec<i64> = t.audit_events(uid).await.iter().map(|e| e.0).collect();
    assert_eq!(events.iter().filter(|e| **e == 9006).count(), 4);
});

crate::both!(
    revoking_one_key_leaves_the_others,
    |t: TestApp| async move {
        let (k1, first) = create_key(&t, t.owner(), KEYS, &[("name", "one")]).await;
        let (_, second) = create_key(&t, t.owner(), KEYS, &[("name", "two")]).await;
        t.get("/api/v1/users/me", Some((OWNER, &first))).await.ok();
        let r = t
            .request(
                Method::DELETE,
                &format!("{KEYS}/{k1}"),
                Some(t.owner()),
                &[],
                &[],
            )
            .await;
        r.ok();
        t.get("/api/v1/users/me", Some((OWNER, &first)))
            .await
            .unauthorized("Invalid API key");
        t.get("/api/v1/users/me", Some((OWNER, &second))).await.ok();
        t.get("/api/v1/users/me", Some(t.owner())).await.ok();
        // Another process learns of it too.
        let sibling = t.sibling();
        assert!(
            sibling
                .authenticate_api_key("", Some(OWNER), &first, false, None)
                .await
                .is_err()
        );
        // Revoking it again, or a key of nobody: a clear error, nothing changes.
        let r = t
            .request(
                Method::DELETE,
                &format!("{KEYS}/{k1}"),
                Some(t.owner()),
                &[],
                &[],
            )
            .await;
        r.error(400, "BAD_REQUEST", "No such API key");
        let r = t
            .request(
                Method::DELETE,
                &format!("{KEYS}/999999"),
                Some(t.owner()),
                &[],
                &[],
            )
            .await;
        r.error(400, "BAD_REQUEST", "No such API key");
        let names: Vec<String> = t.get(KEYS, Some(t.owner())).await.ok()["api_keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["two"]);
        let events = t.audit_events(1).await;
        assert_eq!(events.iter().filter(|e| e.0 == 9007).count(), 1);
    }
);

crate::both!(expiry_is_checked_at_the_boundary, |t: TestApp| async move {
    let now = t.app.now().div_euclid(1_000_000);
    let at = (now + 60).to_string();
    let (_, key) = create_key(&t, t.owner(), KEYS, &[("name", "brief"), ("expires", &at)]).await;
    let listed = t.get(KEYS, Some(t.owner())).await;
    assert_eq!(listed.ok()["api_keys"][0]["expires"], now + 60);
    t.clock.advance_secs(59.0);
    t.get("/api/v1/users/me", Some((OWNER, &key))).await.ok();
    t.clock.advance_secs(1.0);
    t.get("/api/v1/users/me", Some((OWNER, &key)))
        .await
        .unauthorized("This API key has expired.");
    // An expiry in the past is refused when creating.
    let past = (now - 1).to_string();
    t.post(
        KEYS,
        Some(t.owner()),
        &[("name", "old"), ("expires", &past)],
    )
    .await
    .error(400, "BAD_REQUEST", "The expiry must be in the future.");
    // The expired key is no longer listed, and its name is free again (while it was live, the
    // name was taken).
    assert!(t.key_names(t.owner()).await.is_empty());
    let (_, again) = create_key(&t, t.owner(), KEYS, &[("name", "brief")]).await;
    t.get("/api/v1/users/me", Some((OWNER, &again))).await.ok();
    t.post(KEYS, Some(t.owner()), &[("name", "brief")])
        .await
        .error(400, "BAD_REQUEST", "A key with this name already exists.");
});

crate::both!(
    regenerating_the_account_key_revokes_every_named_key,
    |t: TestApp| async move {
        let (uid, account) = t.user("rotator@example.com", Role::Member).await;
        let me = ("rotator@example.com", account.as_str());
        let (_, a) = create_key(&t, me, KEYS, &[("name", "laptop")]).await;
        let (_, b) = create_key(&t, me, KEYS, &[("name", "ci"), ("scope", "read")]).await;
        let sibling = t.sibling();
        for k in [&a, &b] {
            t.get("/api/v1/users/me", Some((me.0, k))).await.ok();
            sibling
                .authenticate_api_key("", Some(me.0), k, false, None)
                .await
                .unwrap();
        }
        let r = t
            .post("/api/v1/users/me/api_key/regenerate", Some(me), &[])
            .await;
        let new_key = r.ok()["api_key"].as_str().unwrap().to_owned();
        for k in [&a, &b, &account] {
            t.get("/api/v1/users/me", Some((me.0, k)))
                .await
                .unauthorized("Invalid API key");
        }
        t.get("/api/v1/users/me", Some((me.0, &new_key))).await.ok();
        let events: Vec<i64> = t.audit_events(uid).await.iter().map(|e| e.0).collect();
        assert_eq!(events.iter().filter(|e| **e == 9007).count(), 2);
        assert!(
            t.get(KEYS, Some((me.0, &new_key))).await.ok()["api_keys"]
                .as_array()
                .unwrap()
                .is_empty()
        );

        // A bot's named key, made by its owner, ends with the bot's key too.
        let (bot, bot_key, bot_email) = t.bot(t.owner(), "keyed", 1).await;
        let path = format!("/api/v1/bots/{bot}/api_keys");
        let (_, named) = create_key(
            &t,
            t.owner(),
            &path,
            &[("name", "deploy"), ("scope", "send")],
        )
        .await;
        let r = t.get("/api/v1/users/me", Some((&bot_email, &named))).await;
        refused_for_scope(&r, "read");
        // Someone else cannot manage it.
        let (_, other) = t.user("other@example.com", Role::Member).await;
        t.get(&path, Some(("other@example.com", &other)))
            .await
            .error(400, "BAD_REQUEST", "Insufficient permission");
        t.post(
            &format!("/api/v1/bots/{bot}/api_key/regenerate"),
            Some(t.owner()),
            &[],
        )
        .await
        .ok();
        t.get("/api/v1/users/me", Some((&bot_email, &bot_key)))
            .await
            .unauthorized("Invalid API key");
        let r = t
            .post(
                "/api/v1/messages",
                Some((&bot_email, &named)),
                &[
                    ("type", "stream"),
                    ("to", "general"),
                    ("topic", "t"),
                    ("content", "x"),
                ],
            )
            .await;
        r.unauthorized("Invalid API key");
    }
);

crate::both!(account_changes_reach_named_keys, |t: TestApp| async move {
    let (uid, account) = t.user("leaver@example.com", Role::Member).await;
    let me = ("leaver@example.com", account.as_str());
    let (_, named) = create_key(&t, me, KEYS, &[("name", "script")]).await;
    t.get("/api/v1/users/me", Some((me.0, &named))).await.ok();
    // Deactivated by another process: the cached named key follows.
    let sibling = t.sibling();
    sibling.store().set_active(uid, false, 1, 1).await.unwrap();
    t.get("/api/v1/users/me", Some((me.0, &named)))
        .await
        .unauthorized("Account is deactivated");
});

crate::both!(
    bad_key_requests_are_refused_clearly,
    |t: TestApp| async move {
        t.post(KEYS, Some(t.owner()), &[]).await.error(
            400,
            "REQUEST_VARIABLE_MISSING",
            "Missing 'name' argument",
        );
        let cases: [(&[(&str, &str)], &str); 4] = [
            (&[("name", "  ")], "Key name can't be empty."),
            (&[("name", &"n".repeat(61))], "Key name too long!"),
            (&[("name", "x"), ("scope", "write")], "Invalid scope: write"),
            (
                &[("name", "x"), ("scope", "[]")],
                "A key's scope needs at least one operation group.",
            ),
        ];
        for (form, msg) in cases {
            t.post(KEYS, Some(t.owner()), form)
                .await
                .error(400, "BAD_REQUEST", msg);
        }
        t.post(
            KEYS,
            Some(t.owner()),
            &[("name", "x"), ("expires", "\"soon\"")],
        )
        .await
        .error(400, "BAD_REQUEST", "expires is not an integer");
        create_key(&t, t.owner(), KEYS, &[("name", "twice")]).await;
        t.post(KEYS, Some(t.owner()), &[("name", "twice")])
            .await
            .error(400, "BAD_REQUEST", "A key with this name already exists.");
        t.get("/api/v1/bots/424242/api_keys", Some(t.owner()))
            .await
            .error(400, "BAD_REQUEST", "No such bot");
        // Nothing but the one good key was made.
        let keys = t.get(KEYS, Some(t.owner())).await;
        assert_eq!(keys.ok()["api_keys"].as_array().unwrap().len(), 1);
    }
);

crate::both!(
    allow_lists_refuse_other_addresses,
    |t: TestApp| async move {
        let (id, key) = create_key(
            &t,
            t.owner(),
            KEYS,
            &[
                ("name", "office"),
                ("allowed_networks", "[\"203.0.113.0/24\", \"2001:db8::1\"]"),
            ],
        )
        .await;
        let listed = t.get(KEYS, Some(t.owner())).await;
        assert_eq!(
            listed.ok()["api_keys"][0]["allowed_networks"],
            serde_json::json!(["203.0.113.0/24", "2001:db8::1"])
        );
        let from = |addr: &'static str| t.me_from(addr, (OWNER, &key));
        from("203.0.113.77:5555").await.ok();
        from("[2001:db8::1]:5555").await.ok();
        // Elsewhere: a 403 that is not a logout, audited with the key's id and the address.
        for _ in 0..3 {
            let r = from("198.51.100.1:5555").await;
            r.error(
                403,
                "API_KEY_ADDRESS",
                "This API key may not be used from this address.",
            );
            assert_eq!(r.header("www-authenticate"), "");
        }
        // From another address too.
        from("198.51.100.2:5555").await.error(
            403,
            "API_KEY_ADDRESS",
            "This API key may not be used from this address.",
        );
        let audit = t.app.store().audit_for_user(1).await.unwrap();
        let refused: Vec<&str> = audit
            .iter()
            .filter(|a| a.event_type == 9008)
            .filter_map(|a| a.extra_data.as_deref())
            .collect();
        // Written once a minute per key, however often and from wherever it is tried.
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert!(
            refused[0].contains(&format!("\"key_id\":{id}")) && refused[0].contains("198.51.100.1")
        );
        assert!(!refused[0].contains(&key));
        // No address known (no connection info): refused too.
        t.get("/api/v1/users/me", Some((OWNER, &key))).await.error(
            403,
            "API_KEY_ADDRESS",
            "This API key may not be used from this address.",
        );
        // The account key is not limited.
        t.get("/api/v1/users/me", Some(t.owner())).await.ok();
        // Bad lists are refused and nothing is made.
        for (raw, msg) in [
            (
                "[\"10.0.0.0/33\"]",
                "Invalid address or network: 10.0.0.0/33",
            ),
            ("example.com", "Invalid address or network: example.com"),
            ("[1]", "allowed_networks is not a list of strings"),
        ] {
            t.post(
                KEYS,
                Some(t.owner()),
                &[("name", "bad"), ("allowed_networks", raw)],
            )
            .await
            .error(400, "BAD_REQUEST", msg);
        }
        let keys = t.get(KEYS, Some(t.owner())).await;
        assert_eq!(keys.ok()["api_keys"].as_array().unwrap().len(), 1);
    }
);

/// Behind a trusted reverse proxy, the client's address comes from `X-Forwarded-For`; from
/// anyone else the header is ignored.
mod allow_lists_behind_a_trusted_proxy {
    use super::*;

    async fn check(engine: tessera_store::Engine) {
        let t = TestApp::with_config(engine, |c| {
            c.trusted_proxies = tessera_core::Networks::parse("127.0.0.1").unwrap();
        })
        .await;
        let (_, key) = create_key(
            &t,
            t.owner(),
            KEYS,
            &[("name", "ci"), ("allowed_networks", "192.0.2.10")],
        )
        .await;
        let call = |peer: &'static str, forwarded: &'static str| {
            let t = &t;
            let key = key.clone();
            async move {
                t.request_at(
                    Some(peer.parse().unwrap()),
                    Method::GET,
                    "/api/v1/users/me",
                    Some((OWNER, &key)),
                    &[],
                    &[("x-forwarded-for", forwarded)],
                )
                .await
            }
        };
        // Through the proxy: the client it names (a spoofed first hop does not count), also
        // written with a port.
        call("127.0.0.1:40000", "198.51.100.9, 192.0.2.10")
            .await
            .ok();
        call("127.0.0.1:40000", "198.51.100.9, 192.0.2.10:4444")
            .await
            .ok();
        // What is left of an entry that is not an address is not believed.
        call("127.0.0.1:40000", "192.0.2.10, unknown").await.error(
            403,
            "API_KEY_ADDRESS",
            "This API key may not be used from this address.",
        );
        call("127.0.0.1:40000", "192.0.2.10, 198.51.100.9")
            .await
            .error(
                403,
                "API_KEY_ADDRESS",
                "This API key may not be used from this address.",
            );
        // Straight from elsewhere, a forged header changes nothing.
        call("198.51.100.9:40000", "192.0.2.10").await.error(
            403,
            "API_KEY_ADDRESS",
            "This API key may not be used from this address.",
        );
    }

    #[tokio::test]
    async fn sqlite() {
        check(tessera_store::Engine::Sqlite).await;
    }

    #[tokio::test]
    async fn postgres() {
        if std::env::var("TEST_DATABASE_URL").is_ok() {
            check(tessera_store::Engine::Postgres).await;
        }
    }
}

crate::both!(
    the_organization_bounds_key_lifetimes,
    |t: TestApp| async move {
        let (_, member) = t.user("member@example.com", Role::Member).await;
        // Only administrators set it; it is audited and is not announced to clients.
        t.patch(
            "/api/v1/realm",
            ("member@example.com", &member),
            &[("max_api_key_lifetime_days", "30")],
        )
        .await
        .error(
            400,
            "UNAUTHORIZED_PRINCIPAL",
            "Must be an organization administrator",
        );
        let queue = t.register_queue(t.owner(), "[\"realm\"]").await;
        let r = t
            .patch(
                "/api/v1/realm",
                t.owner(),
                &[("max_api_key_lifetime_days", "30")],
            )
            .await;
        assert_eq!(r.ok()["max_api_key_lifetime_days"], 30);
        assert!(
            t.queued_events(t.owner(), &queue)
                .await
                .iter()
                .all(|e| e["type"] != "realm")
        );
        let audit = t
            .app
            .store()
            .audit_for_realm(1, tessera_store::AuditEvent::RealmPropertyChanged)
            .await
            .unwrap();
        assert!(audit.iter().any(|a| {
            a.acting_user_id == Some(1)
                && a.extra_data
                    .as_deref()
                    .is_some_and(|e| e.contains("max_api_key_lifetime_days"))
        }));
        let listed = t.get(KEYS, Some(t.owner())).await;
        assert_eq!(listed.ok()["max_lifetime_days"], 30);
        let now = t.app.now().div_euclid(1_000_000);
        let within = (now + 30 * 86_400).to_string();
        let beyond = (now + 31 * 86_400).to_string();
        t.post(KEYS, Some(t.owner()), &[("name", "forever")])
            .await
            .error(
                400,
                "BAD_REQUEST",
                "This organization's API keys must expire within 30 days.",
            );
        t.post(
            KEYS,
            Some(t.owner()),
            &[("name", "long"), ("expires", &beyond)],
        )
        .await
        .error(
            400,
            "BAD_REQUEST",
            "This organization's API keys must expire within 30 days.",
        );
        create_key(
            &t,
            t.owner(),
            KEYS,
            &[("name", "month"), ("expires", &within)],
        )
        .await;
        // Back to no limit.
        t.patch(
            "/api/v1/realm",
            t.owner(),
            &[("max_api_key_lifetime_days", "\"unlimited\"")],
        )
        .await
        .ok();
        create_key(&t, t.owner(), KEYS, &[("name", "forever")]).await;
        t.patch(
            "/api/v1/realm",
            t.owner(),
            &[("max_api_key_lifetime_days", "0")],
        )
        .await
        .error(
            400,
            "BAD_REQUEST",
            "Bad value for 'max_api_key_lifetime_days': 0",
        );
        t.patch(
            "/api/v1/realm",
            t.owner(),
            &[("api_key_per_login", "\"yes\"")],
        )
        .await
        .error(400, "BAD_REQUEST", "api_key_per_login is not a boolean");
    }
);

crate::both!(
    owners_are_reminded_a_week_before_expiry,
    |t: TestApp| async move {
        let now = t.app.now().div_euclid(1_000_000);
        let day = 86_400;
        let at = |d: i64| (now + d * day).to_string();
        create_key(
            &t,
            t.owner(),
            KEYS,
            &[("name", "in ten days"), ("expires", &at(10))],
        )
        .await;
        create_key(
            &t,
            t.owner(),
            KEYS,
            &[("name", "in a year"), ("expires", &at(365))],
        )
        .await;
        let (bot, _, _) = t.bot(t.owner(), "reminded", 1).await;
        create_key(
            &t,
            t.owner(),
            &format!("/api/v1/bots/{bot}/api_keys"),
            &[("name", "bot deploy"), ("expires", &at(8))],
        )
        .await;
        let reminders = |t: &TestApp| {
            tessera_app::read_outbox(t.outbox.path())
                .into_iter()
                .filter(|m| m.subject.contains("expires soon"))
                .collect::<Vec<_>>()
        };
        assert_eq!(t.app.send_key_expiry_reminders().await.unwrap(), 0);
        // A day later the bot's key (8 days out at first) is inside the week.
        t.clock.advance_secs((day + 1) as f64);
        assert_eq!(t.app.send_key_expiry_reminders().await.unwrap(), 1);
        let mails = reminders(&t);
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].to, OWNER);
        assert!(
            mails[0].subject.contains("bot deploy"),
            "{}",
            mails[0].subject
        );
        assert!(
            mails[0].body.contains("of your bot") && mails[0].body.contains("/settings/your-bots")
        );
        // Three days later the person's key is inside the week; each is reminded once.
        t.clock.advance_secs((3 * day) as f64);
        assert_eq!(t.app.send_key_expiry_reminders().await.unwrap(), 1);
        assert_eq!(t.app.send_key_expiry_reminders().await.unwrap(), 0);
        let mails = reminders(&t);
        assert_eq!(mails.len(), 2);
        let mine = mails
            .iter()
            .find(|m| m.subject.contains("in ten days"))
            .unwrap();
        assert!(mine.body.contains("/settings/account-and-privacy"));
        // A revoked key is never reminded of.
        let soon = (t.app.now().div_euclid(1_000_000) + 2 * day).to_string();
        let (revoked, _) =
            create_key(&t, t.owner(), KEYS, &[("name", "gone"), ("expires", &soon)]).await;
        t.delete(&format!("{KEYS}/{revoked}"), Some(t.owner()))
            .await
            .ok();
        assert_eq!(t.app.send_key_expiry_reminders().await.unwrap(), 0);
    }
);

crate::both!(
    the_web_ui_creates_keys_with_the_password,
    |t: TestApp| async move {
        let mut b = Browser::new(&t);
        b.login(OWNER, PASSWORD).await;
        b.get("/settings/account-and-privacy").await;
        let path = "/json/users/me/api_keys";
        // A session alone does not make a key: the password is re-entered, as for the
        // account key.
        b.json(Method::POST, path, &[("name", "web")]).await.error(
            400,
            "BAD_REQUEST",
            "Please enter your password.",
        );
        b.json(
            Method::POST,
            path,
            &[("name", "web"), ("password", "wrong-one")],
        )
        .await
        .error(400, "BAD_REQUEST", "Password is incorrect.");
        let r = b
            .json(
                Method::POST,
                path,
                &[
                    ("name", "web"),
                    ("scope", "\"read\""),
                    ("password", PASSWORD),
                ],
            )
            .await;
        let key = r.ok()["api_key"].as_str().unwrap().to_owned();
        t.get("/api/v1/users/me", Some((OWNER, &key))).await.ok();
        let page = b.get("/settings/account-and-privacy").await;
        assert!(page.text.contains("class=\"named_key\""), "listed");
        assert!(page.text.contains("Read only"));
        assert!(!page.text.contains(&key), "the key is never shown again");
        let keys = b.json(Method::GET, path, &[]).await;
        assert_eq!(keys.ok()["api_keys"].as_array().unwrap().len(), 1);
    }
);

crate::both!(
    only_administrators_see_the_key_policy_tab,
    |t: TestApp| async move {
        t.patch(
            "/api/v1/realm",
            t.owner(),
            &[("max_api_key_lifetime_days", "90")],
        )
        .await
        .ok();
        let mut owner = Browser::new(&t);
        owner.login(OWNER, PASSWORD).await;
        let page = owner.get("/settings/api-key-policy").await;
        assert_eq!(page.status, 200);
        assert!(
            page.text
                .contains(r#"<option value="90" selected>90 days</option>"#)
        );
        assert!(page.text.contains(r#"id="api_key_per_login" checked"#));
        // (People made by `user` have the test password.)
        t.user("plain@example.com", Role::Member).await;
        let mut member = Browser::new(&t);
        member.login("plain@example.com", PASSWORD).await;
        let r = member.get("/settings/api-key-policy").await;
        assert_eq!(r.status, 302, "{}", r.text);
        assert_eq!(r.header("location"), "/settings/account-and-privacy");
        let page = member.get("/settings/account-and-privacy").await;
        assert!(!page.text.contains("tab_api_key_policy"));
    }
);

crate::both!(
    keys_of_a_webhook_bot_only_for_its_owner,
    |t: TestApp| async move {
        // An incoming-webhook bot of a member: administrators may not see its key (D2), so
        // they may not make one either; they may still list and revoke its keys.
        let (_, member) = t.user("hooks@example.com", Role::Member).await;
        let (bot, _, _) = t.bot(("hooks@example.com", &member), "hook", 2).await;
        let path = format!("/api/v1/bots/{bot}/api_keys");
        t.post(&path, Some(t.owner()), &[("name", "admin's")])
            .await
            .error(400, "BAD_REQUEST", "Insufficient permission");
        let (id, _) = create_key(
            &t,
            ("hooks@example.com", &member),
            &path,
            &[("name", "owner's"), ("scope", "send")],
        )
        .await;
        let listed = t.get(&path, Some(t.owner())).await;
        assert_eq!(listed.ok()["api_keys"][0]["id"], id);
        t.delete(&format!("{path}/{id}"), Some(t.owner()))
            .await
            .ok();
    }
);

crate::both!(
    keys_made_with_a_named_key_stay_within_it,
    |t: TestApp| async move {
        let now = t.app.now().div_euclid(1_000_000);
        let ten_days = (now + 10 * 86_400).to_string();
        let (maker_id, maker) = create_key(
            &t,
            t.owner(),
            KEYS,
            &[
                ("name", "maker"),
                ("expires", &ten_days),
                ("allowed_networks", "10.0.0.0/8"),
            ],
        )
        .await;
        let make = |form: Vec<(&'static str, String)>| {
            let t = &t;
            let maker = maker.clone();
            async move {
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                t.request_at(
                    Some("10.1.2.3:5000".parse().unwrap()),
                    Method::POST,
                    KEYS,
                    Some((OWNER, &maker)),
                    &form,
                    &[],
                )
                .await
            }
        };
        // Nothing asked: the maker's expiry and networks. Later or wider: refused or capped.
        let plain = make(vec![("name", "plain".into())]).await;
        let plain = plain.ok()["key"].clone();
        assert_eq!(plain["expires"], now + 10 * 86_400);
        assert_eq!(plain["allowed_networks"], serde_json::json!(["10.0.0.0/8"]));
        let later = (now + 20 * 86_400).to_string();
        let capped = make(vec![("name", "later".into()), ("expires", later)]).await;
        let capped = capped.ok()["key"].clone();
        assert_eq!(capped["expires"], now + 10 * 86_400);
        let sooner = (now + 86_400).to_string();
        let soon = make(vec![("name", "sooner".into()), ("expires", sooner)]).await;
        assert_eq!(soon.ok()["key"]["expires"], now + 86_400);
        let narrower = make(vec![
            ("name", "narrower".into()),
            ("allowed_networks", "10.9.0.0/16".into()),
        ])
        .await;
        let narrower = narrower.ok()["api_key"].as_str().unwrap().to_owned();
        make(vec![
            ("name", "wider".into()),
            ("allowed_networks", "0.0.0.0/0".into()),
        ])
        .await
        .error(
            400,
            "BAD_REQUEST",
            "This key may only make keys limited to its own allowed networks.",
        );
        // Revoking the maker ends what it made; a key made with the account key stays.
        let (_, own) = create_key(&t, t.owner(), KEYS, &[("name", "own")]).await;
        t.delete(&format!("{KEYS}/{maker_id}"), Some(t.owner()))
            .await
            .ok();
        t.me_from("10.9.0.1:5000", (OWNER, &narrower))
            .await
            .unauthorized("Invalid API key");
        assert_eq!(t.key_names(t.owner()).await, ["own"]);
        t.get("/api/v1/users/me", Some((OWNER, &own))).await.ok();
    }
);
