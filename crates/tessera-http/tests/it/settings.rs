//! `PATCH /settings`: personal settings are checked, stored, read back by `register`, audited
//! and announced (`user_settings`, the legacy events for queues without the
//! `user_settings_object` capability, `realm_user` for a name or time zone).

use crate::both;
use crate::helpers::TestApp;
use axum::http::Method;
use serde_json::{Value, json};
use tessera_core::Role;

const MEMBER: &str = "settings-member@tessera.test";

async fn register(t: &TestApp, who: (&str, &str), settings_object: bool) -> Value {
    let caps = format!(r#"{{"user_settings_object":{settings_object}}}"#);
    t.post(
        "/api/v1/register",
        Some(who),
        &[("client_capabilities", caps.as_str())],
    )
    .await
    .ok()
    .clone()
}

async fn patch(t: &TestApp, who: (&str, &str), form: &[(&str, &str)]) -> crate::helpers::Resp {
    t.request(Method::PATCH, "/api/v1/settings", Some(who), form, &[])
        .await
}

both!(settings_are_stored_and_announced, |t: TestApp| async move {
    let (id, key) = t.user(MEMBER, Role::Member).await;
    let me = (MEMBER, key.as_str());
    let modern = register(&t, me, true).await;
    let legacy = register(&t, me, false).await;
    let owner_queue = register(&t, t.owner(), true).await;
    assert_eq!(modern["user_settings"]["emojiset"], "google");

    let r = patch(
        &t,
        me,
        &[
            ("twenty_four_hour_time", "true"),
            ("emojiset", "twitter"),
            ("default_language", "de"),
            ("timezone", "Europe/Berlin"),
            ("web_font_size_px", "16"),
            ("enable_sounds", "false"),
            ("dense_mode", "true"), // already the default: no event
            ("not_a_setting", "1"),
        ],
    )
    .await;
    assert_eq!(
        r.ok()["ignored_parameters_unsupported"],
        json!(["not_a_setting"])
    );

    // Read back, by register and by the user list.
    let after = register(&t, me, true).await;
    let s = &after["user_settings"];
    assert_eq!(s["twenty_four_hour_time"], true);
    assert_eq!(s["emojiset"], "twitter");
    assert_eq!(s["default_language"], "de");
    assert_eq!(s["timezone"], "Europe/Berlin");
    assert_eq!(s["web_font_size_px"], 16);
    assert_eq!(s["enable_sounds"], false);
    let flat = register(&t, me, false).await;
    assert_eq!(flat["emojiset"], "twitter");
    assert_eq!(flat["enable_sounds"], false);
    let users = t.get("/api/v1/users", Some(t.owner())).await;
    let person = users.ok()["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user_id"] == id)
        .unwrap()
        .clone();
    assert_eq!(person["timezone"], "Europe/Berlin");

    // Events: user_settings for each change, in Zulip's order of the settings; a realm_user update for the
    // time zone; the legacy events only where the capability is missing.
    let update = |p: &str, v: Value| json!({"type": "user_settings", "op": "update", "property": p, "value": v});
    let tz_person = json!({"type": "realm_user", "op": "update",
                           "person": {"user_id": id, "timezone": "Europe/Berlin"}});
    let mut language = update("default_language", json!("de"));
    language["language_name"] = json!("Deutsch");
    let got = t
        .queued_events(me, modern["queue_id"].as_str().unwrap())
        .await;
    assert_eq!(
        got,
        vec![
            update("twenty_four_hour_time", json!(true)),
            update("web_font_size_px", json!(16)),
            language,
            update("emojiset", json!("twitter")),
            update("timezone", json!("Europe/Berlin")),
            tz_person.clone(),
            update("enable_sounds", json!(false)),
        ]
    );
    let got = t
        .queued_events(me, legacy["queue_id"].as_str().unwrap())
        .await;
    let kinds: Vec<&str> = got.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        vec![
            "user_settings",
            "update_display_settings",
            "user_settings",
            "user_settings",
            "update_display_settings",
            "user_settings",
            "update_display_settings",
            "user_settings",
            "update_display_settings",
            "realm_user",
            "user_settings",
            "update_global_notifications",
        ]
    );
    assert_eq!(
        got[1],
        json!({"type": "update_display_settings", "user": MEMBER,
               "setting_name": "twenty_four_hour_time", "setting": true})
    );
    assert_eq!(got[4]["language_name"], "Deutsch");
    assert_eq!(
        got[11],
        json!({"type": "update_global_notifications", "user": MEMBER,
               "notification_name": "enable_sounds", "setting": false})
    );
    // Others hear only about the time zone.
    assert_eq!(
        t.queued_events(t.owner(), owner_queue["queue_id"].as_str().unwrap())
            .await,
        vec![tz_person]
    );
    // One audit row per change (USER_SETTING_CHANGED).
    let audited = t
        .audit_events(id)
        .await
        .iter()
        .filter(|e| e.0 == 132)
        .count();
    assert_eq!(audited, 6);

    // Setting a value it already has changes nothing and announces nothing.
    patch(&t, me, &[("emojiset", "twitter")]).await.ok();
    assert!(
        t.queued_events(me, modern["queue_id"].as_str().unwrap())
            .await
            .len()
            == 7
    );
});

