//! A key per app login (tessera's own, on by default): each `fetch_api_key` login gets its own
//! device key; signing one device out revokes that key and its push registrations only; a new
//! account key ("Generate new API key", "Log out everywhere") revokes them all.

use crate::both;
use crate::helpers::*;
use axum::http::Method;
use serde_json::Value;

const KEYS: &str = "/api/v1/users/me/api_keys";

/// The id of the listed device key named `name`.
async fn device_id(t: &TestApp, name: &str) -> i64 {
    let r = t.get(KEYS, Some(t.owner())).await;
    r.ok()["api_keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "device" && k["name"] == name)
        .and_then(|k| k["id"].as_i64())
        .unwrap_or_else(|| panic!("no device {name}: {}", r.text))
}

/// `GET /users/me` with `key`, as the Android app from `peer`.
async fn phone_call(t: &TestApp, key: &str, peer: &str) {
    t.request_at(
        Some(peer.parse().unwrap()),
        Method::GET,
        "/api/v1/users/me",
        Some((OWNER, key)),
        &[],
        &[("user-agent", "ZulipMobile/27.200 (Android 14)")],
    )
    .await
    .ok();
}

async fn push_tokens(t: &TestApp) -> Vec<String> {
    let mut tokens: Vec<String> = t
        .app
        .store()
        .push_devices_for(1)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.token)
        .collect();
    tokens.sort();
    tokens
}

