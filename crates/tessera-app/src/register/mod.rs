//! `POST /register`: a new event queue plus the initial state the client asked for.
//!
//! One function per state type (Zulip's `fetch_event_types` names), each adding its keys in
//! the order Zulip's document lists them. State tessera keeps is read from the store; a
//! feature tessera does not have answers with Zulip's value for "none configured".

pub(crate) mod realm;

use crate::auth::Principal;
use crate::events::QueueOptions;
use crate::user_groups::RealmGroups;
use crate::{App, Result, ZULIP_FEATURE_LEVEL, ZULIP_VERSION};
use realm::{RealmFacts, RealmState};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::HashSet;
use tessera_core::user_settings::{self, Legacy};
use tessera_store::{MessageFilter, MessageQuery, RECIPIENT_STREAM, UserRow};

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
    /// The `user_settings_object` client capability: settings only in `user_settings`, not
    /// also as legacy top-level keys.
    pub user_settings_object: bool,
    /// The `stream_typing_notifications` capability: typing events for channel topics.
    pub stream_typing_notifications: bool,
}

/// Every state type Zulip's `register` fills, in the order tessera adds them (all of them
/// when the client names none).
pub const STATE_TYPES: [&str; 36] = [
    "alert_words",
    "custom_profile_fields",
    "drafts",
    "onboarding_steps",
    "message",
    "update_message_flags",
    "scheduled_messages",
    "muted_topics",
    "muted_users",
    "presence",
    "realm",
    "realm_domains",
    "realm_emoji",
    "realm_linkifiers",
    "realm_filters",
    "realm_playgrounds",
    "realm_user_groups",
    "realm_bot",
    "realm_embedded_bots",
    "realm_incoming_webhook_bots",
    "recent_private_conversations",
    "subscription",
    "starred_messages",
    "stream",
    "default_streams",
    "default_stream_groups",
    "stop_words",
    "user_status",
    "user_settings",
    "update_display_settings",
    "update_global_notifications",
    "user_topic",
    "video_calls",
    "giphy",
    "realm_user_settings_defaults",
    "realm_user",
];

/// PostgreSQL's English stop words (Zulip's `stop_words` come from the same list).
const STOP_WORDS: &str = include_str!("stop_words.txt");

/// Add a typed state object's fields to the reply.
fn put(state: &mut Map<String, Value>, part: &impl Serialize) {
    if let Ok(Value::Object(m)) = serde_json::to_value(part) {
        state.extend(m);
    }
}

/// The `realm_user` state keys about the caller.
#[derive(Serialize)]
struct SelfState {
    realm_users: Vec<Value>,
    realm_non_active_users: Vec<Value>,
    avatar_source: &'static str,
    avatar_url_medium: String,
    avatar_url: String,
    can_create_streams: bool,
    can_create_public_streams: bool,
    can_create_private_streams: bool,
    can_create_web_public_streams: bool,
    can_subscribe_other_users: bool,
    can_invite_others_to_realm: bool,
    is_admin: bool,
    is_owner: bool,
    is_billing_admin: bool,
    is_moderator: bool,
    is_guest: bool,
    user_id: i64,
    email: String,
    delivery_email: String,
    full_name: String,
    cross_realm_bots: Vec<Value>,
}

