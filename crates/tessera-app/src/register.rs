//! `POST /register`: a new event queue plus the initial state the client asked for.

use crate::auth::Principal;
use crate::events::QueueOptions;
use crate::{App, Result, ZULIP_FEATURE_LEVEL, ZULIP_VERSION};
use serde_json::{Map, Value, json};
use std::collections::HashSet;
use tessera_store::{MessageFilter, MessageQuery, RECIPIENT_STREAM};

/// What the client sent.
#[derive(Debug, Clone, Default)]
pub struct RegisterRequest {
    pub event_types: Option<Vec<String>>,
    pub fetch_event_types: Option<Vec<String>>,
    pub narrow: Vec<(String, String, bool)>,
    pub apply_markdown: bool,
    pub client_gravatar: bool,
    pub all_public_streams: bool,
    pub include_subscribers: bool,
    pub slim_presence: bool,
    pub bulk_message_deletion: bool,
}

/// The state types tessera can fill.
const KNOWN: [&str; 10] = [
    "message",
    "subscription",
    "realm_user",
    "realm_bot",
    "presence",
    "stream",
    "realm",
    "update_message_flags",
    "default_streams",
    "recent_private_conversations",
];

impl App {
    /// `POST /register`.
    pub async fn register(&self, who: &Principal, req: RegisterRequest) -> Result<Value> {
        let options = QueueOptions {
            event_types: req
                .event_types
                .as_ref()
                .map(|t| t.iter().cloned().collect()),
            apply_markdown: req.apply_markdown,
            client_gravatar: req.client_gravatar,
            all_public_streams: req.all_public_streams,
            bulk_message_deletion: req.bulk_message_deletion,
            narrow: req.narrow.clone(),
        };
        // The queue exists before the state is read, so nothing falls between them.
        let queue = self
            .events()
            .create(who.user_id.0, who.realm_id, options, self.now());
        let wanted: HashSet<String> = req
            .fetch_event_types
            .clone()
            .or(req.event_types.clone())
            .map(|t| t.into_iter().collect())
            .unwrap_or_else(|| KNOWN.iter().map(|s| s.to_string()).collect());
        let mut state = Map::new();
        state.insert("queue_id".into(), json!(queue.id));
        state.insert("zulip_version".into(), json!(ZULIP_VERSION));
        state.insert("zulip_feature_level".into(), json!(ZULIP_FEATURE_LEVEL));
        state.insert("zulip_merge_base".into(), json!(ZULIP_VERSION));
        let me = self.user_row(who.user_id.0).await?;
        if wanted.contains("message") {
            state.insert(
                "max_message_id".into(),
                json!(self.store().max_message_id(me.id).await?),
            );
        }
        if wanted.contains("subscription") {
            let mut subs = Vec::new();
            let mut unsubscribed = Vec::new();
            let mut seen = HashSet::new();
            for s in self.store().subscriptions_of(me.id).await? {
                seen.insert(s.stream.id);
                let subscribers = if req.include_subscribers {
                    Some(self.store().subscriber_ids(s.stream.id).await?)
                } else {
                    None
                };
                let d = self.subscription_dict(&s, subscribers);
                if s.active {
                    subs.push(d)
                } else {
                    unsubscribed.push(d)
                }
            }
            let never: Vec<Value> = self
                .visible_streams(who, true, false)
                .await?
                .iter()
                .filter(|s| !seen.contains(&s.id))
                .map(|s| {
                    let mut d = self.stream_dict(s);
                    if let Some(m) = d.as_object_mut() {
                        m.remove("is_default");
                    }
                    d
                })
                .collect();
            state.insert("subscriptions".into(), json!(subs));
            state.insert("unsubscribed".into(), json!(unsubscribed));
            state.insert("never_subscribed".into(), json!(never));
        }
        if wanted.contains("message") && wanted.contains("update_message_flags") {
            state.insert("unread_msgs".into(), self.unread_msgs(who).await?);
        }
        if wanted.contains("realm_user") {
            let users = self.store().users_in_realm(who.realm_id).await?;
            let (active, inactive): (Vec<_>, Vec<_>) = users.iter().partition(|u| u.is_active);
            let strip = |v: Value| {
                let mut v = v;
                if let Some(m) = v.as_object_mut() {
                    m.remove("is_active");
                }
                v
            };
            state.insert(
                "realm_users".into(),
                json!(
                    active
                        .iter()
                        .map(|u| strip(self.user_dict(u)))
                        .collect::<Vec<_>>()
                ),
            );
            state.insert(
                "realm_non_active_users".into(),
                json!(
                    inactive
                        .iter()
                        .map(|u| strip(self.user_dict(u)))
                        .collect::<Vec<_>>()
                ),
            );
            state.insert("cross_realm_bots".into(), json!([]));
            state.insert("avatar_source".into(), json!("G"));
            state.insert("avatar_url".into(), json!(self.avatar_url(&me)));
            state.insert("avatar_url_medium".into(), json!(self.avatar_url(&me)));
            state.insert(
                "can_create_streams".into(),
                json!(who.role != tessera_core::Role::Guest),
            );
            state.insert(
                "can_create_public_streams".into(),
                json!(who.role != tessera_core::Role::Guest),
            );
            state.insert(
                "can_create_private_streams".into(),
                json!(who.role != tessera_core::Role::Guest),
            );
            state.insert(
                "can_subscribe_other_users".into(),
                json!(who.role != tessera_core::Role::Guest),
            );
            state.insert("is_admin".into(), json!(who.role.is_admin()));
            state.insert(
                "is_owner".into(),
                json!(who.role == tessera_core::Role::Owner),
            );
            state.insert(
                "is_moderator".into(),
                json!(who.role == tessera_core::Role::Moderator),
            );
            state.insert(
                "is_guest".into(),
                json!(who.role == tessera_core::Role::Guest),
            );
            state.insert("user_id".into(), json!(me.id));
            state.insert("email".into(), json!(me.email));
            state.insert("delivery_email".into(), json!(me.delivery_email));
            state.insert("full_name".into(), json!(me.full_name));
        }
        if wanted.contains("realm_bot") {
            let bots = if who.is_bot() || who.require_member_or_admin().is_err() {
                Vec::new()
            } else {
                self.list_visible_bots(who).await?
            };
            let list: Vec<Value> = bots.iter().map(|b| self.realm_bot_dict(&b.user)).collect();
            state.insert("realm_bots".into(), json!(list));
        }
        if wanted.contains("presence") {
            state.insert(
                "presences".into(),
                self.presences(who.realm_id, req.slim_presence).await?,
            );
            state.insert("server_timestamp".into(), json!(self.now() as f64 / 1e6));
        }
        if wanted.contains("stream") {
            let streams: Vec<Value> = self
                .visible_streams(who, true, true)
                .await?
                .iter()
                .map(|s| self.stream_dict(s))
                .collect();
            state.insert("streams".into(), json!(streams));
        }
        if wanted.contains("default_streams") {
            let list: Vec<Value> = self
                .store()
                .default_streams(who.realm_id)
                .await?
                .iter()
                .map(|s| self.stream_dict(s))
                .collect();
            state.insert("realm_default_streams".into(), json!(list));
        }
        if wanted.contains("recent_private_conversations") {
            state.insert("recent_private_conversations".into(), json!([]));
        }
        if wanted.contains("realm") {
            let realm = self.realm_by_id(who.realm_id).await?;
            let url = self.realm_url(&realm.string_id);
            state.insert("realm_name".into(), json!(realm.name));
            state.insert("realm_description".into(), json!(realm.description));
            state.insert("realm_uri".into(), json!(url));
            state.insert("realm_url".into(), json!(url));
            state.insert(
                "realm_icon_url".into(),
                json!(self.realm_icon_url(&realm.string_id)),
            );
            state.insert("realm_allow_message_editing".into(), json!(true));
            state.insert(
                "realm_password_auth_enabled".into(),
                json!(realm.password_auth_enabled),
            );
            state.insert(
                "realm_email_auth_enabled".into(),
                json!(realm.password_auth_enabled),
            );
            state.insert(
                "realm_bot_domain".into(),
                json!(self.bot_domain(&realm.string_id)),
            );
            state.insert(
                "max_message_length".into(),
                json!(crate::messages::MAX_MESSAGE_LENGTH),
            );
            state.insert(
                "max_topic_length".into(),
                json!(crate::messages::MAX_TOPIC_LENGTH),
            );
            state.insert("max_stream_name_length".into(), json!(60));
            state.insert("max_stream_description_length".into(), json!(1024));
            state.insert("server_presence_ping_interval_seconds".into(), json!(60));
            state.insert(
                "server_presence_offline_threshold_seconds".into(),
                json!(140),
            );
        }
        state.insert("event_queue_longpoll_timeout_seconds".into(), json!(90));
        state.insert("last_event_id".into(), json!(-1));
        Ok(Value::Object(state))
    }

