//! Reads clients make about channels and the organization: `GET /streams/{id}`, its
//! members, its topics; `GET /user_groups`, `/realm/emoji`, `/users/me/alert_words`.

use crate::both;
use crate::helpers::TestApp;
use serde_json::json;
use tessera_core::Role;

const MEMBER: &str = "channels-member@tessera.test";

async fn send(t: &TestApp, who: (&str, &str), to: &str, topic: &str, content: &str) -> i64 {
    t.send_to_channel(who, to, topic, content).await
}

both!(channel_reads, |t: TestApp| async move {
    let (member_id, key) = t.user(MEMBER, Role::Member).await;
    let member = (MEMBER, key.as_str());
    // A private channel the member is not in.
    t.post(
        "/api/v1/users/me/subscriptions",
        Some(t.owner()),
        &[
            ("subscriptions", r#"[{"name": "secret"}]"#),
            ("invite_only", "true"),
        ],
    )
    .await
    .ok();
    let general = t.stream_id(t.owner(), "general").await;
    let secret = t.stream_id(t.owner(), "secret").await;

    let r = t
        .get(&format!("/api/v1/streams/{general}"), Some(member))
        .await;
    let stream = r.ok()["stream"].clone();
    assert_eq!(stream["name"], "general");
    assert_eq!(stream["stream_id"], general);
    // Zulip's get_stream_backend sends the plain channel object (no `is_default`).
    assert!(stream.get("is_default").is_none());
    for path in [
        format!("/api/v1/streams/{secret}"),
        format!("/api/v1/streams/{secret}/members"),
        format!("/api/v1/users/me/{secret}/topics"),
        "/api/v1/streams/999999".to_owned(),
    ] {
        t.get(&path, Some(member))
            .await
            .error(400, "BAD_REQUEST", "Invalid channel ID");
    }
    // Administrators see any channel's metadata and members, not its topics.
    let (_, admin_key) = t.user("channels-admin@tessera.test", Role::Admin).await;
    let admin = ("channels-admin@tessera.test", admin_key.as_str());
    assert_eq!(
        t.get(&format!("/api/v1/streams/{secret}"), Some(admin))
            .await
            .ok()["stream"]["invite_only"],
        true
    );
    assert_eq!(
        t.get(&format!("/api/v1/streams/{secret}/members"), Some(admin))
            .await
            .ok()["subscribers"],
        json!([1])
    );
    t.get(&format!("/api/v1/users/me/{secret}/topics"), Some(admin))
        .await
        .error(400, "BAD_REQUEST", "Invalid channel ID");

    let members = t
        .get(&format!("/api/v1/streams/{general}/members"), Some(member))
        .await;
    let ids = members.ok()["subscribers"].as_array().unwrap().clone();
    assert!(ids.contains(&json!(1)) && ids.contains(&json!(member_id)));

    // Topics: one per topic whatever its case, newest first, with the newest message id and
    // the name that message used.
    send(&t, t.owner(), "general", "lunch", "a").await;
    let planning = send(&t, member, "general", "planning", "b").await;
    let lunch = send(&t, t.owner(), "general", "Lunch", "c").await;
    let r = t
        .get(&format!("/api/v1/users/me/{general}/topics"), Some(member))
        .await;
    let topics = r.ok()["topics"].as_array().unwrap().clone();
    assert_eq!(
        topics[..2],
        [
            json!({"name": "Lunch", "max_id": lunch}),
            json!({"name": "planning", "max_id": planning}),
        ]
    );
    assert!(
        topics[2..]
            .iter()
            .all(|t| t["max_id"].as_i64() < Some(planning))
    );
});

both!(organization_reads, |t: TestApp| async move {
    let r = t.get("/api/v1/user_groups", Some(t.owner())).await;
    let groups = r.ok()["user_groups"].as_array().unwrap().clone();
    let names: Vec<&str> = groups.iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "role:nobody",
            "role:owners",
            "role:administrators",
            "role:moderators",
            "role:fullmembers",
            "role:members",
            "role:everyone",
            "role:internet",
        ]
    );
    let owners = &groups[1];
    assert_eq!(owners["members"], json!([1]));
    assert_eq!(owners["is_system_group"], true);
    assert_eq!(
        t.get("/api/v1/realm/emoji", Some(t.owner())).await.ok()["emoji"],
        json!({})
    );
    assert_eq!(
        t.get("/api/v1/users/me/alert_words", Some(t.owner()))
            .await
            .ok()["alert_words"],
        json!([])
    );
    // The same through the web prefix needs a session, like every /json route.
    assert_eq!(t.get("/json/user_groups", None).await.status, 401);
});

both!(presence_reads, |t: TestApp| async move {
    let (member_id, key) = t.user(MEMBER, Role::Member).await;
    let member = (MEMBER, key.as_str());
    let path = format!("/api/v1/users/{member_id}/presence");
    t.get(&path, Some(t.owner())).await.error(
        400,
        "BAD_REQUEST",
        &format!("No presence data for {member_id}"),
    );
    t.post(
        "/api/v1/users/me/presence",
        Some(member),
        &[("status", "active")],
    )
    .await
    .ok();
    let r = t.get(&path, Some(t.owner())).await;
    let presence = r.ok()["presence"].clone();
    assert_eq!(presence["aggregated"]["status"], "active");
    assert!(presence["aggregated"].get("client").is_none());
    // By email too.
    let by_email = t
        .get(&format!("/api/v1/users/{MEMBER}/presence"), Some(t.owner()))
        .await;
    assert_eq!(by_email.ok()["presence"]["aggregated"]["status"], "active");
    let realm = t.get("/api/v1/realm/presence", Some(t.owner())).await;
    let body = realm.ok();
    assert_eq!(body["presences"][MEMBER]["aggregated"]["status"], "active");
    assert!(body["server_timestamp"].is_f64());
    t.get("/api/v1/users/999999/presence", Some(t.owner()))
        .await
        .error(400, "BAD_REQUEST", "No such user");
    let (bot_id, _, _) = t.bot(t.owner(), "presencebot", 1).await;
    t.get(&format!("/api/v1/users/{bot_id}/presence"), Some(t.owner()))
        .await
        .error(
            400,
            "BAD_REQUEST",
            "Presence is not supported for bot users.",
        );
});