both!(
    signing_one_device_out_isolates_it,
    |t: TestApp| async move {
        let android = t.app_login("ZulipMobile/27.200 (Android 14)").await;
        let ios = t.app_login("ZulipMobile/27.200 (iPhone; iOS 17)").await;
        for (key, token) in [(&android, "android-token"), (&ios, "ios-token")] {
            t.post(
                "/api/v1/users/me/android_gcm_reg_id",
                Some((OWNER, key)),
                &[("token", token)],
            )
            .await
            .ok();
        }
        // A registration made with the account key belongs to no device key.
        t.post(
            "/api/v1/users/me/android_gcm_reg_id",
            Some(t.owner()),
            &[("token", "account-token")],
        )
        .await
        .ok();
        // Each is in use: an event queue, last use recorded with the client and address.
        let queue = t.register_queue((OWNER, &ios), "[\"message\"]").await;
        // Uses are written down at most once a minute per key.
        t.clock.advance_secs(61.0);
        phone_call(&t, &android, "198.51.100.7:5000").await;
        let android_id = device_id(&t, "ZulipMobile on Android").await;
        let listed = t.get(KEYS, Some(t.owner())).await;
        let listed = listed.ok()["api_keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == android_id)
            .cloned()
            .unwrap();
        assert_eq!(listed["last_used"]["client"], "ZulipMobile");
        assert_eq!(listed["last_used"]["ip"], "198.51.100.7");

        // The Android phone is signed out: its key and its registration go, nothing else.
        t.delete(&format!("{KEYS}/{android_id}"), Some(t.owner()))
            .await
            .ok();
        t.get("/api/v1/users/me", Some((OWNER, &android)))
            .await
            .unauthorized("Invalid API key");
        t.get("/api/v1/users/me", Some((OWNER, &ios))).await.ok();
        t.get("/api/v1/users/me", Some(t.owner())).await.ok();
        assert_eq!(push_tokens(&t).await, ["account-token", "ios-token"]);
        // The other phone's event queue is untouched.
        t.get(
            &format!("/api/v1/events?queue_id={queue}&last_event_id=-1&dont_block=true"),
            Some((OWNER, &ios)),
        )
        .await
        .ok();
        // Audited by the owner, with the key's id (never the key).
        let audit = t.app.store().audit_for_user(1).await.unwrap();
        let revoked = audit.iter().rfind(|a| a.event_type == 9007).unwrap();
        assert_eq!(revoked.acting_user_id, Some(1));
        let extra: Value = serde_json::from_str(revoked.extra_data.as_deref().unwrap()).unwrap();
        assert_eq!(extra["key_id"], android_id);
        assert_eq!(extra["kind"], "device");
        // Twice: it is gone.
        t.delete(&format!("{KEYS}/{android_id}"), Some(t.owner()))
            .await
            .error(400, "BAD_REQUEST", "No such API key");
    }
);

both!(
    a_new_account_key_signs_every_device_out,
    |t: TestApp| async move {
        let phone = t.app_login("ZulipMobile/27.200 (Android 14)").await;
        let script = t.app_login("ZulipPython/0.9.1").await;
        t.post(
            "/api/v1/users/me/android_gcm_reg_id",
            Some((OWNER, &phone)),
            &[("token", "phone-token")],
        )
        .await
        .ok();
        // Generate new API key, with a device key: the account key changes and every
        // device key (this one too) is revoked.
        let r = t
            .post(
                "/api/v1/users/me/api_key/regenerate",
                Some((OWNER, &script)),
                &[],
            )
            .await;
        let new_key = r.ok()["api_key"].as_str().unwrap().to_owned();
        for key in [&phone, &script, &t.owner_key] {
            t.get("/api/v1/users/me", Some((OWNER, key)))
                .await
                .unauthorized("Invalid API key");
        }
        t.get("/api/v1/users/me", Some((OWNER, &new_key)))
            .await
            .ok();
        assert!(push_tokens(&t).await.is_empty());
        let listed = t.get(KEYS, Some((OWNER, &new_key))).await;
        assert_eq!(listed.ok()["api_keys"], serde_json::json!([]));
        // Log out everywhere (the web UI) revokes them all too.
        let phone = t.app_login("ZulipMobile/27.200 (Android 14)").await;
        let mut me = Browser::new(&t);
        me.login(OWNER, PASSWORD).await;
        me.get("/settings/account-and-privacy").await;
        me.json(
            Method::POST,
            "/json/users/me/logout_everywhere",
            &[("password", PASSWORD)],
        )
        .await
        .ok();
        t.get("/api/v1/users/me", Some((OWNER, &phone)))
            .await
            .unauthorized("Invalid API key");
    }
);

both!(devices_page_lists_signed_in_apps, |t: TestApp| async move {
    let phone = t.app_login("ZulipMobile/27.200 (Android 14)").await;
    phone_call(&t, &phone, "203.0.113.9:4000").await;
    let id = device_id(&t, "ZulipMobile on Android").await;
    let mut me = Browser::new(&t);
    me.login(OWNER, PASSWORD).await;
    let page = me.get("/settings/account-and-privacy").await;
    let row = format!("class=\"device signed_in_app\" data-key-id=\"{id}\"");
    assert!(page.text.contains(&row), "{}", page.text);
    assert!(page.text.contains("ZulipMobile on Android"));
    assert!(page.text.contains("203.0.113.9"));
    // Signed out from the page (the web app's call, a session).
    me.json(
        Method::DELETE,
        &format!("/json/users/me/api_keys/{id}"),
        &[],
    )
    .await
    .ok();
    t.get("/api/v1/users/me", Some((OWNER, &phone)))
        .await
        .unauthorized("Invalid API key");
    let page = me.get("/settings/account-and-privacy").await;
    assert!(!page.text.contains(&row));
    assert!(page.text.contains("id=\"no_signed_in_apps\""));
});

both!(
    keys_made_with_a_device_key_go_with_it,
    |t: TestApp| async move {
        let phone = t.app_login("ZulipMobile/27.200 (Android 14)").await;
        let (bot, _, bot_email) = t.bot(t.owner(), "phoned", 1).await;
        // Whoever holds the phone makes a key for the owner and one for the owner's bot.
        let bot_keys = format!("/api/v1/bots/{bot}/api_keys");
        let make = |path: &str, with: &str, name: &str| {
            let (path, with, name) = (path.to_owned(), with.to_owned(), name.to_owned());
            let t = &t;
            async move {
                let r = t
                    .post(&path, Some((OWNER, &with)), &[("name", &name)])
                    .await;
                r.ok()["api_key"].as_str().unwrap().to_owned()
            }
        };
        let mine = make(KEYS, &phone, "left behind").await;
        let bots = make(&bot_keys, &phone, "bot's, left behind").await;
        // One made with the account key is the owner's own.
        let kept = make(KEYS, &t.owner_key, "kept").await;
        t.get("/api/v1/users/me", Some((OWNER, &mine))).await.ok();
        t.get("/api/v1/users/me", Some((&bot_email, &bots)))
            .await
            .ok();

        // Signing the phone out ends both keys made with it, nothing else.
        let phone_id = device_id(&t, "ZulipMobile on Android").await;
        t.delete(&format!("{KEYS}/{phone_id}"), Some(t.owner()))
            .await
            .ok();
        for (email, key) in [(OWNER, &phone), (OWNER, &mine), (bot_email.as_str(), &bots)] {
            t.get("/api/v1/users/me", Some((email, key)))
                .await
                .unauthorized("Invalid API key");
        }
        t.get("/api/v1/users/me", Some((OWNER, &kept))).await.ok();
        t.get("/api/v1/users/me", Some(t.owner())).await.ok();
        assert_eq!(t.key_names(t.owner()).await, ["kept"]);
        // Audited on each account, saying why.
        let audit = t.app.store().audit_for_user(bot).await.unwrap();
        let revoked = audit.iter().rfind(|a| a.event_type == 9007).unwrap();
        let extra: Value = serde_json::from_str(revoked.extra_data.as_deref().unwrap()).unwrap();
        assert_eq!(extra["why"], "made with a revoked key");
        assert_eq!(revoked.acting_user_id, Some(1));

        // A new account key ends every key of the account, and with them what they made.
        let phone = t.app_login("ZulipMobile/27.200 (Android 14)").await;
        let bots = make(&bot_keys, &phone, "made on the new phone").await;
        t.get("/api/v1/users/me", Some((&bot_email, &bots)))
            .await
            .ok();
        t.post("/api/v1/users/me/api_key/regenerate", Some(t.owner()), &[])
            .await
            .ok();
        t.get("/api/v1/users/me", Some((&bot_email, &bots)))
            .await
            .unauthorized("Invalid API key");
    }
);
