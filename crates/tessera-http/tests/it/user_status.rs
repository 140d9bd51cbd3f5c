//! User status: `POST /users/me/status` (text, emoji, away), `GET /users/{id}/status`, the
//! `user_status` event to everyone and `register`'s `user_status`; Zulip's errors.

use crate::both;
use crate::helpers::TestApp;
use serde_json::json;
use tessera_core::Role;

const MEMBER: &str = "status-member@tessera.test";

both!(status_is_set_shown_and_announced, |t: TestApp| async move {
    let (member_id, key) = t.user(MEMBER, Role::Member).await;
    let me = (MEMBER, key.as_str());
    let q = t
        .post(
            "/api/v1/register",
            Some(t.owner()),
            &[("event_types", r#"["user_status"]"#)],
        )
        .await
        .ok()["queue_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let status = format!("/api/v1/users/{member_id}/status");
    assert_eq!(
        t.get(&status, Some(t.owner())).await.ok()["status"],
        json!({})
    );

    t.post(
        "/api/v1/users/me/status",
        Some(me),
        &[
            ("status_text", "  In a meeting "),
            ("emoji_name", "calendar"),
        ],
    )
    .await
    .ok();
    let r = t.get(&status, Some(t.owner())).await;
    assert_eq!(
        r.ok()["status"],
        json!({"status_text": "In a meeting", "emoji_name": "calendar",
               "emoji_code": "1f4c6", "reaction_type": "unicode_emoji"})
    );
    // Away: presence_enabled off, shown as `away`.
    t.post("/api/v1/users/me/status", Some(me), &[("away", "true")])
        .await
        .ok();
    let r = t
        .post(
            "/api/v1/register",
            Some(me),
            &[("fetch_event_types", r#"["user_status", "user_settings"]"#)],
        )
        .await;
    assert_eq!(r.ok()["user_settings"]["presence_enabled"], false);
    assert_eq!(
        r.body["user_status"][member_id.to_string()],
        json!({"away": true, "status_text": "In a meeting", "emoji_name": "calendar",
               "emoji_code": "1f4c6", "reaction_type": "unicode_emoji"})
    );
    // Clearing the text and the emoji.
    t.post(
        "/api/v1/users/me/status",
        Some(me),
        &[("status_text", ""), ("emoji_name", ""), ("away", "false")],
    )
    .await
    .ok();
    assert_eq!(
        t.get(&status, Some(t.owner())).await.ok()["status"],
        json!({})
    );

    let events = t.queued_events(t.owner(), &q).await;
    assert_eq!(
        events,
        vec![
            json!({"type": "user_status", "user_id": member_id, "status_text": "In a meeting",
                   "emoji_name": "calendar", "emoji_code": "1f4c6", "reaction_type": "unicode_emoji"}),
            json!({"type": "user_status", "user_id": member_id, "away": true}),
            json!({"type": "user_status", "user_id": member_id, "away": false, "status_text": "",
                   "emoji_name": "", "emoji_code": "", "reaction_type": "unicode_emoji"}),
        ]
    );
});

both!(
    bad_status_requests_change_nothing,
    |t: TestApp| async move {
        let (member_id, key) = t.user(MEMBER, Role::Member).await;
        let me = (MEMBER, key.as_str());
        let long = "x".repeat(61);
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (vec![], "Client did not pass any new values."),
            (
                vec![("emoji_code", "1f4bb")],
                "Client did not pass any new values.",
            ),
            (
                vec![("status_text", "hi"), ("emoji_code", "1f4bb")],
                "Client must pass emoji_name if they pass either emoji_code or reaction_type.",
            ),
            (
                vec![("emoji_name", "invalid"), ("emoji_code", "1f4bb")],
                "Emoji 'invalid' does not exist",
            ),
            (
                vec![
                    ("emoji_name", "car"),
                    ("emoji_code", "1f4bb"),
                    ("reaction_type", "unicode_emoji"),
                ],
                "Invalid emoji name.",
            ),
            (
                vec![
                    ("emoji_name", "car"),
                    ("emoji_code", "1f4bb"),
                    ("reaction_type", "realm_emoji"),
                ],
                "Invalid custom emoji.",
            ),
            (
                vec![
                    ("emoji_name", "car"),
                    ("emoji_code", "zzzz"),
                    ("reaction_type", "unicode_emoji"),
                ],
                "Invalid emoji code.",
            ),
            (
                vec![("status_text", long.as_str())],
                "status_text is too long (limit: 60 characters)",
            ),
            (vec![("away", "maybe")], "away is not valid JSON"),
            (
                vec![("status_text", "out\0side")],
                "Invalid character in status_text, at position 4.",
            ),
        ];
        for (form, msg) in cases {
            let r = t.post("/api/v1/users/me/status", Some(me), &form).await;
            r.error(400, "BAD_REQUEST", msg);
        }
        let status = format!("/api/v1/users/{member_id}/status");
        assert_eq!(t.get(&status, Some(me)).await.ok()["status"], json!({}));
        t.get("/api/v1/users/999999/status", Some(me)).await.error(
            400,
            "BAD_REQUEST",
            "No such user",
        );
        // Bots have no status.
        let (_, bot_key, bot_email) = t.bot(t.owner(), "statusbot", 1).await;
        let r = t
            .post(
                "/api/v1/users/me/status",
                Some((&bot_email, &bot_key)),
                &[("status_text", "hi")],
            )
            .await;
        r.error(
            400,
            "BAD_REQUEST",
            "This endpoint does not accept bot requests.",
        );
    }
);
