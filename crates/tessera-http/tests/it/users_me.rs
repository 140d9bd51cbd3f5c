//! `GET /users/me` is served from memory once warm (the caller's row rides with the cached
//! key; `max_message_id` follows deliveries). These tests show every change reaches it at
//! once: renames, new owner, role, messages sent and deleted, and changes made by another
//! process on the same store.

use crate::both;
use crate::helpers::*;
use axum::http::Method;
use serde_json::json;
use tessera_core::Role;

both!(
    users_me_follows_bot_changes_at_once,
    |t: TestApp| async move {
        let (member_id, member_key) = t.user("member@tessera.test", Role::Member).await;
        let member = ("member@tessera.test", member_key.as_str());
        let (id, key, email) = t.bot(member, "cached", 1).await;
        let bot = (email.as_str(), key.as_str());
        // Warm: the second call is a cache hit.
        t.get("/api/v1/users/me", Some(bot)).await.ok();
        let me = t.get("/api/v1/users/me?unknown_param=1", Some(bot)).await;
        assert_eq!(me.ok()["full_name"], "cached bot");
        assert!(me.ok()["max_message_id"].is_i64());
        assert_eq!(
            me.ok()["ignored_parameters_unsupported"],
            json!(["unknown_param"])
        );
        assert!(me.text.starts_with(r#"{"result":"success","msg":"","#));
        assert!(me.text.ends_with("}\n"));
        assert_eq!(me.ok()["bot_owner_id"], member_id);
        assert_eq!(me.ok()["role"], 400);

        t.request(
            Method::PATCH,
            &format!("/api/v1/bots/{id}"),
            Some(member),
            &[("full_name", "Renamed While Cached")],
            &[],
        )
        .await
        .ok();
        let me = t.get("/api/v1/users/me", Some(bot)).await;
        assert_eq!(me.ok()["full_name"], "Renamed While Cached");

        t.request(
            Method::PATCH,
            &format!("/api/v1/bots/{id}"),
            Some(t.owner()),
            &[("bot_owner_id", "1"), ("role", "200")],
            &[],
        )
        .await
        .ok();
        let me = t.get("/api/v1/users/me", Some(bot)).await;
        assert_eq!(me.ok()["bot_owner_id"], 1);
        assert_eq!(me.ok()["role"], 200);
        assert_eq!(me.ok()["is_admin"], true);
    }
);

both!(
    users_me_max_message_id_follows_messages,
    |t: TestApp| async move {
        let (member_id, member_key) = t.user("member@tessera.test", Role::Member).await;
        let member = ("member@tessera.test", member_key.as_str());
        let before = t.get("/api/v1/users/me", Some(member)).await.ok()["max_message_id"]
            .as_i64()
            .unwrap();
        let to = format!("[{member_id}]");
        let sent = t
            .post(
                "/api/v1/messages",
                Some(t.owner()),
                &[("type", "direct"), ("to", &to), ("content", "hello")],
            )
            .await;
        let first = sent.ok()["id"].as_i64().unwrap();
        assert!(first > before);
        let me = t.get("/api/v1/users/me", Some(member)).await;
        assert_eq!(me.ok()["max_message_id"], first);
        let sent = t
            .post(
                "/api/v1/messages",
                Some(t.owner()),
                &[("type", "direct"), ("to", &to), ("content", "again")],
            )
            .await;
        let second = sent.ok()["id"].as_i64().unwrap();
        let me = t.get("/api/v1/users/me", Some(member)).await;
        assert_eq!(me.ok()["max_message_id"], second);
        // A deletion takes the newest id back.
        t.delete(&format!("/api/v1/messages/{second}"), Some(t.owner()))
            .await
            .ok();
        let me = t.get("/api/v1/users/me", Some(member)).await;
        assert_eq!(me.ok()["max_message_id"], first);
    }
);

both!(
    users_me_sees_another_process_rename_at_once,
    |t: TestApp| async move {
        let (_, member_key) = t.user("member@tessera.test", Role::Member).await;
        let member = ("member@tessera.test", member_key.as_str());
        let (id, key, email) = t.bot(member, "sib", 1).await;
        let bot = (email.as_str(), key.as_str());
        t.get("/api/v1/users/me", Some(bot)).await.ok();
        t.get("/api/v1/users/me", Some(bot)).await.ok();
        // "The CLI" renames it through its own App on the same store.
        let cli = t.sibling();
        cli.store()
            .set_full_name(id, "Renamed Elsewhere", 1, t.app.now())
            .await
            .unwrap();
        let me = t.get("/api/v1/users/me", Some(bot)).await;
        assert_eq!(me.ok()["full_name"], "Renamed Elsewhere");
        assert_eq!(me.ok()["user_id"], id);
        assert_eq!(me.ok()["delivery_email"], json!(email));
    }
);

/// On SQLite, a cache hit costs no query while nothing was written: the cache looks at the
/// write-ahead log and polls `key_invalidations` only when it changed (or a second passed).
#[tokio::test]
async fn sqlite_cache_hits_skip_the_invalidation_poll() {
    let t = TestApp::new(tessera_store::Engine::Sqlite).await;
    let (id, key) = t.user("member@tessera.test", Role::Member).await;
    let member = ("member@tessera.test", key.as_str());
    for _ in 0..3 {
        t.get("/api/v1/users/me", Some(member)).await.ok();
    }
    let before = t.app.key_cache().polls();
    for _ in 0..50 {
        t.get("/api/v1/users/me", Some(member)).await.ok();
    }
    let polls = t.app.key_cache().polls() - before;
    assert!(polls <= 3, "{polls} polls for 50 cached requests");
    // A write by another process is still seen by the very next request.
    let cli = t.sibling();
    let user = cli.user_row(id).await.unwrap();
    cli.regenerate_api_key(&user, id).await.unwrap();
    t.get("/api/v1/users/me", Some(member))
        .await
        .unauthorized("Invalid API key");
}
