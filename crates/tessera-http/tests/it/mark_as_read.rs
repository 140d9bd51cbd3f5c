//! `POST /mark_all_as_read`, `/mark_stream_as_read`, `/mark_topic_as_read`: the caller's
//! unread messages get the read flag, with Zulip's `update_message_flags` events and errors.

use crate::both;
use crate::helpers::TestApp;
use serde_json::{Value, json};
use tessera_core::Role;

const MEMBER: &str = "reader@tessera.test";

async fn send(t: &TestApp, to: &str, topic: &str) -> i64 {
    t.send_to_channel(t.owner(), to, topic, "hi").await
}

async fn unread(t: &TestApp, who: (&str, &str)) -> Vec<i64> {
    let r = t
        .get(
            "/api/v1/messages?anchor=newest&num_before=100&num_after=0&narrow=%5B%7B%22operator%22%3A%22is%22%2C%22operand%22%3A%22unread%22%7D%5D",
            Some(who),
        )
        .await;
    r.ok()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect()
}

both!(
    marking_read_by_topic_channel_and_all,
    |t: TestApp| async move {
        let (_, key) = t.user(MEMBER, Role::Member).await;
        let me = (MEMBER, key.as_str());
        t.post(
            "/api/v1/users/me/subscriptions",
            Some(t.owner()),
            &[
                ("subscriptions", r#"[{"name": "second"}]"#),
                ("principals", r#"["reader@tessera.test"]"#),
            ],
        )
        .await
        .ok();
        let general = t
            .get("/api/v1/get_stream_id?stream=general", Some(me))
            .await
            .ok()["stream_id"]
            .as_i64()
            .unwrap()
            .to_string();
        let lunch1 = send(&t, "general", "lunch").await;
        let lunch2 = send(&t, "general", "Lunch").await;
        let other = send(&t, "general", "other").await;
        let second = send(&t, "second", "x").await;
        let q = t
            .post(
                "/api/v1/register",
                Some(me),
                &[("event_types", r#"["update_message_flags"]"#)],
            )
            .await
            .ok()["queue_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let before = unread(&t, me).await;
        for id in [lunch1, lunch2, other, second] {
            assert!(before.contains(&id));
        }

        t.post(
            "/api/v1/mark_topic_as_read",
            Some(me),
            &[("stream_id", &general), ("topic_name", "LUNCH")],
        )
        .await
        .ok();
        let now = unread(&t, me).await;
        assert!(!now.contains(&lunch1) && !now.contains(&lunch2) && now.contains(&other));

        t.post(
            "/api/v1/mark_stream_as_read",
            Some(me),
            &[("stream_id", &general)],
        )
        .await
        .ok();
        let now = unread(&t, me).await;
        assert!(!now.contains(&other) && now.contains(&second));

        let r = t.post("/api/v1/mark_all_as_read", Some(me), &[]).await;
        assert_eq!(r.ok()["complete"], true);
        assert!(unread(&t, me).await.is_empty());

        let flags: Vec<Value> = t
            .queued_events(me, &q)
            .await
            .into_iter()
            .filter(|e| e["type"] == "update_message_flags")
            .collect();
        let event = |ids: Value, all: bool| {
            json!({"type": "update_message_flags", "op": "add", "operation": "add",
               "flag": "read", "messages": ids, "all": all})
        };
        assert_eq!(flags[0], event(json!([lunch1, lunch2]), false));
        assert_eq!(
            flags[1]["messages"].as_array().unwrap().last(),
            Some(&json!(other))
        );
        assert_eq!(flags[2], event(json!([]), true));
        assert_eq!(flags.len(), 3);
    }
);

both!(marking_read_errors, |t: TestApp| async move {
    let (_, key) = t.user(MEMBER, Role::Member).await;
    let me = (MEMBER, key.as_str());
    let general = t.stream_id(me, "general").await.to_string();
    t.post("/api/v1/mark_stream_as_read", Some(me), &[])
        .await
        .error(
            400,
            "REQUEST_VARIABLE_MISSING",
            "Missing 'stream_id' argument",
        );
    t.post(
        "/api/v1/mark_stream_as_read",
        Some(me),
        &[("stream_id", "999999")],
    )
    .await
    .error(400, "BAD_REQUEST", "Invalid channel ID");
    t.post(
        "/api/v1/mark_topic_as_read",
        Some(me),
        &[("stream_id", &general), ("topic_name", "never used")],
    )
    .await
    .error(400, "BAD_REQUEST", "No such topic 'never used'");
});
