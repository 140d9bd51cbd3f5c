//! `/drafts`: created in bulk (all or none), edited, deleted, listed oldest first and in
//! `register` newest first, each change announced; Zulip's errors; nothing while draft
//! synchronization is off, and turning it off deletes the drafts.

use crate::both;
use crate::helpers::TestApp;
use axum::http::Method;
use serde_json::json;
use tessera_core::Role;

const MEMBER: &str = "drafts-member@tessera.test";

both!(
    drafts_are_kept_edited_and_deleted,
    |t: TestApp| async move {
        let (member_id, key) = t.user(MEMBER, Role::Member).await;
        let me = (MEMBER, key.as_str());
        let general = t.stream_id(me, "general").await;
        let q = t.register_queue(me, r#"["drafts"]"#).await;
        let drafts = json!([
        {"type": "stream", "to": [general], "topic": "plans", "content": "first  ", "timestamp": 1000},
        {"type": "private", "to": [1, member_id], "topic": "ignored", "content": "to owner", "timestamp": 2000},
        {"type": "", "to": [], "topic": "", "content": "nowhere yet", "timestamp": 1500.7},
    ])
    .to_string();
        let r = t
            .post("/api/v1/drafts", Some(me), &[("drafts", &drafts)])
            .await;
        let ids: Vec<i64> = r.ok()["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        assert_eq!(ids.len(), 3);

        // Listed oldest edit first; the caller left out of a direct message's `to`; the topic
        // kept only for a channel draft; trailing space gone; the timestamp truncated.
        let r = t.get("/api/v1/drafts", Some(me)).await;
        assert_eq!(r.ok()["count"], 3);
        assert_eq!(
            r.body["drafts"],
            json!([
                {"id": ids[0], "type": "stream", "to": [general], "topic": "plans", "content": "first", "timestamp": 1000},
                {"id": ids[2], "type": "", "to": [], "topic": "", "content": "nowhere yet", "timestamp": 1500},
                {"id": ids[1], "type": "private", "to": [1], "topic": "", "content": "to owner", "timestamp": 2000},
            ])
        );
        // register: newest first.
        let r = t
            .post(
                "/api/v1/register",
                Some(me),
                &[("fetch_event_types", r#"["drafts"]"#)],
            )
            .await;
        let order: Vec<i64> = r.ok()["drafts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_i64().unwrap())
            .collect();
        assert_eq!(order, vec![ids[1], ids[2], ids[0]]);

        let edit = json!({"type": "stream", "to": [general], "topic": "later", "content": "edited", "timestamp": 3000}).to_string();
        let path = format!("/api/v1/drafts/{}", ids[0]);
        t.request(Method::PATCH, &path, Some(me), &[("draft", &edit)], &[])
            .await
            .ok();
        t.delete(&format!("/api/v1/drafts/{}", ids[2]), Some(me))
            .await
            .ok();
        let r = t.get("/api/v1/drafts", Some(me)).await;
        assert_eq!(r.ok()["count"], 2);
        assert_eq!(r.body["drafts"][1]["content"], "edited");
        assert_eq!(r.body["drafts"][1]["topic"], "later");

        let events = t.queued_events(me, &q).await;
        let ops: Vec<&str> = events.iter().map(|e| e["op"].as_str().unwrap()).collect();
        assert_eq!(ops, vec!["add", "update", "remove"]);
        assert_eq!(events[0]["drafts"].as_array().unwrap().len(), 3);
        assert_eq!(events[1]["draft"]["id"], ids[0]);
        assert_eq!(events[1]["draft"]["content"], "edited");
        assert_eq!(events[2]["draft_id"], ids[2]);

        // Someone else's draft does not exist for the owner.
        let r = t
            .request(Method::DELETE, &path, Some(t.owner()), &[], &[])
            .await;
        r.error(404, "BAD_REQUEST", "Draft does not exist");
        let r = t
            .request(
                Method::PATCH,
                &path,
                Some(t.owner()),
                &[("draft", &edit)],
                &[],
            )
            .await;
        r.error(404, "BAD_REQUEST", "Draft does not exist");
        assert_eq!(t.get("/api/v1/drafts", Some(me)).await.ok()["count"], 2);
    }
);

both!(
    bad_drafts_are_refused_and_store_nothing,
    |t: TestApp| async move {
        let (_, key) = t.user(MEMBER, Role::Member).await;
        let me = (MEMBER, key.as_str());
        let general = t.stream_id(me, "general").await;
        let good = json!({"type": "stream", "to": [general], "topic": "t", "content": "ok"});
        let cases = [
            (
                json!([good, {"type": "bogus", "to": [], "topic": "", "content": "x"}]),
                "Invalid drafts[1][\"type\"]",
            ),
            (
                json!([{"type": "stream", "to": [], "topic": "t", "content": "x"}]),
                "Must specify exactly 1 channel ID for channel messages",
            ),
            (
                json!([{"type": "stream", "to": [999999], "topic": "t", "content": "x"}]),
                "Invalid channel ID",
            ),
            (
                json!([{"type": "private", "to": [999999], "topic": "", "content": "x"}]),
                "Invalid user ID 999999",
            ),
            (
                json!([{"type": "", "to": [], "topic": "", "content": "   "}]),
                "drafts[0][\"content\"] cannot be blank",
            ),
            (
                json!([{"type": "", "to": [], "topic": "", "content": "x", "timestamp": -5}]),
                "Timestamp must not be negative.",
            ),
            (
                json!([{"type": "", "to": ["a"], "topic": "", "content": "x"}]),
                "drafts[0][\"to\"][0] is not an integer",
            ),
            (
                json!([{"type": "", "to": [], "topic": "", "content": "x", "extra": 1}]),
                "Argument \"extra\" at drafts[0][\"extra\"] is unexpected",
            ),
            (json!({"not": "a list"}), "drafts is not a list"),
        ];
        for (drafts, msg) in cases {
            let r = t
                .post(
                    "/api/v1/drafts",
                    Some(me),
                    &[("drafts", &drafts.to_string())],
                )
                .await;
            r.error(400, "BAD_REQUEST", msg);
        }
        let r = t
            .post("/api/v1/drafts", Some(me), &[("drafts", "[nope")])
            .await;
        r.error(400, "BAD_REQUEST", "drafts is not valid JSON");
        assert_eq!(t.get("/api/v1/drafts", Some(me)).await.ok()["count"], 0);
    }
);

both!(drafts_need_synchronization_on, |t: TestApp| async move {
    let (_, key) = t.user(MEMBER, Role::Member).await;
    let me = (MEMBER, key.as_str());
    let d = json!([{"type": "", "to": [], "topic": "", "content": "keep?"}]).to_string();
    t.post("/api/v1/drafts", Some(me), &[("drafts", &d)])
        .await
        .ok();
    t.request(
        Method::PATCH,
        "/api/v1/settings",
        Some(me),
        &[("enable_drafts_synchronization", "false")],
        &[],
    )
    .await
    .ok();
    let off = "User has disabled synchronizing drafts.";
    t.get("/api/v1/drafts", Some(me))
        .await
        .error(400, "BAD_REQUEST", off);
    t.post("/api/v1/drafts", Some(me), &[("drafts", &d)])
        .await
        .error(400, "BAD_REQUEST", off);
    t.delete("/api/v1/drafts/1", Some(me))
        .await
        .error(400, "BAD_REQUEST", off);
    // Turning it back on finds nothing: turning it off deleted them.
    t.request(
        Method::PATCH,
        "/api/v1/settings",
        Some(me),
        &[("enable_drafts_synchronization", "true")],
        &[],
    )
    .await
    .ok();
    assert_eq!(t.get("/api/v1/drafts", Some(me)).await.ok()["count"], 0);
});
