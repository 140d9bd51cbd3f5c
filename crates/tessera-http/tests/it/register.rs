//! `POST /register`: the whole snapshot, checked against what the Zulip Flutter app parses
//! (`tests/data/flutter_models.json`, written by us from reading its models), and the state
//! tessera keeps read back from the store: system groups, recent conversations, starred
//! messages, personal settings.

use crate::both;
use crate::helpers::TestApp;
use axum::http::Method;
use serde_json::{Value, json};
use tessera_core::Role;

const MEMBER: &str = "member@tessera.test";
const MODELS: &str = include_str!("../data/flutter_models.json");

/// Flutter's register parameters (`registerQueue`).
const FLUTTER: [(&str, &str); 5] = [
    ("apply_markdown", "true"),
    ("client_gravatar", "false"),
    ("slim_presence", "true"),
    ("idle_queue_timeout", "\"mobile\""),
    (
        "client_capabilities",
        r#"{"notification_settings_null":true,"bulk_message_deletion":true,"user_avatar_url_field_optional":true,"stream_typing_notifications":true,"user_settings_object":true,"include_deactivated_groups":true,"empty_topic_name":true,"individual_emoji_changes":true}"#,
    ),
];

/// Check `v` against a type of the models file's grammar; problems go to `errs`.
fn check(models: &Value, ty: &str, v: &Value, at: &str, errs: &mut Vec<String>) {
    let (ty, optional) = match ty.strip_suffix('?') {
        Some(t) => (t, true),
        None => (ty, false),
    };
    if v.is_null() {
        if !optional {
            errs.push(format!("{at}: null or missing, the app requires {ty}"));
        }
        return;
    }
    let ok = match ty {
        "int" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "string" => v.is_string(),
        "bool" => v.is_boolean(),
        "any" => true,
        _ if ty.starts_with('[') => {
            let inner = &ty[1..ty.len() - 1];
            match v.as_array() {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        check(models, inner, item, &format!("{at}[{i}]"), errs);
                    }
                    true
                }
                None => false,
            }
        }
        _ if ty.starts_with("{string:") => {
            let inner = &ty["{string:".len()..ty.len() - 1];
            match v.as_object() {
                Some(map) => {
                    for (k, item) in map {
                        check(models, inner, item, &format!("{at}.{k}"), errs);
                    }
                    true
                }
                None => false,
            }
        }
        _ if ty.starts_with('@') => {
            check_object(models, &ty[1..], v, at, errs);
            true
        }
        other => panic!("unknown type {other} in the models file"),
    };
    if !ok {
        errs.push(format!("{at}: expected {ty}, got {v}"));
    }
}

fn check_object(models: &Value, name: &str, v: &Value, at: &str, errs: &mut Vec<String>) {
    let Some(fields) = models["objects"][name].as_object() else {
        panic!("{name} is not in the models file");
    };
    if !v.is_object() {
        errs.push(format!("{at}: expected object {name}, got {v}"));
        return;
    }
    for (key, ty) in fields {
        if key.starts_with('_') {
            continue;
        }
        let ty = ty.as_str().unwrap();
        check(models, ty, &v[key], &format!("{at}.{key}"), errs);
    }
}

fn check_event(models: &Value, name: &str, v: &Value, errs: &mut Vec<String>) {
    let Some(fields) = models["events"][name].as_object() else {
        panic!("event {name} is not in the models file");
    };
    for (key, ty) in fields {
        if key.starts_with('_') {
            continue;
        }
        check(
            models,
            ty.as_str().unwrap(),
            &v[key],
            &format!("{name}.{key}"),
            errs,
        );
    }
}

async fn poll(t: &TestApp, who: (&str, &str), queue: &str) -> Vec<Value> {
    let r = t
        .get(
            &format!("/api/v1/events?queue_id={queue}&last_event_id=-1&dont_block=true"),
            Some(who),
        )
        .await;
    r.ok()["events"].as_array().unwrap().clone()
}