both!(bad_settings_change_nothing, |t: TestApp| async move {
    let (_, key) = t.user(MEMBER, Role::Member).await;
    let me = (MEMBER, key.as_str());
    let cases: [(&[(&str, &str)], &str); 7] = [
        (
            &[("twenty_four_hour_time", "true"), ("emojiset", "comic")],
            "Invalid emojiset",
        ),
        (&[("enter_sends", "1")], "enter_sends is not a boolean"),
        (&[("color_scheme", "9")], "Invalid color_scheme"),
        (&[("default_language", "xx")], "Invalid default_language"),
        (
            &[("notification_sound", "boing")],
            "Invalid notification sound 'boing'",
        ),
        (
            &[("email_notifications_batching_period_seconds", "0")],
            "Invalid email batching period: 0 seconds",
        ),
        (
            &[("full_name", "X"), ("twenty_four_hour_time", "true")],
            "Name too short!",
        ),
    ];
    for (form, msg) in cases {
        patch(&t, me, form).await.error(400, "BAD_REQUEST", msg);
    }
    let state = register(&t, me, true).await;
    assert_eq!(state["user_settings"]["twenty_four_hour_time"], false);
    assert_eq!(state["user_settings"]["emojiset"], "google");
    // A wrong old password stops the whole request, the settings beside it included.
    patch(
        &t,
        me,
        &[
            ("old_password", "not-it"),
            ("new_password", "a-New-passw0rd-here"),
            ("emojiset", "text"),
        ],
    )
    .await
    .error(400, "BAD_REQUEST", "Wrong password!");
    let state = register(&t, me, true).await;
    assert_eq!(state["user_settings"]["emojiset"], "google");
    // Bots have no personal settings (Zulip's `human_users_only`).
    let (_, bot_key, bot_email) = t.bot(t.owner(), "settings", 1).await;
    patch(&t, (&bot_email, &bot_key), &[("emojiset", "text")])
        .await
        .error(
            400,
            "BAD_REQUEST",
            "This endpoint does not accept bot requests.",
        );
});

both!(full_name_change_is_announced, |t: TestApp| async move {
    let (id, key) = t.user(MEMBER, Role::Member).await;
    let me = (MEMBER, key.as_str());
    let owner_queue = register(&t, t.owner(), true).await;
    patch(&t, me, &[("full_name", "  Renamed Person ")])
        .await
        .ok();
    let profile = t.get("/api/v1/users/me", Some(me)).await;
    assert_eq!(profile.ok()["full_name"], "Renamed Person");
    assert_eq!(
        t.queued_events(t.owner(), owner_queue["queue_id"].as_str().unwrap())
            .await,
        vec![json!({"type": "realm_user", "op": "update",
                    "person": {"user_id": id, "full_name": "Renamed Person"}})]
    );
    assert!(t.audit_events(id).await.iter().any(|e| e.0 == 124));
});

both!(
    password_change_from_the_api_ends_every_session,
    |t: TestApp| async move {
        use crate::helpers::{Browser, PASSWORD};
        let (_, key) = t.user(MEMBER, Role::Member).await;
        let me = (MEMBER, key.as_str());
        let mut browser = Browser::new(&t);
        browser.login(MEMBER, PASSWORD).await;
        assert_eq!(
            browser.get("/settings/account-and-privacy").await.status,
            200
        );
        patch(
            &t,
            me,
            &[
                ("old_password", PASSWORD),
                ("new_password", "an-API-Chosen-passw0rd"),
            ],
        )
        .await
        .ok();
        // No web session came with the request, so none is kept.
        assert_eq!(
            browser.get("/settings/account-and-privacy").await.status,
            302
        );
        // The key is unchanged (Zulip's API never rotates it here).
        t.get("/api/v1/users/me", Some(me)).await.ok();
    }
);
