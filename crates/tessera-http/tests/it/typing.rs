//! `POST /typing`: typing events to a direct message's recipients (sender included) and to
//! a channel's subscribers with the `stream_typing_notifications` capability; Zulip's errors.

use crate::both;
use crate::helpers::TestApp;
use axum::http::Method;
use serde_json::json;
use tessera_core::Role;

const MEMBER: &str = "typing-member@tessera.test";
const OWNER: &str = "owner@tessera.test";

async fn queue(t: &TestApp, who: (&str, &str), caps: &str) -> String {
    t.post(
        "/api/v1/register",
        Some(who),
        &[
            ("event_types", r#"["typing"]"#),
            ("client_capabilities", caps),
        ],
    )
    .await
    .ok()["queue_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

both!(typing_notices_reach_recipients, |t: TestApp| async move {
    let (member_id, key) = t.user(MEMBER, Role::Member).await;
    let member = (MEMBER, key.as_str());
    let member_q = queue(&t, member, r#"{"stream_typing_notifications": true}"#).await;
    let owner_q = queue(&t, t.owner(), "{}").await;
    let id = member_id.to_string();
    let to = format!("[{id}]");
    t.post(
        "/api/v1/typing",
        Some(t.owner()),
        &[("op", "start"), ("to", &to)],
    )
    .await
    .ok();
    let expected = json!({"type": "typing", "message_type": "direct", "op": "start",
        "sender": {"user_id": 1, "email": OWNER},
        "recipients": [{"user_id": member_id, "email": MEMBER}, {"user_id": 1, "email": OWNER}]});
    assert_eq!(
        t.queued_events(member, &member_q).await,
        vec![expected.clone()]
    );
    assert_eq!(t.queued_events(t.owner(), &owner_q).await, vec![expected]);

    // A channel topic: subscribers whose queue has the capability.
    let general = t.stream_id(member, "general").await.to_string();
    t.post(
        "/api/v1/typing",
        Some(t.owner()),
        &[
            ("op", "stop"),
            ("type", "stream"),
            ("stream_id", &general),
            ("topic", "lunch"),
        ],
    )
    .await
    .ok();
    let got = t.queued_events(member, &member_q).await;
    assert_eq!(
        got.last().unwrap(),
        &json!({"type": "typing", "message_type": "stream", "op": "stop",
                "sender": {"user_id": 1, "email": OWNER},
                "stream_id": general.parse::<i64>().unwrap(), "topic": "lunch"})
    );
    assert_eq!(t.queued_events(t.owner(), &owner_q).await.len(), 1);

    // Someone who turned typing notifications off hears nothing.
    t.request(
        Method::PATCH,
        "/api/v1/settings",
        Some(member),
        &[("receives_typing_notifications", "false")],
        &[],
    )
    .await
    .ok();
    t.post(
        "/api/v1/typing",
        Some(t.owner()),
        &[("op", "start"), ("to", &to)],
    )
    .await
    .ok();
    assert_eq!(t.queued_events(member, &member_q).await.len(), 2);
});

both!(typing_errors, |t: TestApp| async move {
    let (member_id, key) = t.user(MEMBER, Role::Member).await;
    let member = (MEMBER, key.as_str());
    let one = format!("[{member_id}]");
    let cases: [(&[(&str, &str)], &str); 8] = [
        (&[("op", "type"), ("to", "[1]")], "Invalid op"),
        (
            &[("op", "start"), ("to", r#"[1, "x"]"#)],
            "to[1] is not an integer",
        ),
        (&[("op", "start")], "Missing 'to' argument"),
        (&[("op", "start"), ("to", "[]")], "Empty 'to' list"),
        (
            &[("op", "start"), ("to", "[999999]")],
            "Invalid user ID 999999",
        ),
        (
            &[("op", "start"), ("type", "stream"), ("topic", "x")],
            "Missing 'stream_id' argument",
        ),
        (
            &[("op", "start"), ("type", "stream"), ("stream_id", "1")],
            "Missing topic",
        ),
        (
            &[
                ("op", "start"),
                ("type", "stream"),
                ("stream_id", "999999"),
                ("topic", "x"),
            ],
            "Invalid channel ID",
        ),
    ];
    for (form, msg) in cases {
        t.post("/api/v1/typing", Some(member), form)
            .await
            .error(400, "BAD_REQUEST", msg);
    }
    t.request(
        Method::PATCH,
        "/api/v1/settings",
        Some(member),
        &[("send_private_typing_notifications", "false")],
        &[],
    )
    .await
    .ok();
    t.post(
        "/api/v1/typing",
        Some(member),
        &[("op", "start"), ("to", &one)],
    )
    .await
    .error(
        400,
        "BAD_REQUEST",
        "User has disabled typing notifications for direct messages",
    );
});
