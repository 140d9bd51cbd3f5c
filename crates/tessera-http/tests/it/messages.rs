//! The messaging slice: channels, messages, narrows, edits, reactions, event queues, the JSON
//! webhook, outgoing webhooks and the per-user rate limit — on both engines.

use crate::both;
use crate::helpers::{OWNER, TestApp};
use axum::http::Method;
use serde_json::{Value, json};
use tessera_core::Role;

const MEMBER: &str = "member@tessera.test";

async fn member(t: &TestApp) -> (i64, String) {
    t.user(MEMBER, Role::Member).await
}

async fn send_stream(
    t: &TestApp,
    who: (&str, &str),
    stream: &str,
    topic: &str,
    content: &str,
) -> i64 {
    let r = t
        .post(
            "/api/v1/messages",
            Some(who),
            &[
                ("type", "stream"),
                ("to", stream),
                ("subject", topic),
                ("content", content),
            ],
        )
        .await;
    r.ok()["id"].as_i64().unwrap()
}

async fn messages(t: &TestApp, who: (&str, &str), query: &str) -> Value {
    t.get(&format!("/api/v1/messages?{query}"), Some(who))
        .await
        .ok()
        .clone()
}

fn enc(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

both!(
    new_users_join_general_and_get_a_welcome,
    |t: TestApp| async move {
        let (id, key) = member(&t).await;
        let subs = t
            .get("/api/v1/users/me/subscriptions", Some((MEMBER, &key)))
            .await;
        let subs = subs.ok()["subscriptions"].as_array().unwrap().clone();
        assert_eq!(subs.len(), 1);
        assert_eq!(subs[0]["name"], "general");
        assert_eq!(subs[0]["color"], "#76ce90");
        let m = messages(&t, (MEMBER, &key), "anchor=newest&num_before=5&num_after=0").await;
        let list = m["messages"].as_array().unwrap();
        assert_eq!(list.len(), 1, "{m}");
        assert_eq!(list[0]["sender_full_name"], "Welcome Bot");
        assert_eq!(list[0]["type"], "private");
        assert!(
            list[0]["content"]
                .as_str()
                .unwrap()
                .contains("welcome to Zulip")
        );
        let recipients = list[0]["display_recipient"].as_array().unwrap();
        assert!(recipients.iter().any(|r| r["id"] == id));
    }
);

both!(
    channel_and_direct_messages_round_trip,
    |t: TestApp| async move {
        let (member_id, key) = member(&t).await;
        let me = (MEMBER, key.as_str());
        let sid = send_stream(&t, t.owner(), "general", "greetings", "hello *world*").await;
        // A DM by email list, and one by id list including the sender.
        let r = t
            .post(
                "/api/v1/messages",
                Some(t.owner()),
                &[
                    ("type", "private"),
                    ("to", &format!("[\"{MEMBER}\"]")),
                    ("content", "psst"),
                ],
            )
            .await;
        let dm1 = r.ok()["id"].as_i64().unwrap();
        let r = t
            .post(
                "/api/v1/messages",
                Some(me),
                &[
                    ("type", "direct"),
                    ("to", &format!("[{member_id}, 1]")),
                    ("content", "back at you"),
                ],
            )
            .await;
        let dm2 = r.ok()["id"].as_i64().unwrap();
        assert!(sid < dm1 && dm1 < dm2);
        let all = messages(
            &t,
            me,
            "anchor=newest&num_before=10&num_after=0&apply_markdown=false",
        )
        .await;
        assert_eq!(all["found_newest"], true);
        assert_eq!(all["found_oldest"], true);
        assert_eq!(all["anchor"], 10_000_000_000_000_000_i64);
        let list = all["messages"].as_array().unwrap();
        let stream_msg = list.iter().find(|m| m["id"] == sid).unwrap();
        assert_eq!(stream_msg["content"], "hello *world*");
        assert_eq!(stream_msg["content_type"], "text/x-markdown");
        assert_eq!(stream_msg["display_recipient"], "general");
        assert_eq!(stream_msg["subject"], "greetings");
        assert_eq!(stream_msg["type"], "stream");
        assert_eq!(stream_msg["sender_email"], OWNER);
        assert_eq!(stream_msg["flags"], json!([]));
        let rendered = messages(&t, me, &format!("anchor={sid}&num_before=0&num_after=0")).await;
        assert_eq!(
            rendered["messages"][0]["content"],
            "<p>hello <em>world</em></p>"
        );
        assert_eq!(rendered["found_anchor"], true);
        // Both DMs are in the same conversation, seen from either side.
        for (who, other) in [(me, OWNER.to_owned()), (t.owner(), MEMBER.to_owned())] {
            let narrow = enc(&json!([{"operator": "dm", "operand": other}]).to_string());
            let dms = messages(
                &t,
                who,
                &format!("anchor=newest&num_before=10&num_after=0&narrow={narrow}"),
            )
            .await;
            let ids: Vec<i64> = dms["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_i64().unwrap())
                .collect();
            assert_eq!(ids, vec![dm1, dm2], "{dms}");
        }
        // Narrows: channel + topic (legacy pair form), sender, search.
        let narrow = enc(&json!([["stream", "general"], ["topic", "GREETINGS"]]).to_string());
        let got = messages(
            &t,
            me,
            &format!("anchor=newest&num_before=10&num_after=0&narrow={narrow}"),
        )
        .await;
        assert_eq!(got["messages"].as_array().unwrap().len(), 1);
        let narrow = enc(&json!([{"operator": "search", "operand": "back"}]).to_string());
        let got = messages(
            &t,
            me,
            &format!("anchor=oldest&num_before=0&num_after=10&narrow={narrow}"),
        )
        .await;
        assert_eq!(got["messages"][0]["id"], dm2);
        let narrow = enc(&json!([{"operator": "stream", "operand": "nope"}]).to_string());
        let r = t
            .get(
                &format!("/api/v1/messages?anchor=newest&num_before=1&num_after=0&narrow={narrow}"),
                Some(me),
            )
            .await;
        r.error(
            400,
            "BAD_NARROW",
            "Invalid narrow operator: unknown channel nope",
        );
        // Anchors: first_unread for the member is the oldest unread (Welcome Bot's message).
        let got = messages(&t, me, "anchor=first_unread&num_before=0&num_after=1").await;
        assert_eq!(got["found_anchor"], true);
        // Paging: one before the newest DM.
        let got = messages(
            &t,
            me,
            &format!("anchor={dm2}&num_before=1&num_after=0&include_anchor=false"),
        )
        .await;
        assert_eq!(got["messages"][0]["id"], dm1);
        assert_eq!(got["found_oldest"], false);
    }
);

both!(send_errors_are_zulips, |t: TestApp| async move {
    let send = |form: Vec<(&'static str, String)>| {
        let t = &t;
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            t.post("/api/v1/messages", Some(t.owner()), &pairs).await
        }
    };
    let r = send(vec![
        ("type", "stream".into()),
        ("to", "nope".into()),
        ("topic", "t".into()),
        ("content", "x".into()),
    ])
    .await;
    r.error(
        400,
        "STREAM_DOES_NOT_EXIST",
        "Channel 'nope' does not exist",
    );
    assert_eq!(r.body["stream"], "nope");
    let r = send(vec![
        ("type", "stream".into()),
        ("to", "999".into()),
        ("topic", "t".into()),
        ("content", "x".into()),
    ])
    .await;
    r.error(
        400,
        "STREAM_DOES_NOT_EXIST",
        "Channel with ID '999' does not exist",
    );
    let r = send(vec![
        ("type", "stream".into()),
        ("to", "general".into()),
        ("topic", "t".into()),
        ("content", "   ".into()),
    ])
    .await;
    r.error(400, "BAD_REQUEST", "Message must not be empty");
    let r = send(vec![
        ("type", "stream".into()),
        ("to", "general".into()),
        ("content", "x".into()),
    ])
    .await;
    r.error(400, "BAD_REQUEST", "Missing topic");
    let r = send(vec![
        ("type", "private".into()),
        ("to", "[\"ghost@tessera.test\"]".into()),
        ("content", "x".into()),
    ])
    .await;
    r.error(400, "BAD_REQUEST", "Invalid email 'ghost@tessera.test'");
    let r = send(vec![
        ("type", "private".into()),
        ("to", "[424242]".into()),
        ("content", "x".into()),
    ])
    .await;
    r.error(400, "BAD_REQUEST", "Invalid user ID 424242");
    let r = send(vec![
        ("type", "smoke".into()),
        ("to", "general".into()),
        ("content", "x".into()),
    ])
    .await;
    r.error(400, "BAD_REQUEST", "Invalid message type");
    let r = send(vec![
        ("type", "stream".into()),
        ("to", "general".into()),
        ("topic", "t".into()),
    ])
    .await;
    r.error(
        400,
        "REQUEST_VARIABLE_MISSING",
        "Missing 'content' argument",
    );
    // Long topics are truncated, not refused.
    let id = send_stream(&t, t.owner(), "general", &"t".repeat(80), "x").await;
    let got = messages(
        &t,
        t.owner(),
        &format!("anchor={id}&num_before=0&num_after=0"),
    )
    .await;
    assert_eq!(
        got["messages"][0]["subject"]
            .as_str()
            .unwrap()
            .chars()
            .count(),
        60
    );
});

both!(
    private_channels_and_subscriptions,
    |t: TestApp| async move {
        let (member_id, key) = member(&t).await;
        let me = (MEMBER, key.as_str());
        let r = t
            .post(
                "/api/v1/users/me/subscriptions",
                Some(t.owner()),
                &[
                    (
                        "subscriptions",
                        r#"[{"name": "secret", "description": "hush"}]"#,
                    ),
                    ("invite_only", "true"),
                ],
            )
            .await;
        assert_eq!(r.ok()["subscribed"], json!({"1": ["secret"]}));
        let again = t
            .post(
                "/api/v1/users/me/subscriptions",
                Some(t.owner()),
                &[("subscriptions", r#"[{"name": "secret"}]"#)],
            )
            .await;
        assert_eq!(again.ok()["already_subscribed"], json!({"1": ["secret"]}));
        // A member neither sees nor posts to it, nor joins it.
        let streams = t.get("/api/v1/streams", Some(me)).await;
        assert!(
            !streams.ok()["streams"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["name"] == "secret")
        );
        let r = t
            .post(
                "/api/v1/messages",
                Some(me),
                &[
                    ("type", "stream"),
                    ("to", "secret"),
                    ("topic", "t"),
                    ("content", "x"),
                ],
            )
            .await;
        r.error(
            400,
            "BAD_REQUEST",
            "Not authorized to send to channel 'secret'",
        );
        let r = t
            .post(
                "/api/v1/users/me/subscriptions",
                Some(me),
                &[("subscriptions", r#"[{"name": "secret"}]"#)],
            )
            .await;
        r.error(400, "BAD_REQUEST", "Unable to access channel (secret).");
        let id = send_stream(&t, t.owner(), "secret", "plans", "top secret").await;
        let r = t.get(&format!("/api/v1/messages/{id}"), Some(me)).await;
        r.error(400, "BAD_REQUEST", "Invalid message(s)");
        // The owner adds the member by principal (email), then the member can read new messages.
        let r = t
            .post(
                "/api/v1/users/me/subscriptions",
                Some(t.owner()),
                &[
                    ("subscriptions", r#"[{"name": "secret"}]"#),
                    ("principals", &format!("[\"{MEMBER}\"]")),
                ],
            )
            .await;
        assert_eq!(
            r.ok()["subscribed"],
            json!({member_id.to_string(): ["secret"]})
        );
        let id2 = send_stream(&t, t.owner(), "secret", "plans", "welcome in").await;
        t.get(&format!("/api/v1/messages/{id2}"), Some(me))
            .await
            .ok();
        let subs = t
            .get(
                "/api/v1/users/me/subscriptions?include_subscribers=true",
                Some(me),
            )
            .await;
        let secret = subs.ok()["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "secret")
            .cloned()
            .unwrap();
        assert_eq!(secret["invite_only"], true);
        assert_eq!(secret["color"], "#fae589", "the member's second colour");
        assert_eq!(secret["subscribers"], json!([1, member_id]));
        // Unsubscribe: removed / not_removed; unknown channels are an error.
        let r = t
            .request(
                Method::DELETE,
                "/api/v1/users/me/subscriptions",
                Some(me),
                &[("subscriptions", r#"["secret"]"#)],
                &[],
            )
            .await;
        assert_eq!(r.ok()["removed"], json!(["secret"]));
        let r = t
            .request(
                Method::DELETE,
                "/api/v1/users/me/subscriptions",
                Some(me),
                &[("subscriptions", r#"["secret"]"#)],
                &[],
            )
            .await;
        assert_eq!(r.ok()["not_removed"], json!(["secret"]));
        let r = t
            .request(
                Method::DELETE,
                "/api/v1/users/me/subscriptions",
                Some(me),
                &[("subscriptions", r#"["nope"]"#)],
                &[],
            )
            .await;
        r.error(400, "BAD_REQUEST", "Channel(s) (nope) do not exist");
        let r = t
            .get("/api/v1/get_stream_id?stream=general", Some(me))
            .await;
        assert!(r.ok()["stream_id"].as_i64().is_some());
    }
);

both!(edits_deletes_and_reactions, |t: TestApp| async move {
    let (_, key) = member(&t).await;
    let me = (MEMBER, key.as_str());
    let a = send_stream(&t, t.owner(), "general", "old topic", "first").await;
    let b = send_stream(&t, t.owner(), "general", "old topic", "second").await;
    let r = t
        .request(
            Method::PATCH,
            &format!("/api/v1/messages/{a}"),
            Some(me),
            &[("content", "hijack")],
            &[],
        )
        .await;
    r.error(
        400,
        "BAD_REQUEST",
        "You don't have permission to edit this message",
    );
    t.request(
        Method::PATCH,
        &format!("/api/v1/messages/{a}"),
        Some(t.owner()),
        &[("content", "first, edited")],
        &[],
    )
    .await
    .ok();
    t.request(
        Method::PATCH,
        &format!("/api/v1/messages/{a}"),
        Some(t.owner()),
        &[("topic", "new topic"), ("propagate_mode", "change_all")],
        &[],
    )
    .await
    .ok();
    let got = messages(
        &t,
        me,
        &format!("anchor={a}&num_before=0&num_after=1&apply_markdown=false"),
    )
    .await;
    let list = got["messages"].as_array().unwrap();
    assert_eq!(list[0]["content"], "first, edited");
    assert!(list[0]["last_edit_timestamp"].is_i64());
    assert_eq!(list[0]["subject"], "new topic");
    assert_eq!(
        list[1]["subject"], "new topic",
        "change_all moved the whole topic"
    );
    let r = t
        .request(
            Method::PATCH,
            &format!("/api/v1/messages/{a}"),
            Some(t.owner()),
            &[],
            &[],
        )
        .await;
    r.error(400, "BAD_REQUEST", "Nothing to change");
    // Reactions: the code is looked up from the name.
    t.post(
        &format!("/api/v1/messages/{b}/reactions"),
        Some(me),
        &[("emoji_name", "wave"), ("reaction_type", "unicode_emoji")],
    )
    .await
    .ok();
    let r = t
        .post(
            &format!("/api/v1/messages/{b}/reactions"),
            Some(me),
            &[("emoji_name", "wave")],
        )
        .await;
    r.error(400, "REACTION_ALREADY_EXISTS", "Reaction already exists.");
    let r = t
        .post(
            &format!("/api/v1/messages/{b}/reactions"),
            Some(me),
            &[("emoji_name", "not_an_emoji_at_all")],
        )
        .await;
    r.error(
        400,
        "BAD_REQUEST",
        "Emoji 'not_an_emoji_at_all' does not exist",
    );
    let got = messages(&t, me, &format!("anchor={b}&num_before=0&num_after=0")).await;
    let reactions = &got["messages"][0]["reactions"];
    assert_eq!(reactions[0]["emoji_code"], "1f44b");
    assert_eq!(
        reactions[0]["user_id"].as_i64(),
        t.app.user_by_email(1, MEMBER).await.ok().map(|u| u.id)
    );
    t.request(
        Method::DELETE,
        &format!("/api/v1/messages/{b}/reactions"),
        Some(me),
        &[("emoji_name", "wave")],
        &[],
    )
    .await
    .ok();
    let r = t
        .request(
            Method::DELETE,
            &format!("/api/v1/messages/{b}/reactions"),
            Some(me),
            &[("emoji_name", "wave")],
            &[],
        )
        .await;
    r.error(400, "REACTION_DOES_NOT_EXIST", "Reaction doesn't exist.");
    // Deleting: not someone else's; the sender may.
    let r = t
        .request(
            Method::DELETE,
            &format!("/api/v1/messages/{b}"),
            Some(me),
            &[],
            &[],
        )
        .await;
    r.error(
        400,
        "BAD_REQUEST",
        "You don't have permission to delete this message",
    );
    t.delete(&format!("/api/v1/messages/{b}"), Some(t.owner()))
        .await
        .ok();
    let r = t
        .get(&format!("/api/v1/messages/{b}"), Some(t.owner()))
        .await;
    r.error(400, "BAD_REQUEST", "Invalid message(s)");
});

/// Register, then poll without blocking.
async fn register(t: &TestApp, who: (&str, &str), form: &[(&str, &str)]) -> Value {
    t.post("/api/v1/register", Some(who), form)
        .await
        .ok()
        .clone()
}

async fn poll(t: &TestApp, who: (&str, &str), queue: &str, last: i64) -> crate::helpers::Resp {
    t.get(
        &format!("/api/v1/events?queue_id={queue}&last_event_id={last}&dont_block=true"),
        Some(who),
    )
    .await
}

both!(event_queues_deliver_and_expire, |t: TestApp| async move {
    let (member_id, key) = member(&t).await;
    let me = (MEMBER, key.as_str());
    let state = register(
        &t,
        me,
        &[("event_types", r#"["message"]"#), ("narrow", "[]")],
    )
    .await;
    let queue = state["queue_id"].as_str().unwrap().to_owned();
    assert_eq!(state["last_event_id"], -1);
    assert!(state["max_message_id"].as_i64().unwrap() >= 1);
    assert_eq!(state["zulip_feature_level"], 371);
    // Full name mention sets `mentioned`; the event carries the raw source (apply_markdown
    // defaults to false at register).
    let id = send_stream(&t, t.owner(), "general", "hi", "@**Some Person** look").await;
    let events = poll(&t, me, &queue, -1).await;
    let events = events.ok()["events"].as_array().unwrap().clone();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["type"], "message");
    assert_eq!(events[0]["id"], 0);
    assert_eq!(events[0]["flags"], json!(["mentioned"]));
    assert_eq!(events[0]["message"]["id"], id);
    assert_eq!(events[0]["message"]["content"], "@**Some Person** look");
    // Acknowledged events are not sent again.
    let r = poll(&t, me, &queue, 0).await;
    assert_eq!(r.ok()["events"], json!([]));
    // Event types the queue did not ask for never arrive.
    t.post(
        "/api/v1/users/me/presence",
        Some(t.owner()),
        &[("status", "active")],
    )
    .await
    .ok();
    assert_eq!(poll(&t, me, &queue, 0).await.ok()["events"], json!([]));
    // Another user's queue id is a bad queue for you.
    let r = poll(&t, t.owner(), &queue, 0).await;
    r.error(
        400,
        "BAD_EVENT_QUEUE_ID",
        &format!("Bad event queue id: {queue}"),
    );
    assert_eq!(r.body["queue_id"], queue.as_str());
    // Idle for more than 10 minutes: gone.
    t.clock.advance_secs(601.0);
    poll(&t, me, &queue, 0).await.error(
        400,
        "BAD_EVENT_QUEUE_ID",
        &format!("Bad event queue id: {queue}"),
    );
    // A new queue; regenerating the key drops it (and the old key is refused).
    let state = register(&t, me, &[]).await;
    let queue = state["queue_id"].as_str().unwrap().to_owned();
    assert!(
        state["realm_users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["user_id"] == member_id)
    );
    assert!(
        state["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "general")
    );
    let new = t
        .post("/api/v1/users/me/api_key/regenerate", Some(me), &[])
        .await
        .ok()["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    poll(&t, me, &queue, -1)
        .await
        .unauthorized("Invalid API key");
    poll(&t, (MEMBER, &new), &queue, -1).await.error(
        400,
        "BAD_EVENT_QUEUE_ID",
        &format!("Bad event queue id: {queue}"),
    );
    // DELETE /events.
    let state = register(&t, (MEMBER, &new), &[]).await;
    let queue = state["queue_id"].as_str().unwrap().to_owned();
    t.request(
        Method::DELETE,
        "/api/v1/events",
        Some((MEMBER, &new)),
        &[("queue_id", &queue)],
        &[],
    )
    .await
    .ok();
    poll(&t, (MEMBER, &new), &queue, -1).await.error(
        400,
        "BAD_EVENT_QUEUE_ID",
        &format!("Bad event queue id: {queue}"),
    );
});

#[tokio::test]
async fn long_poll_heartbeat_and_wakeup() {
    let t = TestApp::with_config(tessera_store::Engine::Sqlite, |c| {
        c.event_heartbeat = std::time::Duration::from_millis(300);
    })
    .await;
    let state = register(&t, t.owner(), &[("event_types", r#"["message"]"#)]).await;
    let queue = state["queue_id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/events?queue_id={queue}&last_event_id=-1");
    let r = t.get(&path, Some(t.owner())).await;
    assert_eq!(r.ok()["events"], json!([{"type": "heartbeat", "id": 0}]));
    // A poll that is waiting returns as soon as a message arrives.
    let path = format!("/api/v1/events?queue_id={queue}&last_event_id=0");
    let (r, _) = tokio::join!(t.get(&path, Some(t.owner())), async {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        send_stream(&t, t.owner(), "general", "t", "wake up").await
    });
    let events = r.ok()["events"].as_array().unwrap().clone();
    assert_eq!(events[0]["type"], "message");
    assert_eq!(
        events[0]["flags"],
        json!([]),
        "API sends are not marked read for the sender"
    );
}

#[tokio::test]
async fn api_rate_limit_headers_and_429() {
    let t = TestApp::with_config(tessera_store::Engine::Sqlite, |c| {
        c.api_by_user = (60, 3);
    })
    .await;
    for remaining in ["2", "1", "0"] {
        let r = t.get("/api/v1/users/me", Some(t.owner())).await;
        r.ok();
        assert_eq!(r.header("x-ratelimit-limit"), "3");
        assert_eq!(r.header("x-ratelimit-remaining"), remaining);
        assert!(r.header("x-ratelimit-reset").parse::<i64>().is_ok());
    }
    let r = t.get("/api/v1/users/me", Some(t.owner())).await;
    r.error(429, "RATE_LIMIT_HIT", "API usage exceeded rate limit");
    assert!(r.body["retry-after"].as_f64().unwrap() > 59.0);
    assert!(!r.header("retry-after").is_empty());
    assert_eq!(r.header("x-ratelimit-remaining"), "0");
    t.clock.advance_secs(61.0);
    t.get("/api/v1/users/me", Some(t.owner())).await.ok();
}

both!(incoming_webhook_json, |t: TestApp| async move {
    let (_, key, email) = t.bot(t.owner(), "hook", 2).await;
    let r = t
        .raw_post(
            &format!("/api/v1/external/json?api_key={key}&stream=general&topic=hooks"),
            "application/json",
            br#"{"hello": "world", "n": [1, 2]}"#.to_vec(),
        )
        .await;
    r.ok();
    let got = messages(
        &t,
        t.owner(),
        &format!(
            "anchor=newest&num_before=1&num_after=0&apply_markdown=false&narrow={}",
            enc(r#"[["topic","hooks"]]"#)
        ),
    )
    .await;
    let m = &got["messages"][0];
    assert_eq!(m["sender_email"], email.as_str());
    assert_eq!(
        m["content"],
        "```json\n{\n  \"hello\": \"world\",\n  \"n\": [\n    1,\n    2\n  ]\n}\n```"
    );
    // Incoming-webhook bots may send messages but read nothing.
    t.get(
        "/api/v1/messages?anchor=newest&num_before=1&num_after=0",
        Some((&email, &key)),
    )
    .await
    .unauthorized("This API is not available to incoming webhook bots.");
    t.post(
        "/api/v1/messages",
        Some((&email, &key)),
        &[
            ("type", "stream"),
            ("to", "general"),
            ("topic", "t"),
            ("content", "direct send"),
        ],
    )
    .await
    .ok();
    // Bad keys and bodies.
    let r = t
        .raw_post(
            "/api/v1/external/json?api_key=nope&stream=general",
            "application/json",
            b"{}".to_vec(),
        )
        .await;
    r.error(401, "INVALID_API_KEY", "Malformed API key");
    let r = t
        .raw_post(
            &format!("/api/v1/external/json?api_key={key}&stream=general"),
            "application/json",
            b"[1".to_vec(),
        )
        .await;
    r.error(400, "INVALID_JSON", "Malformed JSON");
});

both!(users_and_presence, |t: TestApp| async move {
    let (member_id, key) = member(&t).await;
    let me = (MEMBER, key.as_str());
    let r = t.get("/api/v1/users", Some(me)).await;
    let members = r.ok()["members"].as_array().unwrap().clone();
    assert!(
        members
            .iter()
            .any(|m| m["email"] == OWNER && m["role"] == 100)
    );
    assert!(members.iter().all(|m| m.get("api_key").is_none()));
    let r = t
        .get(&format!("/api/v1/users/{member_id}"), Some(t.owner()))
        .await;
    assert_eq!(r.ok()["user"]["email"], MEMBER);
    let r = t
        .get(&format!("/api/v1/users/{MEMBER}"), Some(t.owner()))
        .await;
    assert_eq!(r.ok()["user"]["user_id"], member_id);
    t.get("/api/v1/users/999999", Some(me))
        .await
        .error(400, "BAD_REQUEST", "No such user");
    let r = t
        .post(
            "/api/v1/users/me/presence",
            Some(me),
            &[("status", "active")],
        )
        .await;
    assert_eq!(
        r.ok()["presences"][MEMBER]["aggregated"]["status"],
        "active"
    );
    t.post(
        "/api/v1/users/me/presence",
        Some(me),
        &[("status", "sleepy")],
    )
    .await
    .error(400, "BAD_REQUEST", "Invalid status: sleepy");
});

both!(
    outgoing_webhook_bot_gets_called_and_replies,
    |t: TestApp| async move {
        use std::sync::{Arc, Mutex};
        let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let recorder = seen.clone();
        let receiver = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
                let recorder = recorder.clone();
                async move {
                    recorder.lock().unwrap().push(body);
                    axum::Json(json!({"content": "pong from webhook"}))
                }
            }),
        );
        let server = tokio::spawn(async move { axum::serve(listener, receiver).await });
        let url = format!("http://{addr}/hook");
        let r = t
            .post(
                "/api/v1/bots",
                Some(t.owner()),
                &[
                    ("full_name", "Pinger"),
                    ("short_name", "pinger"),
                    ("bot_type", "3"),
                    ("payload_url", &serde_json::to_string(&url).unwrap()),
                    ("interface_type", "1"),
                ],
            )
            .await;
        let bot_id = r.ok()["user_id"].as_i64().unwrap();
        let rc = t
            .get(&format!("/api/v1/bots/{bot_id}/zuliprc"), Some(t.owner()))
            .await;
        let token = rc
            .text
            .lines()
            .find_map(|l| l.strip_prefix("token="))
            .unwrap()
            .to_owned();
        let id = send_stream(&t, t.owner(), "general", "pings", "@**Pinger** ping").await;
        let mut reply = None;
        for _ in 0..100 {
            let got = messages(
                &t,
                t.owner(),
                "anchor=newest&num_before=1&num_after=0&apply_markdown=false",
            )
            .await;
            if got["messages"][0]["content"] == "pong from webhook" {
                reply = Some(got["messages"][0].clone());
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let reply = reply.expect("the bot's reply");
        assert_eq!(reply["sender_id"], bot_id);
        assert_eq!(reply["subject"], "pings");
        let payload = seen.lock().unwrap()[0].clone();
        assert_eq!(payload["token"], token.as_str());
        assert_eq!(payload["trigger"], "mention");
        assert_eq!(payload["data"], "@**Pinger** ping");
        assert_eq!(payload["bot_full_name"], "Pinger");
        assert_eq!(payload["message"]["id"], id);
        server.abort();
    }
);

both!(
    outgoing_webhook_failures_reach_the_owner,
    |t: TestApp| async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let receiver = axum::Router::new().route(
            "/hook",
            axum::routing::post(|| async {
                (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "boom")
            }),
        );
        let server = tokio::spawn(async move { axum::serve(listener, receiver).await });
        let (_, key) = member(&t).await;
        let me = (MEMBER, key.as_str());
        let url = serde_json::to_string(&format!("http://{addr}/hook")).unwrap();
        t.post(
            "/api/v1/bots",
            Some(t.owner()),
            &[
                ("full_name", "Broken"),
                ("short_name", "broken"),
                ("bot_type", "3"),
                ("payload_url", &url),
            ],
        )
        .await
        .ok();
        // The member's send succeeds at once, whatever the bot's endpoint does.
        let r = t
            .post(
                "/api/v1/messages",
                Some(me),
                &[
                    ("type", "stream"),
                    ("to", "general"),
                    ("topic", "t"),
                    ("content", "@**Broken** hi"),
                ],
            )
            .await;
        r.ok();
        let mut in_topic = false;
        let mut to_owner = false;
        for _ in 0..100 {
            let got = messages(
                &t,
                t.owner(),
                "anchor=newest&num_before=5&num_after=0&apply_markdown=false",
            )
            .await;
            for m in got["messages"].as_array().unwrap() {
                let c = m["content"].as_str().unwrap_or("");
                in_topic |= c == "Failure! Third party responded with 500" && m["type"] == "stream";
                to_owner |= m["type"] == "private"
                    && c.contains("to your bot @_**Broken** triggered an outgoing webhook.")
                    && c.contains("The webhook got a response with status code *500*.");
            }
            if in_topic && to_owner {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(in_topic, "failure shown in the conversation");
        assert!(to_owner, "failure reported to the owner");
        server.abort();
    }
);

#[tokio::test]
async fn metrics_count_requests_failures_and_cache_hits() {
    let t = TestApp::new(tessera_store::Engine::Sqlite).await;
    t.get("/api/v1/users/me", Some(t.owner())).await.ok();
    t.get("/api/v1/users/me", Some(t.owner())).await.ok();
    t.get(
        "/api/v1/users/me",
        Some((OWNER, "0123456789abcdefghijklmnopqrstuv")),
    )
    .await;
    t.get("/api/v1/users/me", Some((OWNER, "short"))).await;
    let text = t.app.render_metrics();
    let value = |needle: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(needle))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1.0)
    };
    assert_eq!(
        value("tessera_auth_failures_total{reason=\"malformed_key\"}"),
        1.0,
        "{text}"
    );
    assert_eq!(
        value("tessera_auth_failures_total{reason=\"invalid_key\"}"),
        1.0,
        "{text}"
    );
    assert!(value("tessera_key_cache_hits_total") >= 1.0, "{text}");
    assert!(value("tessera_key_cache_misses_total") >= 1.0, "{text}");
    assert!(text.contains("tessera_event_queues 0"), "{text}");
    // The router's per-route counters (route templates, not concrete paths).
    let r = tessera_http::router(t.app.clone());
    use tower::ServiceExt;
    let req = axum::http::Request::builder()
        .uri("/api/v1/bots/77/api_key")
        .header("host", crate::helpers::HOST)
        .header("authorization", crate::helpers::basic(OWNER, &t.owner_key))
        .body(axum::body::Body::empty())
        .unwrap();
    let _ = r.oneshot(req).await;
    let text = t.app.render_metrics();
    assert!(
        text.contains("tessera_http_requests_total{method=\"GET\",route=\"/api/v1/bots/{bot_id}/api_key\",status=\"400\"} 1"),
        "{text}"
    );
    assert!(!text.contains("/bots/77/"), "no concrete ids in labels");
}

#[tokio::test]
async fn found_by_schemathesis() {
    let t = TestApp::new(tessera_store::Engine::Sqlite).await;
    // num_before + num_after must not overflow.
    let big = 4_611_686_018_427_387_904_i64;
    let r = t
        .get(
            &format!("/api/v1/messages?anchor=newest&num_before={big}&num_after={big}"),
            Some(t.owner()),
        )
        .await;
    r.error(
        400,
        "BAD_REQUEST",
        "Too many messages requested (maximum 5000).",
    );
    // Bodies up to 5 MiB are read whatever the extractor; above, Zulip's JSON 413.
    let (_, key, _) = t.bot(t.owner(), "bighook", 2).await;
    let r = t
        .raw_post(
            &format!("/api/v1/external/json?api_key={key}&stream=general"),
            "application/json",
            vec![b'a'; 3_000_000],
        )
        .await;
    r.error(400, "INVALID_JSON", "Malformed JSON");
    let r = t
        .raw_post(
            &format!("/api/v1/external/json?api_key={key}&stream=general"),
            "application/json",
            vec![b'a'; 6_000_000],
        )
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.body["result"], "error");
    let boundary = "XyZ";
    let content = "b".repeat(3_000_000);
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\nstream\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\ngeneral\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"topic\"\r\n\r\nbig\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"content\"\r\n\r\n{content}\r\n--{boundary}--\r\n"
    );
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1/messages")
        .header("host", crate::helpers::HOST)
        .header("authorization", crate::helpers::basic(OWNER, &t.owner_key))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(axum::body::Body::from(body))
        .unwrap();
    let r = t.send(req).await;
    r.ok();
    // Web pages answer a wrong method with Zulip's 405 body too.
    let r = t.request(Method::POST, "/settings", None, &[], &[]).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.body["msg"], "Method Not Allowed");
}

both!(channel_descriptions_are_limited, |t: TestApp| async move {
    let long = format!(
        "[{{\"name\": \"verbose\", \"description\": \"{}\"}}]",
        "d".repeat(1025)
    );
    let r = t
        .post(
            "/api/v1/users/me/subscriptions",
            Some(t.owner()),
            &[("subscriptions", &long)],
        )
        .await;
    r.error(
        400,
        "BAD_REQUEST",
        "Channel description too long (limit: 1024 characters).",
    );
    let ok = format!(
        "[{{\"name\": \"verbose\", \"description\": \"{}\"}}]",
        "d".repeat(1024)
    );
    t.post(
        "/api/v1/users/me/subscriptions",
        Some(t.owner()),
        &[("subscriptions", &ok)],
    )
    .await
    .ok();
});
