//! The organization's message and channel policies hold: editing (`allow_message_editing`,
//! the content time limit with Zulip's 20 s grace, `edit_topic_policy`, the topic time limit
//! administrators and moderators are exempt from), deleting (`delete_own_message_policy`, its
//! time limit), `mandatory_topics`, and who may create channels.

use crate::both;
use crate::helpers::TestApp;
use axum::http::Method;
use tessera_core::Role;

const MEMBER: &str = "policy-member@tessera.test";
const OTHER: &str = "policy-other@tessera.test";

async fn send(t: &TestApp, who: (&str, &str), topic: &str) -> i64 {
    t.send_to_channel(who, "general", topic, "text").await
}

async fn realm(t: &TestApp, form: &[(&str, &str)]) {
    t.request(Method::PATCH, "/api/v1/realm", Some(t.owner()), form, &[])
        .await
        .ok();
}

both!(
    edits_follow_the_organization_policies,
    |t: TestApp| async move {
        let (_, key) = t.user(MEMBER, Role::Member).await;
        let member = (MEMBER, key.as_str());
        let (_, other_key) = t.user(OTHER, Role::Member).await;
        let other = (OTHER, other_key.as_str());
        let id = send(&t, member, "first").await;
        let path = format!("/api/v1/messages/{id}");
        let edit = async |who: (&str, &str), form: &[(&str, &str)]| {
            t.request(Method::PATCH, &path, Some(who), form, &[]).await
        };
        // Anyone may retitle a topic by default (edit_topic_policy 5), not the content.
        edit(other, &[("topic", "renamed")]).await.ok();
        edit(other, &[("content", "mine now")]).await.error(
            400,
            "BAD_REQUEST",
            "You don't have permission to edit this message",
        );
        // An unchanged topic alone is nothing to change.
        edit(member, &[("topic", "renamed")])
            .await
            .error(400, "BAD_REQUEST", "Nothing to change");
        // Content: 600 s plus 20 s of grace.
        t.clock.advance_secs(615.0);
        edit(member, &[("content", "still in time")]).await.ok();
        t.clock.advance_secs(10.0);
        edit(member, &[("content", "too late")]).await.error(
            400,
            "BAD_REQUEST",
            "The time limit for editing this message has passed",
        );
        realm(
            &t,
            &[("message_content_edit_limit_seconds", "\"unlimited\"")],
        )
        .await;
        edit(member, &[("content", "no limit now")]).await.ok();
        realm(&t, &[("allow_message_editing", "false")]).await;
        edit(member, &[("content", "off")]).await.error(
            400,
            "BAD_REQUEST",
            "Your organization has turned off message editing",
        );
        // Topics: only administrators when the policy says so; a week for the others.
        realm(&t, &[("edit_topic_policy", "2")]).await;
        edit(member, &[("topic", "mine")]).await.error(
            400,
            "BAD_REQUEST",
            "You don't have permission to edit this message",
        );
        realm(&t, &[("edit_topic_policy", "5")]).await;
        t.clock.advance_secs(7.0 * 86_400.0);
        edit(member, &[("topic", "mine")]).await.error(
            400,
            "BAD_REQUEST",
            "The time limit for editing this message's topic has passed.",
        );
        edit(t.owner(), &[("topic", "by the owner")]).await.ok();
    }
);

both!(
    deletes_follow_the_organization_policies,
    |t: TestApp| async move {
        let (_, key) = t.user(MEMBER, Role::Member).await;
        let member = (MEMBER, key.as_str());
        let a = send(&t, member, "t").await;
        let b = send(&t, member, "t").await;
        let c = send(&t, member, "t").await;
        let del = |id: i64| format!("/api/v1/messages/{id}");
        t.delete(&del(a), Some(member)).await.ok();
        t.clock.advance_secs(601.0);
        t.delete(&del(b), Some(member)).await.error(
            400,
            "BAD_REQUEST",
            "The time limit for deleting this message has passed",
        );
        realm(&t, &[("delete_own_message_policy", "2")]).await;
        realm(
            &t,
            &[("message_content_delete_limit_seconds", "\"unlimited\"")],
        )
        .await;
        t.delete(&del(b), Some(member)).await.error(
            400,
            "BAD_REQUEST",
            "You don't have permission to delete this message",
        );
        // Administrators delete anything, any time.
        t.delete(&del(c), Some(t.owner())).await.ok();
    }
);

both!(
    mandatory_topics_and_channel_creation,
    |t: TestApp| async move {
        let (_, key) = t.user(MEMBER, Role::Member).await;
        let member = (MEMBER, key.as_str());
        realm(&t, &[("mandatory_topics", "true")]).await;
        for topic in ["(no topic)", ""] {
            let r = t
                .post(
                    "/api/v1/messages",
                    Some(member),
                    &[
                        ("type", "stream"),
                        ("to", "general"),
                        ("topic", topic),
                        ("content", "x"),
                    ],
                )
                .await;
            r.error(
                400,
                "BAD_REQUEST",
                "Topics are required in this organization",
            );
        }
        send(&t, member, "a topic").await;

        let groups = t.get("/api/v1/user_groups", Some(t.owner())).await;
        let admins = groups.ok()["user_groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == "role:administrators")
            .unwrap()["id"]
            .to_string();
        realm(&t, &[("can_create_public_channel_group", &admins)]).await;
        let r = t
            .post(
                "/api/v1/users/me/subscriptions",
                Some(member),
                &[("subscriptions", r#"[{"name": "brand new"}]"#)],
            )
            .await;
        r.error(400, "BAD_REQUEST", "Insufficient permission");
        // Private channels are still open to members; existing ones may always be joined.
        t.post(
            "/api/v1/users/me/subscriptions",
            Some(member),
            &[
                ("subscriptions", r#"[{"name": "members private"}]"#),
                ("invite_only", "true"),
            ],
        )
        .await
        .ok();
        t.post(
            "/api/v1/users/me/subscriptions",
            Some(t.owner()),
            &[("subscriptions", r#"[{"name": "brand new"}]"#)],
        )
        .await
        .ok();
        t.post(
            "/api/v1/users/me/subscriptions",
            Some(member),
            &[("subscriptions", r#"[{"name": "brand new"}]"#)],
        )
        .await
        .ok();
    }
);
