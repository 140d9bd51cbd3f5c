//! `PATCH` and `DELETE /streams/{stream_id}`: administrators rename, describe, make private
//! or public, set the posting policy and archive a channel; `stream` events to those who see
//! it; the posting policy holds on send; Zulip's errors and permission rules.

use crate::both;
use crate::helpers::TestApp;
use axum::http::Method;
use serde_json::json;
use tessera_core::Role;

const MEMBER: &str = "streamadmin-member@tessera.test";

async fn create(t: &TestApp, name: &str) -> i64 {
    let subs = json!([{"name": name}]).to_string();
    t.post(
        "/api/v1/users/me/subscriptions",
        Some(t.owner()),
        &[("subscriptions", &subs)],
    )
    .await
    .ok();
    t.stream_id(t.owner(), name).await
}

both!(administrators_change_channels, |t: TestApp| async move {
    let (_, key) = t.user(MEMBER, Role::Member).await;
    let member = (MEMBER, key.as_str());
    let id = create(&t, "projects").await;
    let path = format!("/api/v1/streams/{id}");
    let q = t.register_queue(member, r#"["stream"]"#).await;
    t.patch(
        &path,
        t.owner(),
        &[
            ("new_name", "Projects 2"),
            ("description", "All **our**\nwork"),
            ("stream_post_policy", "2"),
        ],
    )
    .await
    .ok();
    let s = t.get(&path, Some(member)).await;
    let s = &s.ok()["stream"];
    assert_eq!(s["name"], "Projects 2");
    assert_eq!(s["description"], "All **our** work");
    assert_eq!(
        s["rendered_description"],
        "<p>All <strong>our</strong> work</p>"
    );
    assert_eq!(s["stream_post_policy"], 2);
    assert_eq!(s["is_announcement_only"], true);
    let events = t.queued_events(member, &q).await;
    let props: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e["property"].as_str().unwrap(), e["name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        props,
        vec![
            ("description", "projects"),
            ("name", "projects"),
            ("stream_post_policy", "Projects 2"),
            ("is_announcement_only", "Projects 2"),
        ]
    );
    assert_eq!(events[1]["value"], "Projects 2");
    // Notification Bot tells the channel, in Zulip's words and order.
    let narrow = format!(
        r#"[{{"operator": "channel", "operand": {id}}}, {{"operator": "topic", "operand": "channel events"}}]"#
    );
    let r = t
        .request(
            Method::GET,
            "/api/v1/messages",
            Some(member),
            &[
                ("anchor", "oldest"),
                ("num_before", "0"),
                ("num_after", "10"),
                ("narrow", &narrow),
                ("apply_markdown", "false"),
            ],
            &[],
        )
        .await;
    let notes: Vec<(String, String)> = r.ok()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["sender_full_name"].as_str().unwrap().to_owned(),
                m["content"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let owner = "@_**Olive Owner|1**";
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(notes.iter().all(|(sender, _)| sender == "Notification Bot"));
    assert_eq!(
        notes[0].1,
        format!(
            "{owner} changed the description for this channel.\n\n* **Old description:**\n*No description.*\n* **New description:**\n```` quote\nAll **our** work\n````"
        )
    );
    assert_eq!(
        notes[1].1,
        format!("{owner} renamed channel **projects** to **Projects 2**.")
    );
    assert_eq!(
        notes[2].1,
        format!(
            "{owner} changed the [posting permissions](/help/channel-posting-policy) for this channel:\n\n* **Old permissions**: All channel members can post.\n* **New permissions**: Only organization administrators can post."
        )
    );
    assert_eq!(
        events[0]["rendered_description"],
        "<p>All <strong>our</strong> work</p>"
    );

    // Only administrators post now.
    let r = t
        .post(
            "/api/v1/messages",
            Some(member),
            &[
                ("type", "stream"),
                ("to", "Projects 2"),
                ("topic", "t"),
                ("content", "hi"),
            ],
        )
        .await;
    r.error(
        400,
        "BAD_REQUEST",
        "Only organization administrators can send to this channel.",
    );
    // A bot passes where its owner would (Zulip's `access_stream_for_send_message`).
    let (_, bot_key, bot_email) = t.bot(t.owner(), "announcer", 1).await;
    t.post(
        "/api/v1/messages",
        Some((&bot_email, &bot_key)),
        &[
            ("type", "stream"),
            ("to", "Projects 2"),
            ("topic", "t"),
            ("content", "from the owner's bot"),
        ],
    )
    .await
    .ok();
    t.post(
        "/api/v1/messages",
        Some(t.owner()),
        &[
            ("type", "stream"),
            ("to", "Projects 2"),
            ("topic", "t"),
            ("content", "hi"),
        ],
    )
    .await
    .ok();

    // Private: the member (not subscribed) no longer sees it.
    t.patch(&path, t.owner(), &[("is_private", "true")])
        .await
        .ok();
    t.get(&path, Some(member))
        .await
        .error(400, "BAD_REQUEST", "Invalid channel ID");
    // Public again: the member learns of it with a `create` event.
    let q2 = t.register_queue(member, r#"["stream"]"#).await;
    t.patch(&path, t.owner(), &[("is_private", "false")])
        .await
        .ok();
    let events = t.queued_events(member, &q2).await;
    assert_eq!(events[0]["op"], "create");
    assert_eq!(events[0]["streams"][0]["name"], "Projects 2");
    assert_eq!(events.last().unwrap()["property"], "invite_only");
    assert_eq!(events.last().unwrap()["value"], false);
});

both!(bad_channel_changes_are_refused, |t: TestApp| async move {
    let (_, key) = t.user(MEMBER, Role::Member).await;
    let member = (MEMBER, key.as_str());
    let id = create(&t, "keep").await;
    create(&t, "taken").await;
    let path = format!("/api/v1/streams/{id}");
    let r = t
        .request(
            Method::PATCH,
            &path,
            Some(member),
            &[("description", "mine")],
            &[],
        )
        .await;
    r.error(
        400,
        "UNAUTHORIZED_PRINCIPAL",
        "Must be an organization administrator",
    );
    let r = t
        .request(Method::DELETE, &path, Some(member), &[], &[])
        .await;
    r.error(
        400,
        "UNAUTHORIZED_PRINCIPAL",
        "Must be an organization administrator",
    );
    let long = "d".repeat(1025);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("new_name", "keep")], "Channel already has that name."),
        (vec![("new_name", "Taken")], "Channel name already in use."),
        (vec![("new_name", "  ")], "Channel name can't be empty."),
        (
            vec![("description", &long)],
            "description is too long (limit: 1024 characters)",
        ),
        (
            vec![("stream_post_policy", "9")],
            "Invalid stream_post_policy",
        ),
        (
            vec![("is_private", "true"), ("is_default_stream", "true")],
            "A default channel cannot be private.",
        ),
        (
            vec![
                ("is_private", "false"),
                ("history_public_to_subscribers", "false"),
            ],
            "Invalid parameters",
        ),
        (
            vec![("is_web_public", "true")],
            "Web-public channels are not enabled.",
        ),
        (
            vec![("message_retention_days", "\"forever\"")],
            "Bad value for 'message_retention_days': forever",
        ),
        (
            vec![("description", "nul\0")],
            "Invalid character in channel description, at position 4.",
        ),
    ];
    for (form, msg) in cases {
        let r = t
            .request(Method::PATCH, &path, Some(t.owner()), &form, &[])
            .await;
        r.error(400, "BAD_REQUEST", msg);
    }
    let r = t
        .request(
            Method::PATCH,
            "/api/v1/streams/999999",
            Some(t.owner()),
            &[("description", "x")],
            &[],
        )
        .await;
    r.error(400, "BAD_REQUEST", "Invalid channel ID");
    let s = t.get(&path, Some(t.owner())).await;
    assert_eq!(s.ok()["stream"]["name"], "keep");
    assert_eq!(s.body["stream"]["description"], "");
    // An owner sets the retention; "unlimited" is -1.
    t.patch(
        &path,
        t.owner(),
        &[("message_retention_days", "\"unlimited\"")],
    )
    .await
    .ok();
    assert_eq!(
        t.get(&path, Some(t.owner())).await.ok()["stream"]["message_retention_days"],
        -1
    );
});

