//! `POST /user_topics`: mute, unmute and follow topics; `muted_topics` then `user_topic`
//! events (the legacy list only to queues that do not take `user_topic`), `register`'s
//! `user_topics` and `muted_topics`; no event when nothing changes; Zulip's errors.

use crate::both;
use crate::helpers::TestApp;
use serde_json::json;
use tessera_core::Role;

const MEMBER: &str = "topics-member@tessera.test";

both!(
    topics_are_muted_followed_and_announced,
    |t: TestApp| async move {
        let (_, key) = t.user(MEMBER, Role::Member).await;
        let me = (MEMBER, key.as_str());
        let general = t.stream_id(me, "general").await;
        let g = general.to_string();
        let both_q = t
            .register_queue(me, r#"["user_topic", "muted_topics"]"#)
            .await;
        let legacy_q = t.register_queue(me, r#"["muted_topics"]"#).await;
        let set = |policy: &'static str, topic: &'static str| {
            let g = g.clone();
            let t = &t;
            async move {
                t.post(
                    "/api/v1/user_topics",
                    Some(me),
                    &[
                        ("stream_id", &g),
                        ("topic", topic),
                        ("visibility_policy", policy),
                    ],
                )
                .await
            }
        };
        set("1", "Noisy").await.ok();
        // The same policy again: nothing changes, nothing is sent.
        set("1", "noisy").await.ok();
        set("3", "Important").await.ok();
        let r = t
            .post(
                "/api/v1/register",
                Some(me),
                &[
                    ("fetch_event_types", r#"["user_topic", "muted_topics"]"#),
                    ("event_types", r#"["muted_topics"]"#),
                ],
            )
            .await;
        let mut topics: Vec<(String, i64)> = r.ok()["user_topics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["topic_name"].as_str().unwrap().to_owned(),
                    t["visibility_policy"].as_i64().unwrap(),
                )
            })
            .collect();
        topics.sort();
        assert_eq!(topics, vec![("Important".into(), 3), ("Noisy".into(), 1)]);
        assert!(r.body.get("muted_topics").is_none(), "not with user_topic");
        let r = t
            .post(
                "/api/v1/register",
                Some(me),
                &[("fetch_event_types", r#"["muted_topics"]"#)],
            )
            .await;
        assert_eq!(r.ok()["muted_topics"][0][0], "general");
        assert_eq!(r.body["muted_topics"][0][1], "Noisy");
        assert_eq!(r.body["muted_topics"].as_array().unwrap().len(), 1);

        set("0", "Noisy").await.ok();
        let events = t.queued_events(me, &both_q).await;
        let kinds: Vec<(&str, i64)> = events
            .iter()
            .map(|e| {
                (
                    e["type"].as_str().unwrap(),
                    e["visibility_policy"].as_i64().unwrap_or(-1),
                )
            })
            .collect();
        // A queue that takes `user_topic` gets no legacy list.
        assert_eq!(
            kinds,
            vec![("user_topic", 1), ("user_topic", 3), ("user_topic", 0)]
        );
        assert_eq!(events[0]["stream_id"], general);
        assert_eq!(events[0]["topic_name"], "Noisy");
        let legacy = t.queued_events(me, &legacy_q).await;
        assert_eq!(legacy.len(), 3);
        assert_eq!(
            legacy[0],
            json!({"type": "muted_topics", "muted_topics": [["general", "Noisy", events[0]["last_updated"]]]})
        );
        assert_eq!(
            legacy[2],
            json!({"type": "muted_topics", "muted_topics": []})
        );
    }
);

both!(bad_topic_requests_are_refused, |t: TestApp| async move {
    let (_, key) = t.user(MEMBER, Role::Member).await;
    let me = (MEMBER, key.as_str());
    let g = t.stream_id(me, "general").await.to_string();
    let long = "t".repeat(61);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("topic", "x"), ("visibility_policy", "1")],
            "Missing 'stream_id' argument",
        ),
        (
            vec![
                ("stream_id", &g),
                ("topic", "x"),
                ("visibility_policy", "7"),
            ],
            "Invalid visibility_policy: Value error, Not in the list of possible values",
        ),
        (
            vec![
                ("stream_id", "999999"),
                ("topic", "x"),
                ("visibility_policy", "1"),
            ],
            "Invalid channel ID",
        ),
        (
            vec![
                ("stream_id", &g),
                ("topic", &long),
                ("visibility_policy", "1"),
            ],
            "topic is too long (limit: 60 characters)",
        ),
        (
            vec![
                ("stream_id", &g),
                ("topic", "x"),
                ("visibility_policy", "\"1\""),
            ],
            "visibility_policy is not an integer",
        ),
        (
            vec![
                ("stream_id", &g),
                ("topic", "a\0b"),
                ("visibility_policy", "1"),
            ],
            "Invalid character in topic, at position 2!",
        ),
    ];
    for (form, msg) in cases {
        let r = t.post("/api/v1/user_topics", Some(me), &form).await;
        let code = if msg.starts_with("Missing") {
            "REQUEST_VARIABLE_MISSING"
        } else {
            "BAD_REQUEST"
        };
        r.error(400, code, msg);
    }
    let r = t
        .post(
            "/api/v1/register",
            Some(me),
            &[("fetch_event_types", r#"["user_topic"]"#)],
        )
        .await;
    assert_eq!(r.ok()["user_topics"], json!([]));
});