both!(
    flutter_parses_register_and_events,
    |t: TestApp| async move {
        let models: Value = serde_json::from_str(MODELS).unwrap();
        let (member_id, key) = t.user(MEMBER, Role::Member).await;
        let me = (MEMBER, key.as_str());
        // Some state of every kind tessera keeps: a bot, a DM, a starred message, a channel.
        t.bot(t.owner(), "flutter-test", 1).await;
        t.post(
            "/api/v1/messages",
            Some(t.owner()),
            &[
                ("type", "direct"),
                ("to", &format!("[{member_id}]")),
                ("content", "hello"),
            ],
        )
        .await
        .ok();
        let state = t.post("/api/v1/register", Some(me), &FLUTTER).await;
        let state = state.ok().clone();
        assert!(
            state["realm_users"][0].get("is_active").is_none(),
            "Zulip drops it"
        );
        // As the app does: only inside the three user lists, a missing is_active is filled in
        // from the list the user is in.
        let mut parsed = state.clone();
        for (list, active) in [
            ("realm_users", true),
            ("realm_non_active_users", false),
            ("cross_realm_bots", true),
        ] {
            for u in parsed[list].as_array_mut().unwrap() {
                if u.get("is_active").is_none() {
                    u["is_active"] = json!(active);
                }
            }
        }
        let state = parsed;
        let mut errs = Vec::new();
        check_object(&models, "InitialSnapshot", &state, "register", &mut errs);
        assert!(
            errs.is_empty(),
            "the Flutter app could not parse register:\n{}",
            errs.join("\n")
        );
        // The app looks itself up in realm_users; Welcome Bot is a system bot.
        let users = state["realm_users"].as_array().unwrap();
        assert!(users.iter().any(|u| u["user_id"] == member_id));
        assert!(users.iter().all(|u| u["full_name"] != "Welcome Bot"));
        let system = state["cross_realm_bots"].as_array().unwrap();
        assert_eq!(system.len(), 1, "{system:?}");
        assert_eq!(system[0]["full_name"], "Welcome Bot");
        assert_eq!(system[0]["is_system_bot"], true);
        // With user_settings_object, the settings are only in user_settings.
        assert!(state.get("enter_sends").is_none());
        assert_eq!(state["user_settings"]["enter_sends"], false);

        // Events the app parses: message (stream and direct), subscription add, stream create.
        let queue = state["queue_id"].as_str().unwrap().to_owned();
        t.post(
            "/api/v1/users/me/subscriptions",
            Some(me),
            &[("subscriptions", r#"[{"name":"flutter-channel"}]"#)],
        )
        .await
        .ok();
        t.post(
            "/api/v1/messages",
            Some(me),
            &[
                ("type", "stream"),
                ("to", "flutter-channel"),
                ("topic", "t"),
                ("content", "in a channel"),
            ],
        )
        .await
        .ok();
        t.post(
            "/api/v1/messages",
            Some(t.owner()),
            &[
                ("type", "private"),
                ("to", &format!("[{member_id}]")),
                ("content", "direct"),
            ],
        )
        .await
        .ok();
        let events = poll(&t, me, &queue).await;
        let mut seen = Vec::new();
        for e in &events {
            let name = match (e["type"].as_str().unwrap(), e["op"].as_str()) {
                (ty, Some(op)) => format!("{ty}/{op}"),
                (ty, None) => ty.to_owned(),
            };
            if models["events"].get(&name).is_none() {
                continue;
            }
            check_event(&models, &name, e, &mut errs);
            if name == "message" {
                let mut m = e["message"].clone();
                m["flags"] = e["flags"].clone();
                let object = if m["type"] == "stream" {
                    "StreamMessage"
                } else {
                    "DmMessage"
                };
                check_object(&models, object, &m, "message event", &mut errs);
            }
            seen.push(name);
        }
        assert!(
            errs.is_empty(),
            "the Flutter app could not parse events:\n{}",
            errs.join("\n")
        );
        for want in ["subscription/add", "stream/create", "message"] {
            assert!(
                seen.iter().any(|s| s == want),
                "no {want} event in {seen:?}"
            );
        }
        assert_eq!(
            seen.iter().filter(|s| *s == "message").count(),
            2,
            "{seen:?}"
        );
    }
);

both!(register_reads_kept_state, |t: TestApp| async move {
    let (member_id, key) = t.user(MEMBER, Role::Member).await;
    let me = (MEMBER, key.as_str());
    let owner_id = t.get("/api/v1/users/me", Some(t.owner())).await.ok()["user_id"]
        .as_i64()
        .unwrap();
    // A DM from the owner, then a note to self: two conversations, newest first.
    let dm = t
        .post(
            "/api/v1/messages",
            Some(t.owner()),
            &[
                ("type", "private"),
                ("to", &format!("[{member_id}]")),
                ("content", "a"),
            ],
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let note = t
        .post(
            "/api/v1/messages",
            Some(me),
            &[
                ("type", "private"),
                ("to", &format!("[{member_id}]")),
                ("content", "b"),
            ],
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    t.post(
        "/api/v1/messages/flags",
        Some(me),
        &[
            ("messages", &format!("[{dm}]")),
            ("op", "add"),
            ("flag", "starred"),
        ],
    )
    .await
    .ok();
    let state = t.post("/api/v1/register", Some(me), &[]).await.ok().clone();
    let recent = state["recent_private_conversations"].as_array().unwrap();
    let welcome = state["cross_realm_bots"][0]["user_id"].as_i64().unwrap();
    assert_eq!(
        recent.first(),
        Some(&json!({"max_message_id": note, "user_ids": []})),
        "{recent:?}"
    );
    assert!(recent.contains(&json!({"max_message_id": dm, "user_ids": [owner_id]})));
    assert!(recent.iter().any(|c| c["user_ids"] == json!([welcome])));
    assert_eq!(state["starred_messages"], json!([dm]));

    // System groups: members follow roles, subgroups chain up from owners.
    let groups = state["realm_user_groups"].as_array().unwrap();
    let names: Vec<&str> = groups.iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(names, tessera_app::SYSTEM_GROUPS.map(|(n, _)| n).to_vec());
    let group = |name: &str| groups.iter().find(|g| g["name"] == name).unwrap().clone();
    assert_eq!(group("role:owners")["members"], json!([owner_id]));
    assert!(
        group("role:members")["members"]
            .as_array()
            .unwrap()
            .contains(&json!(member_id))
    );
    assert_eq!(group("role:nobody")["members"], json!([]));
    assert_eq!(
        group("role:administrators")["direct_subgroup_ids"],
        json!([group("role:owners")["id"]])
    );
    assert!(groups.iter().all(|g| g["is_system_group"] == true));
    // Group-setting values name those groups.
    assert_eq!(
        state["realm_can_create_public_channel_group"],
        group("role:members")["id"]
    );
    let channel = &state["streams"][0];
    assert_eq!(
        channel["can_remove_subscribers_group"],
        group("role:administrators")["id"]
    );
    assert!(state["subscriptions"][0].get("email_address").is_none());
    // The same ids on the next register (the groups are rows, made once).
    let again = t
        .post("/api/v1/register", Some(t.owner()), &[])
        .await
        .ok()
        .clone();
    assert_eq!(again["realm_user_groups"], state["realm_user_groups"]);

    // Only what was asked for, plus the queue keys.
    let only = t
        .post(
            "/api/v1/register",
            Some(me),
            &[(
                "fetch_event_types",
                r#"["alert_words","realm_user_groups"]"#,
            )],
        )
        .await
        .ok()
        .clone();
    let mut keys: Vec<&str> = only
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "alert_words",
            "event_queue_longpoll_timeout_seconds",
            "last_event_id",
            "msg",
            "queue_id",
            "realm_user_groups",
            "result",
            "zulip_feature_level",
            "zulip_merge_base",
            "zulip_version"
        ]
    );
    // Without user_settings_object, the legacy flat settings come too.
    let legacy = t
        .post(
            "/api/v1/register",
            Some(me),
            &[("fetch_event_types", r#"["update_display_settings"]"#)],
        )
        .await
        .ok()
        .clone();
    assert_eq!(legacy["emojiset"], "google");
    assert_eq!(
        legacy["emojiset_choices"][0],
        json!({"key": "google", "text": "Google"})
    );
    assert!(legacy.get("enable_sounds").is_none());
    let _ = t
        .request(Method::DELETE, "/api/v1/events", Some(me), &[], &[])
        .await;
});
