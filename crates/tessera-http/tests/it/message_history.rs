//! `GET /messages/{id}/history`, `POST /messages/render` and `POST /messages/flags/narrow`.

use crate::both;
use crate::helpers::TestApp;
use serde_json::json;
use tessera_core::Role;

const MEMBER: &str = "history-member@tessera.test";

async fn send(t: &TestApp, who: (&str, &str), topic: &str, content: &str) -> i64 {
    t.send_to_channel(who, "general", topic, content).await
}

both!(edits_are_kept_as_history, |t: TestApp| async move {
    let id = send(&t, t.owner(), "plans", "Hello world").await;
    let path = format!("/api/v1/messages/{id}");
    t.patch(&path, t.owner(), &[("content", "Hello there")])
        .await
        .ok();
    t.patch(&path, t.owner(), &[("topic", "new plans")])
        .await
        .ok();
    let r = t.get(&format!("{path}/history"), Some(t.owner())).await;
    let h = r.ok()["message_history"].as_array().unwrap().clone();
    assert_eq!(h.len(), 3);
    // The original, with exactly Zulip's five keys.
    assert_eq!(h[0].as_object().unwrap().len(), 5);
    assert_eq!(h[0]["content"], "Hello world");
    assert_eq!(h[0]["topic"], "plans");
    assert_eq!(h[0]["user_id"], 1);
    assert_eq!(h[1]["content"], "Hello there");
    assert_eq!(h[1]["prev_content"], "Hello world");
    assert_eq!(h[1]["topic"], "plans");
    assert!(h[1].get("prev_topic").is_none());
    assert_eq!(
        h[1]["content_html_diff"],
        "<p>Hello <span class=\"highlight_text_deleted\">world</span><span class=\"highlight_text_inserted\">there</span></p>"
    );
    assert_eq!(h[2]["topic"], "new plans");
    assert_eq!(h[2]["prev_topic"], "plans");
    assert_eq!(h[2]["content"], "Hello there");
    assert!(h[2].get("prev_content").is_none());

    // Someone who cannot read the message; an organization that turned history off.
    let (_, key) = t.user(MEMBER, Role::Member).await;
    let member = (MEMBER, key.as_str());
    let dm = t
        .post(
            "/api/v1/messages",
            Some(t.owner()),
            &[("type", "direct"), ("to", "[1]"), ("content", "note")],
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    t.get(&format!("/api/v1/messages/{dm}/history"), Some(member))
        .await
        .error(400, "BAD_REQUEST", "Invalid message(s)");
    t.patch(
        "/api/v1/realm",
        t.owner(),
        &[("allow_edit_history", "false")],
    )
    .await
    .ok();
    t.get(&format!("{path}/history"), Some(t.owner()))
        .await
        .error(
            400,
            "BAD_REQUEST",
            "Message edit history is disabled in this organization",
        );
});

both!(render_previews_without_storing, |t: TestApp| async move {
    let before = t.get("/api/v1/users/me", Some(t.owner())).await.ok()["max_message_id"].clone();
    let r = t
        .post(
            "/api/v1/messages/render",
            Some(t.owner()),
            &[("content", "**foo**")],
        )
        .await;
    assert_eq!(r.ok()["rendered"], "<p><strong>foo</strong></p>");
    let r = t
        .post(
            "/api/v1/messages/render",
            Some(t.owner()),
            &[("content", "")],
        )
        .await;
    assert_eq!(r.ok()["rendered"], "");
    t.post("/api/v1/messages/render", Some(t.owner()), &[])
        .await
        .error(
            400,
            "REQUEST_VARIABLE_MISSING",
            "Missing 'content' argument",
        );
    let long = "@**x** ".repeat(1500);
    t.post(
        "/api/v1/messages/render",
        Some(t.owner()),
        &[("content", &long)],
    )
    .await
    .error(
        400,
        "BAD_REQUEST",
        "content is too long (limit: 10000 characters)",
    );
    let after = t.get("/api/v1/users/me", Some(t.owner())).await.ok()["max_message_id"].clone();
    assert_eq!(before, after);
});

both!(flags_change_over_a_narrow, |t: TestApp| async move {
    let (_, key) = t.user(MEMBER, Role::Member).await;
    let member = (MEMBER, key.as_str());
    let a = send(&t, t.owner(), "alpha", "one").await;
    let b = send(&t, t.owner(), "alpha", "two").await;
    send(&t, t.owner(), "beta", "three").await;
    let q = t
        .register_queue(member, r#"["update_message_flags"]"#)
        .await;
    let narrow = r#"[{"operator": "channel", "operand": "general"}, {"operator": "topic", "operand": "alpha"}]"#;
    let form = [
        ("anchor", "oldest"),
        ("num_before", "0"),
        ("num_after", "100"),
        ("narrow", narrow),
        ("op", "add"),
        ("flag", "read"),
    ];
    let r = t
        .post("/api/v1/messages/flags/narrow", Some(member), &form)
        .await;
    assert_eq!(
        r.ok().clone(),
        json!({"result": "success", "msg": "", "processed_count": 2, "updated_count": 2,
               "first_processed_id": a, "last_processed_id": b,
               "found_oldest": true, "found_newest": true})
    );
    // Again: processed, nothing left to update; the event goes out all the same.
    let r = t
        .post("/api/v1/messages/flags/narrow", Some(member), &form)
        .await;
    assert_eq!(r.ok()["updated_count"], 0);
    let events = t.queued_events(member, &q).await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["messages"], json!([a, b]));
    assert_eq!(events[1]["messages"], json!([]));

    let mut bad = form;
    bad[5] = ("flag", "mentioned");
    t.post("/api/v1/messages/flags/narrow", Some(member), &bad)
        .await
        .error(400, "BAD_REQUEST", "Flag not editable: 'mentioned'");
    bad[5] = ("flag", "bogus");
    t.post("/api/v1/messages/flags/narrow", Some(member), &bad)
        .await
        .error(400, "BAD_REQUEST", "Invalid flag: 'bogus'");
    let mut bad = form;
    bad[4] = ("op", "toggle");
    t.post("/api/v1/messages/flags/narrow", Some(member), &bad)
        .await
        .error(
            400,
            "BAD_REQUEST",
            "Invalid message flag operation: 'toggle'",
        );
    t.post("/api/v1/messages/flags/narrow", Some(member), &form[..3])
        .await
        .error(400, "REQUEST_VARIABLE_MISSING", "Missing 'narrow' argument");
});
