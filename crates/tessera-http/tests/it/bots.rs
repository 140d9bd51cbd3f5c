//! Bot endpoints and the bot-key rules (decisions D2, D5).

use crate::both;
use crate::helpers::*;
use axum::http::Method;
use tessera_core::Role;

both!(create_list_and_reveal, |t: TestApp| async move {
    let r = t
        .post(
            "/api/v1/bots",
            Some(t.owner()),
            &[("full_name", "Cookie Bot"), ("short_name", "cookie")],
        )
        .await;
    let b = r.ok().clone();
    let id = b["user_id"].as_i64().unwrap();
    let key = b["api_key"].as_str().unwrap().to_owned();
    for field in [
        "avatar_url",
        "default_sending_stream",
        "default_events_register_stream",
        "default_all_public_streams",
    ] {
        assert!(b.get(field).is_some(), "{field} missing: {b}");
    }
    let bot = t.app.user_row(id).await.unwrap();
    assert_eq!(bot.email, "cookie-bot@tessera.test");
    assert_eq!(bot.bot_owner_id, Some(1));
    assert_eq!(t.audit_events(id).await, vec![(101, Some(1))]);
    // The bot authenticates with its key.
    let me = t
        .get("/api/v1/users/me", Some(("cookie-bot@tessera.test", &key)))
        .await;
    assert_eq!(me.ok()["bot_type"], 1);
    assert_eq!(me.body["bot_owner_id"], 1);
    // A new bot is subscribed to nothing: Zulip adds the default channels to people only.
    let subs = t
        .get(
            "/api/v1/users/me/subscriptions",
            Some(("cookie-bot@tessera.test", &key)),
        )
        .await;
    assert_eq!(
        subs.ok()["subscriptions"],
        serde_json::json!([]),
        "{}",
        subs.text
    );
    // Listing never carries keys.
    let list = t.get("/api/v1/bots", Some(t.owner())).await;
    assert_eq!(list.ok()["bots"][0]["username"], "cookie-bot@tessera.test");
    assert!(
        !list.text.contains(&key) && !list.text.contains("api_key"),
        "{}",
        list.text
    );
    // The owner reveals it on demand.
    let r = t
        .get(&format!("/api/v1/bots/{id}/api_key"), Some(t.owner()))
        .await;
    assert_eq!(r.ok()["api_key"], key.as_str());
});

both!(who_may_see_a_bot_key, |t: TestApp| async move {
    let (_, member_key) = t.user("member@tessera.test", Role::Member).await;
    let member = ("member@tessera.test", member_key.as_str());
    let (_, admin_key) = t.user("admin@tessera.test", Role::Admin).await;
    let admin = ("admin@tessera.test", admin_key.as_str());
    let (generic, _, _) = t.bot(member, "gen", 1).await;
    let (incoming, _, _) = t.bot(member, "inc", 2).await;
    let (outgoing, _, _) = t.bot(member, "out", 3).await;
    // Owner: every type.
    for id in [generic, incoming, outgoing] {
        t.get(&format!("/api/v1/bots/{id}/api_key"), Some(member))
            .await
            .ok();
    }
    // Administrator: generic bots only.
    t.get(&format!("/api/v1/bots/{generic}/api_key"), Some(admin))
        .await
        .ok();
    for id in [incoming, outgoing] {
        t.get(&format!("/api/v1/bots/{id}/api_key"), Some(admin))
            .await
            .error(400, "BAD_REQUEST", "Insufficient permission");
    }
    // Another member: nothing.
    let (_, other_key) = t.user("other@tessera.test", Role::Member).await;
    let other = ("other@tessera.test", other_key.as_str());
    t.get(&format!("/api/v1/bots/{generic}/api_key"), Some(other))
        .await
        .error(400, "BAD_REQUEST", "Insufficient permission");
    t.get("/api/v1/bots/99999/api_key", Some(member))
        .await
        .error(400, "BAD_REQUEST", "No such bot");
    t.get("/api/v1/bots/1/api_key", Some(member))
        .await
        .error(400, "BAD_REQUEST", "No such bot");
    t.get("/api/v1/bots/abc/api_key", Some(member))
        .await
        .error(404, "BAD_REQUEST", "Not Found");
});

