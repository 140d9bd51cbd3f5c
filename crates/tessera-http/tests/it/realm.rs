//! `PATCH /realm`: administrators change organization settings; values are checked, stored,
//! read back by `register` and `server_settings`, audited and announced to everyone.

use crate::both;
use crate::helpers::TestApp;
use axum::http::Method;
use serde_json::{Value, json};
use tessera_core::Role;

async fn patch(t: &TestApp, who: (&str, &str), form: &[(&str, &str)]) -> crate::helpers::Resp {
    t.request(Method::PATCH, "/api/v1/realm", Some(who), form, &[])
        .await
}

fn group_id(state: &Value, name: &str) -> i64 {
    state["realm_user_groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == name)
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

both!(
    realm_settings_are_stored_and_announced,
    |t: TestApp| async move {
        let (_, key) = t.user("realm-member@tessera.test", Role::Member).await;
        let member = ("realm-member@tessera.test", key.as_str());
        let before = t
            .post("/api/v1/register", Some(member), &[])
            .await
            .ok()
            .clone();
        let admins = group_id(&before, "role:administrators");
        let admins_text = admins.to_string();
        let r = patch(
            &t,
            t.owner(),
            &[
                ("name", "Renamed Organization"),
                ("mandatory_topics", "true"),
                ("message_content_edit_limit_seconds", "unlimited"),
                ("bot_creation_policy", "2"),
                ("can_create_public_channel_group", &admins_text),
                ("allow_message_editing", "true"), // already so: not in the answer, no event
            ],
        )
        .await;
        let body = r.ok();
        assert_eq!(body["name"], "updated");
        assert_eq!(body["mandatory_topics"], true);
        assert_eq!(body["message_content_edit_limit_seconds"], Value::Null);
        assert_eq!(body["bot_creation_policy"], 2);
        assert_eq!(body["can_create_public_channel_group"], admins);
        assert!(body.get("allow_message_editing").is_none());

        let after = t
            .post("/api/v1/register", Some(member), &[])
            .await
            .ok()
            .clone();
        assert_eq!(after["realm_name"], "Renamed Organization");
        assert_eq!(after["realm_mandatory_topics"], true);
        assert_eq!(
            after["realm_message_content_edit_limit_seconds"],
            Value::Null
        );
        assert_eq!(after["realm_bot_creation_policy"], 2);
        assert_eq!(after["realm_can_create_public_channel_group"], admins);
        let server = t.get("/api/v1/server_settings", None).await;
        assert_eq!(server.ok()["realm_name"], "Renamed Organization");

        // In Zulip's order of the settings, whatever the order sent.
        let update =
            |p: &str, v: Value| json!({"type": "realm", "op": "update", "property": p, "value": v});
        assert_eq!(
            t.queued_events(member, before["queue_id"].as_str().unwrap())
                .await,
            vec![
                update("name", json!("Renamed Organization")),
                update("message_content_edit_limit_seconds", Value::Null),
                update("mandatory_topics", json!(true)),
                update("bot_creation_policy", json!(2)),
                json!({"type": "realm", "op": "update_dict", "property": "default",
                   "data": {"can_create_public_channel_group": admins}}),
            ]
        );
        // What the settings govern: with bot_creation_policy 2, members may add only bots that
        // are not generic; with name changes disabled, a member's new name is ignored.
        let generic = [
            ("full_name", "Policy Bot"),
            ("short_name", "policy"),
            ("bot_type", "1"),
        ];
        t.post("/api/v1/bots", Some(member), &generic).await.error(
            400,
            "UNAUTHORIZED_PRINCIPAL",
            "Must be an organization administrator",
        );
        let webhook = [
            ("full_name", "Policy Hook"),
            ("short_name", "policyhook"),
            ("bot_type", "2"),
        ];
        t.post("/api/v1/bots", Some(member), &webhook).await.ok();
        patch(&t, t.owner(), &[("name_changes_disabled", "true")])
            .await
            .ok();
        t.request(
            Method::PATCH,
            "/api/v1/settings",
            Some(member),
            &[("full_name", "Another Name")],
            &[],
        )
        .await
        .ok();
        let me = t.get("/api/v1/users/me", Some(member)).await;
        assert_eq!(me.ok()["full_name"], "Some Person");

        // One audit row per change (REALM_PROPERTY_CHANGED), by the owner, old and new values.
        let rows = t
            .app
            .store()
            .audit_for_realm(1, tessera_store::AuditEvent::RealmPropertyChanged)
            .await
            .unwrap();
        assert_eq!(rows.len(), 6);
        assert!(rows.iter().all(|r| r.acting_user_id == Some(1)));
        let extra: Value = serde_json::from_str(rows[2].extra_data.as_deref().unwrap()).unwrap();
        assert_eq!(
            extra,
            json!({"1": false, "2": true, "property": "mandatory_topics"})
        );
    }
);

both!(
    realm_changes_need_the_right_role_and_values,
    |t: TestApp| async move {
        let (_, member_key) = t.user("realm-member@tessera.test", Role::Member).await;
        let member = ("realm-member@tessera.test", member_key.as_str());
        let (_, admin_key) = t.user("realm-admin@tessera.test", Role::Admin).await;
        let admin = ("realm-admin@tessera.test", admin_key.as_str());
        patch(&t, member, &[("mandatory_topics", "true")])
            .await
            .error(
                400,
                "UNAUTHORIZED_PRINCIPAL",
                "Must be an organization administrator",
            );
        patch(&t, admin, &[("invite_required", "false")])
            .await
            .error(
                400,
                "UNAUTHORIZED_PRINCIPAL",
                "Must be an organization owner",
            );
        let state = t
            .post("/api/v1/register", Some(admin), &[])
            .await
            .ok()
            .clone();
        let internet = group_id(&state, "role:internet").to_string();
        let cases: [(&[(&str, &str)], &str); 6] = [
            (
                &[("mandatory_topics", "true"), ("bot_creation_policy", "9")],
                "Invalid bot_creation_policy",
            ),
            (
                &[("mandatory_topics", "yes")],
                "mandatory_topics is not valid JSON",
            ),
            (
                &[("message_content_edit_limit_seconds", "0")],
                "Bad value for 'message_content_edit_limit_seconds': 0",
            ),
            (
                &[("can_create_public_channel_group", &internet)],
                "'can_create_public_channel_group' setting cannot be set to 'role:internet' group.",
            ),
            (
                &[("can_create_private_channel_group", "999999")],
                "Invalid user group",
            ),
            (
                &[("signup_announcements_stream_id", "999999")],
                "Invalid channel ID",
            ),
        ];
        for (form, msg) in cases {
            patch(&t, admin, form).await.error(400, "BAD_REQUEST", msg);
        }
        let state = t
            .post("/api/v1/register", Some(admin), &[])
            .await
            .ok()
            .clone();
        assert_eq!(state["realm_mandatory_topics"], false);
        // An administrator may change the rest.
        let r = patch(&t, admin, &[("description", "About us")]).await;
        assert_eq!(r.ok()["description"], "updated");
        let state = t
            .post("/api/v1/register", Some(admin), &[])
            .await
            .ok()
            .clone();
        assert_eq!(state["realm_description"], "About us");
    }
);