    /// Zulip's `unread_msgs` summary.
    async fn unread_msgs(&self, who: &Principal) -> Result<Value> {
        let q = MessageQuery {
            user_id: who.user_id.0,
            realm_id: who.realm_id,
            history_stream: None,
            filters: vec![MessageFilter::Unread],
        };
        let rows = self.store().messages_from(&q, 0, 50_000).await?;
        let mut streams: Vec<(i64, String, Vec<i64>)> = Vec::new();
        let mut pms: Vec<(i64, Vec<i64>)> = Vec::new();
        let mut huddles: Vec<(String, Vec<i64>)> = Vec::new();
        let mut mentions = Vec::new();
        for r in &rows {
            if r.flags & (tessera_store::FLAG_MENTIONED | tessera_store::FLAG_WILDCARD_MENTIONED)
                != 0
            {
                mentions.push(r.id);
            }
            if r.recipient_type == RECIPIENT_STREAM {
                match streams
                    .iter_mut()
                    .find(|(s, t, _)| *s == r.recipient_id && t.eq_ignore_ascii_case(&r.topic))
                {
                    Some(e) => e.2.push(r.id),
                    None => streams.push((r.recipient_id, r.topic.clone(), vec![r.id])),
                }
            } else {
                let members = self.store().dm_group_members(r.recipient_id).await?;
                if members.len() <= 2 {
                    let other = members
                        .iter()
                        .copied()
                        .find(|m| *m != who.user_id.0)
                        .unwrap_or(who.user_id.0);
                    match pms.iter_mut().find(|(o, _)| *o == other) {
                        Some(e) => e.1.push(r.id),
                        None => pms.push((other, vec![r.id])),
                    }
                } else {
                    let key = members
                        .iter()
                        .map(|m| m.to_string())
                        .collect::<Vec<_>>()
                        .join(",");
                    match huddles.iter_mut().find(|(k, _)| *k == key) {
                        Some(e) => e.1.push(r.id),
                        None => huddles.push((key, vec![r.id])),
                    }
                }
            }
        }
        Ok(json!({
            "pms": pms.iter().map(|(o, ids)| json!({"other_user_id": o, "sender_id": o, "unread_message_ids": ids})).collect::<Vec<_>>(),
            "streams": streams.iter().map(|(s, t, ids)| json!({"stream_id": s, "topic": t, "unread_message_ids": ids})).collect::<Vec<_>>(),
            "huddles": huddles.iter().map(|(k, ids)| json!({"user_ids_string": k, "unread_message_ids": ids})).collect::<Vec<_>>(),
            "mentions": mentions,
            "count": rows.len(),
            "old_unreads_missing": false,
        }))
    }
}
