//! `POST /users/me/subscriptions/properties` and `PATCH /users/me/subscriptions`: settings of
//! the caller's subscriptions stored all or none and announced (`in_home_view` and
//! `is_muted` both), shown in `GET /users/me/subscriptions`; add and delete in one call.

use crate::both;
use crate::helpers::TestApp;
use axum::http::Method;
use serde_json::{Value, json};
use tessera_core::Role;

const MEMBER: &str = "subprops-member@tessera.test";

async fn my_subscription(t: &TestApp, who: (&str, &str), name: &str) -> Value {
    let r = t.get("/api/v1/users/me/subscriptions", Some(who)).await;
    r.ok()["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .cloned()
        .unwrap_or(Value::Null)
}

both!(
    properties_are_stored_and_announced,
    |t: TestApp| async move {
        let (_, key) = t.user(MEMBER, Role::Member).await;
        let me = (MEMBER, key.as_str());
        let general = t.stream_id(me, "general").await;
        let q = t.register_queue(me, r#"["subscription"]"#).await;
        let data = json!([
            {"stream_id": general, "property": "color", "value": "#abcdef"},
            {"stream_id": general, "property": "in_home_view", "value": false},
            {"stream_id": general, "property": "pin_to_top", "value": true},
            {"stream_id": general, "property": "push_notifications", "value": false},
        ])
        .to_string();
        t.post(
            "/api/v1/users/me/subscriptions/properties",
            Some(me),
            &[("subscription_data", &data)],
        )
        .await
        .ok();
        let sub = my_subscription(&t, me, "general").await;
        assert_eq!(sub["color"], "#abcdef");
        assert_eq!(sub["is_muted"], true);
        assert_eq!(sub["in_home_view"], false);
        assert_eq!(sub["pin_to_top"], true);
        assert_eq!(sub["push_notifications"], false);
        assert_eq!(sub["desktop_notifications"], Value::Null);
        let events: Vec<(String, Value)> = t
            .queued_events(me, &q)
            .await
            .iter()
            .map(|e| {
                (
                    e["property"].as_str().unwrap().to_owned(),
                    e["value"].clone(),
                )
            })
            .collect();
        assert_eq!(
            events,
            vec![
                ("color".into(), json!("#abcdef")),
                ("in_home_view".into(), json!(false)),
                ("is_muted".into(), json!(true)),
                ("pin_to_top".into(), json!(true)),
                ("push_notifications".into(), json!(false)),
            ]
        );
        // register's subscriptions carry them too.
        let r = t
            .post(
                "/api/v1/register",
                Some(me),
                &[("fetch_event_types", r#"["subscription"]"#)],
            )
            .await;
        let sub = r.ok()["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["stream_id"] == general)
            .cloned()
            .unwrap();
        assert_eq!(sub["is_muted"], true);
        assert_eq!(sub["pin_to_top"], true);
    }
);

both!(bad_properties_change_nothing, |t: TestApp| async move {
    let (_, key) = t.user(MEMBER, Role::Member).await;
    let me = (MEMBER, key.as_str());
    let general = t.stream_id(me, "general").await;
    // A channel the member is not subscribed to.
    t.post(
        "/api/v1/users/me/subscriptions",
        Some(t.owner()),
        &[("subscriptions", r#"[{"name": "elsewhere"}]"#)],
    )
    .await
    .ok();
    let elsewhere = t.stream_id(me, "elsewhere").await;
    let good = json!({"stream_id": general, "property": "pin_to_top", "value": true});
    let cases = [
        (
            json!([good, {"stream_id": general, "property": "bogus", "value": true}]),
            "Unknown subscription property: bogus".to_owned(),
        ),
        (
            json!([good, {"stream_id": general, "property": "color", "value": "red"}]),
            "color is not a valid hex color code".into(),
        ),
        (
            json!([good, {"stream_id": general, "property": "is_muted", "value": "yes"}]),
            "is_muted is not a boolean".into(),
        ),
        (
            json!([good, {"stream_id": elsewhere, "property": "is_muted", "value": true}]),
            format!("Not subscribed to channel ID {elsewhere}"),
        ),
        (
            json!([good, {"stream_id": 999999, "property": "is_muted", "value": true}]),
            "Invalid channel ID".into(),
        ),
        (
            json!([{"property": "is_muted", "value": true}]),
            "stream_id key is missing from subscription_data[0]".into(),
        ),
        (
            json!([{"stream_id": general, "property": "is_muted", "value": 3}]),
            "subscription_data[0][\"value\"] is not an allowed_type".into(),
        ),
        (json!({"a": 1}), "subscription_data is not a list".into()),
    ];
    for (data, msg) in cases {
        let r = t
            .post(
                "/api/v1/users/me/subscriptions/properties",
                Some(me),
                &[("subscription_data", &data.to_string())],
            )
            .await;
        r.error(400, "BAD_REQUEST", &msg);
    }
    let sub = my_subscription(&t, me, "general").await;
    assert_eq!(sub["pin_to_top"], false, "nothing was stored");
});

both!(
    patch_adds_and_removes_in_one_call,
    |t: TestApp| async move {
        let (member_id, key) = t.user(MEMBER, Role::Member).await;
        let me = (MEMBER, key.as_str());
        let r = t
            .request(
                Method::PATCH,
                "/api/v1/users/me/subscriptions",
                Some(me),
                &[
                    (
                        "add",
                        r##"[{"name": "fresh", "color": "#123456"}, {"name": "general"}]"##,
                    ),
                    ("delete", r#"["general"]"#),
                ],
                &[],
            )
            .await;
        let body = r.ok();
        assert_eq!(
            body["subscribed"],
            json!({member_id.to_string(): ["fresh"]})
        );
        assert_eq!(
            body["already_subscribed"],
            json!({member_id.to_string(): ["general"]})
        );
        assert_eq!(body["removed"], json!(["general"]));
        assert_eq!(body["not_removed"], json!([]));
        assert_eq!(my_subscription(&t, me, "fresh").await["color"], "#123456");
        assert_eq!(my_subscription(&t, me, "general").await, Value::Null);

        let r = t
            .request(
                Method::PATCH,
                "/api/v1/users/me/subscriptions",
                Some(me),
                &[],
                &[],
            )
            .await;
        r.error(
            400,
            "BAD_REQUEST",
            "Nothing to do. Specify at least one of \"add\" or \"delete\".",
        );
        let r = t
            .request(
                Method::PATCH,
                "/api/v1/users/me/subscriptions",
                Some(me),
                &[("add", r##"[{"name": "x", "colour": "#fff"}]"##)],
                &[],
            )
            .await;
        r.error(400, "BAD_REQUEST", "Unexpected arguments: colour");
        // A refused call changes nothing: the channel to join is not created.
        let r = t
            .request(
                Method::PATCH,
                "/api/v1/users/me/subscriptions",
                Some(me),
                &[
                    ("add", r#"[{"name": "never made"}]"#),
                    ("delete", r#"["no such channel"]"#),
                ],
                &[],
            )
            .await;
        r.error(
            400,
            "BAD_REQUEST",
            "Channel(s) (no such channel) do not exist",
        );
        let streams = t.get("/api/v1/streams", Some(t.owner())).await;
        assert!(
            !streams.ok()["streams"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["name"] == "never made")
        );
        // Guests may not, even only to leave.
        let (_, guest_key) = t.user("subprops-guest@tessera.test", Role::Guest).await;
        let r = t
            .request(
                Method::PATCH,
                "/api/v1/users/me/subscriptions",
                Some(("subprops-guest@tessera.test", &guest_key)),
                &[("delete", r#"["general"]"#)],
                &[],
            )
            .await;
        r.error(400, "BAD_REQUEST", "Not allowed for guest users");
    }
);