both!(
    archiving_frees_the_name_and_ends_subscriptions,
    |t: TestApp| async move {
        let (_, key) = t.user(MEMBER, Role::Member).await;
        let member = (MEMBER, key.as_str());
        let id = create(&t, "old-news").await;
        t.post(
            "/api/v1/users/me/subscriptions",
            Some(member),
            &[("subscriptions", r#"[{"name": "old-news"}]"#)],
        )
        .await
        .ok();
        let q = t.register_queue(member, r#"["stream"]"#).await;
        let path = format!("/api/v1/streams/{id}");
        t.delete(&path, Some(t.owner())).await.ok();
        let events = t.queued_events(member, &q).await;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["op"], "delete");
        assert_eq!(events[0]["streams"][0]["name"], "old-news");
        assert_eq!(events[0]["streams"][0]["stream_id"], id);
        // Gone from lists, subscriptions and sending; the name is free again.
        let subs = t.get("/api/v1/users/me/subscriptions", Some(member)).await;
        assert!(
            !subs.ok()["subscriptions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["stream_id"] == id)
        );
        let streams = t.get("/api/v1/streams", Some(member)).await;
        assert!(
            !streams.ok()["streams"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["stream_id"] == id)
        );
        t.get(&path, Some(member))
            .await
            .error(400, "BAD_REQUEST", "Invalid channel ID");
        let r = t
            .post(
                "/api/v1/messages",
                Some(t.owner()),
                &[
                    ("type", "stream"),
                    ("to", &id.to_string()),
                    ("topic", "t"),
                    ("content", "hi"),
                ],
            )
            .await;
        assert_eq!(r.status, 400, "{}", r.text);
        let again = create(&t, "old-news").await;
        assert_ne!(again, id);
        let r = t
            .request(Method::DELETE, &path, Some(t.owner()), &[], &[])
            .await;
        r.error(400, "BAD_REQUEST", "Channel is already deactivated");
        // Administrators may still change an archived channel (Zulip does not filter them
        // there); Notification Bot posts nothing in it.
        t.patch(&path, t.owner(), &[("description", "kept for the record")])
            .await
            .ok();
    }
);