/// What several state functions share, read once.
struct Ctx<'a> {
    who: &'a Principal,
    req: &'a RegisterRequest,
    me: UserRow,
    users: Vec<UserRow>,
    groups: RealmGroups,
}

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
            user_settings_object: req.user_settings_object,
            stream_typing_notifications: req.stream_typing_notifications,
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
            .unwrap_or_else(|| STATE_TYPES.iter().map(|s| s.to_string()).collect());
        let want = |t: &str| wanted.contains(t);
        let mut state = Map::new();
        state.insert("queue_id".into(), json!(queue.id));
        state.insert("zulip_version".into(), json!(ZULIP_VERSION));
        state.insert("zulip_feature_level".into(), json!(ZULIP_FEATURE_LEVEL));
        state.insert("zulip_merge_base".into(), json!(ZULIP_VERSION));
        let ctx = Ctx {
            who,
            req: &req,
            me: self.user_row(who.user_id.0).await?,
            users: self.store().users_in_realm(who.realm_id).await?,
            groups: self.realm_groups(who.realm_id).await?,
        };
        let settings = self.personal_settings(&ctx.me).await?;
        if want("alert_words") {
            state.insert("alert_words".into(), json!([]));
        }
        if want("custom_profile_fields") {
            state.insert("custom_profile_fields".into(), json!([]));
            state.insert(
                "custom_profile_field_types".into(),
                custom_profile_field_types(),
            );
        }
        if want("drafts") {
            state.insert("drafts".into(), json!(self.drafts_state(ctx.me.id).await?));
        }
        if want("onboarding_steps") {
            state.insert("onboarding_steps".into(), json!([]));
        }
        if want("message") {
            state.insert(
                "max_message_id".into(),
                json!(self.store().max_message_id(ctx.me.id).await?),
            );
        }
        if want("scheduled_messages") {
            state.insert("scheduled_messages".into(), json!([]));
        }
        // Zulip sends the legacy list only to clients that do not ask for `user_topic`.
        let all_types = req.fetch_event_types.is_none() && req.event_types.is_none();
        if want("muted_topics") && (all_types || !want("user_topic")) {
            state.insert(
                "muted_topics".into(),
                json!(self.muted_topics_state(ctx.me.id).await?),
            );
        }
        if want("muted_users") {
            state.insert("muted_users".into(), json!([]));
        }
        if want("presence") {
            state.insert(
                "presences".into(),
                self.presences(who.realm_id, req.slim_presence).await?,
            );
            state.insert("presence_last_update_id".into(), json!(-1));
            state.insert("server_timestamp".into(), json!(self.now() as f64 / 1e6));
        }
        if want("realm_domains") {
            state.insert("realm_domains".into(), json!([]));
        }
        if want("realm_emoji") {
            state.insert("realm_emoji".into(), json!({}));
        }
        if want("realm_linkifiers") {
            state.insert("realm_linkifiers".into(), json!([]));
        }
        if want("realm_filters") {
            state.insert("realm_filters".into(), json!([]));
        }
        if want("realm_playgrounds") {
            state.insert("realm_playgrounds".into(), json!([]));
        }
        if want("realm_user_groups") {
            state.insert(
                "realm_user_groups".into(),
                json!(ctx.groups.objects(&ctx.users)),
            );
        }
        if want("realm_bot") {
            state.insert(
                "realm_bots".into(),
                json!(self.realm_bots_state(who).await?),
            );
        }
        if want("realm_embedded_bots") {
            state.insert("realm_embedded_bots".into(), json!([]));
        }
        if want("realm_incoming_webhook_bots") {
            state.insert("realm_incoming_webhook_bots".into(), json!([]));
        }
        if want("recent_private_conversations") {
            state.insert(
                "recent_private_conversations".into(),
                self.recent_private_conversations(&ctx).await?,
            );
        }
        if want("subscription") {
            self.subscription_state(&ctx, &mut state).await?;
        }
        if want("message") && want("update_message_flags") {
            state.insert("unread_msgs".into(), self.unread_msgs(who).await?);
        }
        if want("starred_messages") {
            state.insert(
                "starred_messages".into(),
                json!(self.store().starred_message_ids(ctx.me.id).await?),
            );
        }
        if want("stream") {
            let admins = ctx.groups.id("role:administrators");
            let streams: Vec<Value> = self
                .visible_streams(who, true, true)
                .await?
                .iter()
                .map(|s| json!(self.channel_object(s, admins)))
                .collect();
            state.insert("streams".into(), json!(streams));
        }
        if want("default_streams") {
            let admins = ctx.groups.id("role:administrators");
            let list: Vec<Value> = self
                .store()
                .default_streams(who.realm_id)
                .await?
                .iter()
                .map(|s| {
                    // Zulip's default-channel objects carry no traffic figure.
                    let mut d = json!(self.channel_object(s, admins));
                    if let Some(m) = d.as_object_mut() {
                        m.remove("stream_weekly_traffic");
                    }
                    d
                })
                .collect();
            state.insert("realm_default_streams".into(), json!(list));
        }
        if want("default_stream_groups") {
            state.insert("realm_default_stream_groups".into(), json!([]));
        }
        if want("stop_words") {
            let words: Vec<&str> = STOP_WORDS.lines().map(str::trim).collect();
            state.insert("stop_words".into(), json!(words));
        }
        if want("user_status") {
            state.insert(
                "user_status".into(),
                Value::Object(self.user_status_state(who.realm_id).await?),
            );
        }
        if want("user_settings") {
            state.insert("user_settings".into(), Value::Object(settings.clone()));
        }
        if !req.user_settings_object {
            legacy_settings(&mut state, &settings, &wanted);
        }
        if want("user_topic") {
            state.insert(
                "user_topics".into(),
                json!(self.user_topics_state(ctx.me.id).await?),
            );
        }
        if want("video_calls") {
            state.insert("has_zoom_token".into(), json!(false));
        }
        if want("giphy") {
            state.insert("giphy_api_key".into(), json!(""));
        }
        if want("realm") {
            self.realm_state(&ctx, &mut state).await?;
        }
        if want("realm_user_settings_defaults") {
            let mut defaults = Map::new();
            for s in user_settings::SETTINGS
                .iter()
                .filter(|s| s.name != "timezone")
            {
                defaults.insert(s.name.into(), s.default.to_json());
            }
            defaults.insert(
                "available_notification_sounds".into(),
                json!(user_settings::NOTIFICATION_SOUNDS),
            );
            defaults.insert("emojiset_choices".into(), user_settings::emojiset_choices());
            state.insert(
                "realm_user_settings_defaults".into(),
                Value::Object(defaults),
            );
        }
        if want("realm_user") {
            put(&mut state, &self.self_state(&ctx));
        }
        state.insert("event_queue_longpoll_timeout_seconds".into(), json!(90));
        state.insert("last_event_id".into(), json!(-1));
        Ok(Value::Object(state))
    }

    /// The caller's personal settings: Zulip's defaults, overridden by what they changed
    /// (`timezone` and `enable_login_emails` live on the user row).
    pub(crate) async fn personal_settings(&self, me: &UserRow) -> Result<Map<String, Value>> {
        let mut out = Map::new();
        for s in user_settings::SETTINGS {
            out.insert(s.name.into(), s.default.to_json());
        }
        for (name, value) in self.store().user_settings(me.id).await? {
            let (Some(setting), Ok(value)) = (
                user_settings::find(&name),
                serde_json::from_str::<Value>(&value),
            ) else {
                continue;
            };
            if let Ok(v) = user_settings::check(setting, &value) {
                out.insert(name, v);
            }
        }
        out.insert("timezone".into(), json!(me.timezone));
        out.insert("enable_login_emails".into(), json!(me.enable_login_emails));
        out.insert(
            "available_notification_sounds".into(),
            json!(user_settings::NOTIFICATION_SOUNDS),
        );
        out.insert("emojiset_choices".into(), user_settings::emojiset_choices());
        Ok(out)
    }

    /// `realm_bots`: the bots the caller administers (none for bots and guests).
    async fn realm_bots_state(&self, who: &Principal) -> Result<Vec<Value>> {
        if who.is_bot() || who.require_member_or_admin().is_err() {
            return Ok(Vec::new());
        }
        Ok(self
            .list_visible_bots(who)
            .await?
            .iter()
            .filter(|b| !self.is_system_bot(&b.user))
            .map(|b| self.realm_bot_dict(&b.user))
            .collect())
    }

    /// `recent_private_conversations`: the caller's direct-message conversations, newest
    /// first, with the other members (the caller left out, as Zulip does).
    async fn recent_private_conversations(&self, ctx: &Ctx<'_>) -> Result<Value> {
        let me = ctx.me.id;
        let rows = self.store().recent_dm_conversations(me, 1000).await?;
        let list: Vec<Value> = rows
            .into_iter()
            .map(|(key, max_id)| {
                let user_ids: Vec<i64> = key
                    .split(',')
                    .filter_map(|s| s.parse::<i64>().ok())
                    .filter(|id| *id != me)
                    .collect();
                json!({"max_message_id": max_id, "user_ids": user_ids})
            })
            .collect();
        Ok(json!(list))
    }

    /// `subscriptions`, `unsubscribed`, `never_subscribed`.
    async fn subscription_state(
        &self,
        ctx: &Ctx<'_>,
        state: &mut Map<String, Value>,
    ) -> Result<()> {
        let admins = ctx.groups.id("role:administrators");
        let mut subs = Vec::new();
        let mut unsubscribed = Vec::new();
        let mut seen = HashSet::new();
        for s in self.store().subscriptions_of(ctx.me.id).await? {
            seen.insert(s.stream.id);
            let subscribers = if ctx.req.include_subscribers {
                Some(self.store().subscriber_ids(s.stream.id).await?)
            } else {
                None
            };
            let d = json!(self.subscription_object(&s, admins, subscribers));
            if s.active {
                subs.push(d)
            } else {
                unsubscribed.push(d)
            }
        }
        let mut never = Vec::new();
        for s in self.visible_streams(ctx.who, true, false).await? {
            if seen.contains(&s.id) {
                continue;
            }
            let mut d = json!(self.channel_object(&s, admins));
            if ctx.req.include_subscribers
                && let Some(m) = d.as_object_mut()
            {
                m.insert(
                    "subscribers".into(),
                    json!(self.store().subscriber_ids(s.id).await?),
                );
            }
            never.push(d);
        }
        state.insert("subscriptions".into(), json!(subs));
        state.insert("unsubscribed".into(), json!(unsubscribed));
        state.insert("never_subscribed".into(), json!(never));
        Ok(())
    }

    /// The `realm` state, with the settings the organization changed laid over it.
    async fn realm_state(&self, ctx: &Ctx<'_>, state: &mut Map<String, Value>) -> Result<()> {
        state.extend(self.realm_values(ctx.who.realm_id, &ctx.groups).await?);
        Ok(())
    }

    /// The organization's `realm_*` values (and the server facts sent beside them): Zulip's
    /// defaults, with what the organization changed laid over them.
    pub(crate) async fn realm_values(
        &self,
        realm_id: i64,
        groups: &crate::user_groups::RealmGroups,
    ) -> Result<Map<String, Value>> {
        let realm = self.realm_by_id(realm_id).await?;
        let realm_state = RealmState::new(RealmFacts {
            url: self.realm_url(&realm.string_id),
            icon_url: self.realm_icon_url(&realm.string_id),
            bot_domain: self.bot_domain(&realm.string_id),
            realm: &realm,
            groups,
            development: self.config().development,
            server_started: self.inner.started,
            max_file_upload_size_mib: crate::MAX_FILE_UPLOAD_SIZE_MIB,
            password_min_length: tessera_core::password::PASSWORD_MIN_LENGTH as i64,
            password_min_guesses: tessera_core::password::PASSWORD_MIN_GUESSES as i64,
        });
        let mut part = Map::new();
        put(&mut part, &realm_state);
        for (name, value) in self.store().realm_settings(realm.id).await? {
            let key = format!("realm_{name}");
            if let (Some(slot), Ok(v)) = (part.get_mut(&key), serde_json::from_str(&value)) {
                *slot = v;
            }
        }
        Ok(part)
    }

    /// The `realm_user` state: the organization's people and what the caller may do.
    fn self_state(&self, ctx: &Ctx<'_>) -> SelfState {
        let role = ctx.who.role;
        let not_guest = role != tessera_core::Role::Guest;
        // Zulip drops `is_active` from these lists: which list a user is in says it.
        let listed = |u: &UserRow| {
            let mut v = self.user_dict(u);
            if let Some(m) = v.as_object_mut() {
                m.remove("is_active");
            }
            v
        };
        let mut active = Vec::new();
        let mut inactive = Vec::new();
        let mut system = Vec::new();
        for u in &ctx.users {
            if self.is_system_bot(u) {
                let mut v = listed(u);
                if let Some(m) = v.as_object_mut() {
                    m.insert("is_system_bot".into(), json!(true));
                }
                system.push(v);
            } else if u.is_active {
                active.push(listed(u));
            } else {
                inactive.push(listed(u));
            }
        }
        let avatar = self.avatar_url(&ctx.me);
        SelfState {
            realm_users: active,
            realm_non_active_users: inactive,
            avatar_source: "G",
            avatar_url_medium: avatar.clone(),
            avatar_url: avatar,
            can_create_streams: not_guest,
            can_create_public_streams: not_guest,
            can_create_private_streams: not_guest,
            can_create_web_public_streams: false,
            can_subscribe_other_users: not_guest,
            can_invite_others_to_realm: not_guest,
            is_admin: role.is_admin(),
            is_owner: role == tessera_core::Role::Owner,
            is_billing_admin: false,
            is_moderator: role == tessera_core::Role::Moderator,
            is_guest: role == tessera_core::Role::Guest,
            user_id: ctx.me.id,
            email: ctx.me.email.clone(),
            delivery_email: ctx.me.delivery_email.clone(),
            full_name: ctx.me.full_name.clone(),
            cross_realm_bots: system,
        }
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

/// The legacy top-level copies of personal settings, for clients without the
/// `user_settings_object` capability.
fn legacy_settings(
    state: &mut Map<String, Value>,
    settings: &Map<String, Value>,
    wanted: &HashSet<String>,
) {
    for (group, event, extra) in [
        (
            Legacy::Display,
            "update_display_settings",
            "emojiset_choices",
        ),
        (
            Legacy::Notifications,
            "update_global_notifications",
            "available_notification_sounds",
        ),
    ] {
        if !wanted.contains(event) {
            continue;
        }
        for s in user_settings::SETTINGS
            .iter()
            .filter(|s| s.legacy == Some(group))
        {
            if let Some(v) = settings.get(s.name) {
                state.insert(s.name.into(), v.clone());
            }
        }
        if let Some(v) = settings.get(extra) {
            state.insert(extra.into(), v.clone());
        }
    }
}

/// Zulip's custom profile field types (`custom_profile_field_types`).
fn custom_profile_field_types() -> Value {
    let types = [
        ("SHORT_TEXT", 1, "Text (short)"),
        ("LONG_TEXT", 2, "Text (long)"),
        ("SELECT", 3, "List of options"),
        ("DATE", 4, "Date picker"),
        ("URL", 5, "Link"),
        ("USER", 6, "Users"),
        ("EXTERNAL_ACCOUNT", 7, "External account"),
        ("PRONOUNS", 8, "Pronouns"),
    ];
    let mut out = Map::new();
    for (key, id, name) in types {
        out.insert(key.into(), json!({"id": id, "name": name}));
    }
    Value::Object(out)
}