both!(regenerating_bot_keys, |t: TestApp| async move {
    let (member_id, member_key) = t.user("member@tessera.test", Role::Member).await;
    let member = ("member@tessera.test", member_key.as_str());
    let (out, out_key, out_email) = t.bot(member, "out", 3).await;
    // Owner: gets the new key; the old one is refused at once.
    let r = t
        .post(
            &format!("/api/v1/bots/{out}/api_key/regenerate"),
            Some(member),
            &[],
        )
        .await;
    let new_key = r.ok()["api_key"].as_str().unwrap().to_owned();
    t.get("/api/v1/users/me", Some((&out_email, &out_key)))
        .await
        .unauthorized("Invalid API key");
    t.get("/api/v1/users/me", Some((&out_email, &new_key)))
        .await
        .ok();
    assert_eq!(
        t.audit_events(out).await.last(),
        Some(&(127, Some(member_id)))
    );
    // An administrator may revoke it but is not shown the new key (D5).
    let r = t
        .post(
            &format!("/api/v1/bots/{out}/api_key/regenerate"),
            Some(t.owner()),
            &[],
        )
        .await;
    assert!(r.ok().get("api_key").is_none(), "{}", r.text);
    t.get("/api/v1/users/me", Some((&out_email, &new_key)))
        .await
        .unauthorized("Invalid API key");
    assert_eq!(t.audit_events(out).await.last(), Some(&(127, Some(1))));
    // Another member may not.
    let (_, other_key) = t.user("other@tessera.test", Role::Member).await;
    t.post(
        &format!("/api/v1/bots/{out}/api_key/regenerate"),
        Some(("other@tessera.test", &other_key)),
        &[],
    )
    .await
    .error(400, "BAD_REQUEST", "Insufficient permission");
});

both!(creation_errors, |t: TestApp| async move {
    let o = Some(t.owner());
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("short_name", "x")], "Missing 'full_name' argument"),
        (&[("full_name", "Abc")], "Missing 'short_name' argument"),
        (
            &[("full_name", "A"), ("short_name", "x")],
            "Name too short!",
        ),
        (
            &[("full_name", "A*b"), ("short_name", "x")],
            "Invalid characters in name!",
        ),
        (
            &[("full_name", "Abc"), ("short_name", "  ")],
            "Bad name or username",
        ),
        (
            &[("full_name", "Abc"), ("short_name", "a b")],
            "Bad name or username",
        ),
        (
            &[("full_name", "Abc"), ("short_name", "x"), ("bot_type", "9")],
            "Invalid bot type",
        ),
        (
            &[
                ("full_name", "Abc"),
                ("short_name", "x"),
                ("bot_type", "one"),
            ],
            "bot_type is not valid JSON",
        ),
        (
            &[
                ("full_name", "Abc"),
                ("short_name", "x"),
                ("bot_type", "true"),
            ],
            "bot_type is not an integer",
        ),
        (
            &[
                ("full_name", "Abc"),
                ("short_name", "x"),
                ("interface_type", "3"),
            ],
            "Invalid interface type",
        ),
        (
            &[
                ("full_name", "Abc"),
                ("short_name", "x"),
                ("bot_type", "4"),
                ("service_name", "nope"),
            ],
            "Invalid embedded bot name.",
        ),
        (
            &[
                ("full_name", "Abc"),
                ("short_name", "x"),
                ("bot_type", "3"),
                ("payload_url", "\"ftp:x\""),
            ],
            "payload_url is not a URL",
        ),
    ];
    for (form, msg) in cases {
        let r = t.post("/api/v1/bots", o, form).await;
        assert_eq!(r.status.as_u16(), 400, "{form:?}: {}", r.text);
        assert_eq!(r.msg(), *msg, "{form:?}");
    }
    t.bot(t.owner(), "dup", 1).await;
    t.post(
        "/api/v1/bots",
        o,
        &[("full_name", "Other"), ("short_name", "dup")],
    )
    .await
    .error(400, "BAD_REQUEST", "Username already in use");
    // The addresses of tessera's own bots are taken.
    for short in ["notification", "welcome"] {
        t.post(
            "/api/v1/bots",
            o,
            &[("full_name", "Impostor"), ("short_name", short)],
        )
        .await
        .error(400, "BAD_REQUEST", "Username already in use");
    }
    t.post(
        "/api/v1/bots",
        o,
        &[("full_name", "dup bot"), ("short_name", "dup2")],
    )
    .await
    .error(400, "BAD_REQUEST", "Name is already in use.");
    // Nothing half-written: only the one bot exists.
    assert_eq!(
        t.app.store().bots_owned_by(1, false).await.unwrap().len(),
        1
    );
});

both!(who_may_create_bots, |t: TestApp| async move {
    let (_, guest_key) = t.user("guest@tessera.test", Role::Guest).await;
    t.post(
        "/api/v1/bots",
        Some(("guest@tessera.test", &guest_key)),
        &[("full_name", "Abc"), ("short_name", "g")],
    )
    .await
    .error(400, "BAD_REQUEST", "Not allowed for guest users");
    let (_, key, email) = t.bot(t.owner(), "maker", 1).await;
    t.post(
        "/api/v1/bots",
        Some((&email, &key)),
        &[("full_name", "Abc"), ("short_name", "b")],
    )
    .await
    .error(
        400,
        "BAD_REQUEST",
        "This endpoint does not accept bot requests.",
    );
});

both!(patch_delete_reactivate, |t: TestApp| async move {
    let (_, member_key) = t.user("member@tessera.test", Role::Member).await;
    let member = ("member@tessera.test", member_key.as_str());
    let (id, key, email) = t.bot(member, "pb", 3).await;
    let r = t
        .request(
            Method::PATCH,
            &format!("/api/v1/bots/{id}"),
            Some(member),
            &[("full_name", "Renamed Bot"), ("bot_owner_id", "1")],
            &[],
        )
        .await;
    let b = r.ok();
    assert_eq!(b["full_name"], "Renamed Bot");
    assert_eq!(b["bot_owner"], OWNER);
    let events: Vec<i64> = t.audit_events(id).await.into_iter().map(|e| e.0).collect();
    assert_eq!(events, vec![101, 124, 128]);
    // The old owner no longer manages it.
    t.delete(&format!("/api/v1/bots/{id}"), Some(member))
        .await
        .error(400, "BAD_REQUEST", "Insufficient permission");
    t.request(
        Method::PATCH,
        &format!("/api/v1/bots/{id}"),
        Some(t.owner()),
        &[("bot_owner_id", "999")],
        &[],
    )
    .await
    .error(400, "BAD_REQUEST", "Failed to change owner, no such user");
    t.delete(&format!("/api/v1/bots/{id}"), Some(t.owner()))
        .await
        .ok();
    t.get("/api/v1/users/me", Some((&email, &key)))
        .await
        .unauthorized("Account is deactivated");
    t.post(
        &format!("/api/v1/users/{id}/reactivate"),
        Some(t.owner()),
        &[],
    )
    .await
    .ok();
    t.get("/api/v1/users/me", Some((&email, &key))).await.ok();
    t.post(&format!("/api/v1/users/{id}/reactivate"), Some(member), &[])
        .await
        .error(400, "BAD_REQUEST", "Insufficient permission");
});

both!(bot_zuliprc, |t: TestApp| async move {
    let (id, key, email) = t.bot(t.owner(), "rc", 3).await;
    let r = t
        .get(&format!("/api/v1/bots/{id}/zuliprc"), Some(t.owner()))
        .await;
    assert_eq!(r.status.as_u16(), 200);
    assert_eq!(
        r.header("content-disposition"),
        "attachment; filename=\"zuliprc\""
    );
    let token_line = r.text.lines().nth(4).unwrap_or("").to_owned();
    assert!(
        token_line.starts_with("token=") && token_line.len() == 38,
        "{}",
        r.text
    );
    assert_eq!(
        r.text,
        format!("[api]\nemail={email}\nkey={key}\nsite={SITE}\n{token_line}\n")
    );
    let (gid, gkey, gemail) = t.bot(t.owner(), "rc2", 1).await;
    let user = t.app.user_row(gid).await.unwrap();
    assert_eq!(
        t.app.zuliprc_for(&user).await.unwrap(),
        format!("[api]\nemail={gemail}\nkey={gkey}\nsite={SITE}\n")
    );
});

both!(
    system_bots_are_not_the_organizations,
    |t: TestApp| async move {
        let users = t.get("/api/v1/users", Some(t.owner())).await;
        let welcome = users.ok()["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["email"].as_str().unwrap().starts_with("welcome-bot@"))
            .map(|u| u["user_id"].as_i64().unwrap())
            .expect("Welcome Bot exists");
        // The owner can neither read nor replace its key, nor deactivate it.
        for (method, path) in [
            (Method::GET, format!("/api/v1/bots/{welcome}/api_key")),
            (
                Method::POST,
                format!("/api/v1/bots/{welcome}/api_key/regenerate"),
            ),
            (Method::GET, format!("/api/v1/bots/{welcome}/zuliprc")),
            (Method::DELETE, format!("/api/v1/bots/{welcome}")),
        ] {
            t.request(method, &path, Some(t.owner()), &[], &[])
                .await
                .error(400, "BAD_REQUEST", "No such bot");
        }
        // The owner's All bots page does not list it.
        let mut b = Browser::new(&t);
        assert_eq!(b.login(OWNER, PASSWORD).await.status, 302);
        let page = b.get("/settings/all-bots").await;
        assert_eq!(page.status, 200);
        assert!(!page.text.contains("Welcome Bot"), "{}", page.text);
        assert!(!page.text.contains("welcome-bot@"));
    }
);
