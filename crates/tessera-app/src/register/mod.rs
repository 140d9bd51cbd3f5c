//! `POST /register`: a new event queue plus the initial state the client asked for.
//!
//! One function per state type (Zulip's `fetch_event_types` names), each adding its keys in
//! the order Zulip's document lists them. State tessera keeps is read from the store; a
//! feature tessera does not have answers with Zulip's value for "none configured".

pub(crate) mod realm;

use crate::auth::Principal;
use crate::events::QueueOptions;
use crate::streams::{Channel, Subscription};
use crate::user_groups::RealmGroups;
use crate::users::{RealmBot, User};
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

/// PostgreSQL's English stop words (Zulip's `stop_words` come from the same list).
const STOP_WORDS: &str = include_str!("stop_words.txt");

/// Every state type Zulip's `register` fills (all of them when the client names none), in
/// the order they add their keys (Zulip's `fetch_initial_state_data`), with the two legacy
/// settings groups after `user_settings`.
pub const STATE_TYPES: [&str; 36] = [
    "alert_words",
    "custom_profile_fields",
    "drafts",
    "onboarding_steps",
    "message",
    "scheduled_messages",
    "muted_topics",
    "muted_users",
    "presence",
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
    "update_message_flags",
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
    "realm",
    "realm_user_settings_defaults",
    "realm_user",
];

/// Add a typed state object's fields to the reply.
fn put(state: &mut Map<String, Value>, part: &impl Serialize) {
    if let Ok(Value::Object(m)) = serde_json::to_value(part) {
        state.extend(m);
    }
}

/// What every reply starts with: the queue and the server's version.
#[derive(Serialize)]
struct QueueHeader {
    queue_id: String,
    zulip_version: &'static str,
    zulip_feature_level: i64,
    zulip_merge_base: &'static str,
}

/// What every reply ends with.
#[derive(Serialize)]
struct QueueFooter {
    event_queue_longpoll_timeout_seconds: i64,
    last_event_id: i64,
}

/// An empty list for a feature tessera does not have (Zulip's value when none is
/// configured); its element type is Zulip's object of that kind once tessera keeps it.
type NoneKept = Vec<Value>;

/// An empty object, for the same.
#[derive(Serialize)]
struct NoneKeptMap {}

#[derive(Serialize)]
struct AlertWords {
    alert_words: Vec<String>,
}

#[derive(Serialize)]
struct CustomProfileFields {
    custom_profile_fields: NoneKept,
    custom_profile_field_types: FieldTypes,
}

#[derive(Serialize)]
struct Drafts {
    drafts: Vec<crate::drafts::Draft>,
}

#[derive(Serialize)]
struct OnboardingSteps {
    onboarding_steps: NoneKept,
}

#[derive(Serialize)]
struct MessageState {
    max_message_id: i64,
}

#[derive(Serialize)]
struct ScheduledMessages {
    scheduled_messages: NoneKept,
}

#[derive(Serialize)]
struct MutedTopics {
    muted_topics: Vec<crate::user_topics::MutedTopic>,
}

#[derive(Serialize)]
struct MutedUsers {
    muted_users: NoneKept,
}

#[derive(Serialize)]
struct Presence {
    presences: Value,
    presence_last_update_id: i64,
    server_timestamp: f64,
}

#[derive(Serialize)]
struct RealmDomains {
    realm_domains: NoneKept,
}

#[derive(Serialize)]
struct RealmEmoji {
    realm_emoji: NoneKeptMap,
}

#[derive(Serialize)]
struct RealmLinkifiers {
    realm_linkifiers: NoneKept,
}

#[derive(Serialize)]
struct RealmFilters {
    realm_filters: NoneKept,
}

#[derive(Serialize)]
struct RealmPlaygrounds {
    realm_playgrounds: NoneKept,
}

#[derive(Serialize)]
struct RealmUserGroups {
    realm_user_groups: Vec<crate::user_groups::UserGroup>,
}

#[derive(Serialize)]
struct RealmBots {
    realm_bots: Vec<RealmBot>,
}

#[derive(Serialize)]
struct RealmEmbeddedBots {
    realm_embedded_bots: NoneKept,
}

#[derive(Serialize)]
struct RealmIncomingWebhookBots {
    realm_incoming_webhook_bots: NoneKept,
}

#[derive(Serialize)]
struct RecentPrivateConversations {
    recent_private_conversations: Vec<RecentConversation>,
}

/// One direct-message conversation, the caller left out of `user_ids`.
#[derive(Serialize)]
struct RecentConversation {
    max_message_id: i64,
    user_ids: Vec<i64>,
}

#[derive(Serialize)]
struct SubscriptionState {
    subscriptions: Vec<Subscription>,
    unsubscribed: Vec<Subscription>,
    never_subscribed: Vec<NeverSubscribed>,
}

/// A channel the caller may join but never did.
#[derive(Serialize)]
struct NeverSubscribed {
    #[serde(flatten)]
    channel: Channel,
    #[serde(skip_serializing_if = "Option::is_none")]
    subscribers: Option<Vec<i64>>,
}

#[derive(Serialize)]
struct UnreadState {
    unread_msgs: UnreadMsgs,
}

/// Zulip's `unread_msgs` summary.
#[derive(Serialize, Default)]
struct UnreadMsgs {
    pms: Vec<UnreadDirect>,
    streams: Vec<UnreadTopic>,
    huddles: Vec<UnreadGroup>,
    mentions: Vec<i64>,
    count: usize,
    old_unreads_missing: bool,
}

#[derive(Serialize)]
struct UnreadDirect {
    other_user_id: i64,
    sender_id: i64,
    unread_message_ids: Vec<i64>,
}

#[derive(Serialize)]
struct UnreadTopic {
    stream_id: i64,
    topic: String,
    unread_message_ids: Vec<i64>,
}

#[derive(Serialize)]
struct UnreadGroup {
    user_ids_string: String,
    unread_message_ids: Vec<i64>,
}

#[derive(Serialize)]
struct StarredMessages {
    starred_messages: Vec<i64>,
}

#[derive(Serialize)]
struct Streams {
    streams: Vec<Channel>,
}

#[derive(Serialize)]
struct DefaultStreams {
    realm_default_streams: Vec<Channel>,
}

#[derive(Serialize)]
struct DefaultStreamGroups {
    realm_default_stream_groups: NoneKept,
}

#[derive(Serialize)]
struct StopWords {
    stop_words: Vec<&'static str>,
}

/// By user id (as a string); the status object is built from the settings table.
#[derive(Serialize)]
struct UserStatusState {
    user_status: Map<String, Value>,
}

/// The personal settings, named and typed by core's settings table.
#[derive(Serialize)]
struct UserSettingsState<'a> {
    user_settings: &'a Map<String, Value>,
}

#[derive(Serialize)]
struct UserTopics {
    user_topics: Vec<crate::user_topics::UserTopic>,
}

#[derive(Serialize)]
struct VideoCalls {
    has_zoom_token: bool,
}

#[derive(Serialize)]
struct Giphy {
    giphy_api_key: String,
}

/// Zulip's defaults for new users' settings, named and typed by core's settings table.
#[derive(Serialize)]
struct RealmUserSettingsDefaults {
    realm_user_settings_defaults: Map<String, Value>,
}

/// The `realm_user` state keys about the caller.
#[derive(Serialize)]
struct SelfState {
    realm_users: Vec<User>,
    realm_non_active_users: Vec<User>,
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
    cross_realm_bots: Vec<User>,
}

/// Zulip's custom profile field types (`custom_profile_field_types`), by their constant name.
struct FieldTypes;

#[derive(Serialize)]
struct FieldType {
    id: i64,
    name: &'static str,
}

impl Serialize for FieldTypes {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        const TYPES: [(&str, i64, &str); 8] = [
            ("SHORT_TEXT", 1, "Text (short)"),
            ("LONG_TEXT", 2, "Text (long)"),
            ("SELECT", 3, "List of options"),
            ("DATE", 4, "Date picker"),
            ("URL", 5, "Link"),
            ("USER", 6, "Users"),
            ("EXTERNAL_ACCOUNT", 7, "External account"),
            ("PRONOUNS", 8, "Pronouns"),
        ];
        serializer.collect_map(
            TYPES
                .iter()
                .map(|(key, id, name)| (*key, FieldType { id: *id, name })),
        )
    }
}

/// What several state functions share, read once.
struct Ctx<'a> {
    who: &'a Principal,
    req: &'a RegisterRequest,
    wanted: HashSet<String>,
    me: UserRow,
    users: Vec<UserRow>,
    groups: RealmGroups,
    settings: Map<String, Value>,
}

impl Ctx<'_> {
    fn wants(&self, t: &str) -> bool {
        self.wanted.contains(t)
    }

    /// The client named no state types: it gets all of them.
    fn all_types(&self) -> bool {
        self.req.fetch_event_types.is_none() && self.req.event_types.is_none()
    }

    fn admins(&self) -> i64 {
        self.groups.id("role:administrators")
    }
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
        let mut state = Map::new();
        put(
            &mut state,
            &QueueHeader {
                queue_id: queue.id.clone(),
                zulip_version: ZULIP_VERSION,
                zulip_feature_level: ZULIP_FEATURE_LEVEL,
                zulip_merge_base: ZULIP_VERSION,
            },
        );
        let me = self.user_row(who.user_id.0).await?;
        let ctx = Ctx {
            who,
            req: &req,
            wanted,
            settings: self.personal_settings(&me).await?,
            me,
            users: self.store().users_in_realm(who.realm_id).await?,
            groups: self.realm_groups(who.realm_id).await?,
        };
        for t in STATE_TYPES {
            if ctx.wants(t) {
                self.add_state(t, &ctx, &mut state).await?;
            }
        }
        put(
            &mut state,
            &QueueFooter {
                event_queue_longpoll_timeout_seconds: 90,
                last_event_id: -1,
            },
        );
        Ok(Value::Object(state))
    }

    /// The keys of one state type: one function (or, for a feature tessera does not have,
    /// Zulip's empty value) per type.
    async fn add_state(
        &self,
        t: &str,
        ctx: &Ctx<'_>,
        state: &mut Map<String, Value>,
    ) -> Result<()> {
        let me = ctx.me.id;
        match t {
            "alert_words" => put(
                state,
                &AlertWords {
                    alert_words: Vec::new(),
                },
            ),
            "custom_profile_fields" => put(
                state,
                &CustomProfileFields {
                    custom_profile_fields: Vec::new(),
                    custom_profile_field_types: FieldTypes,
                },
            ),
            "drafts" => put(
                state,
                &Drafts {
                    drafts: self.drafts_state(me).await?,
                },
            ),
            "onboarding_steps" => put(
                state,
                &OnboardingSteps {
                    onboarding_steps: Vec::new(),
                },
            ),
            "message" => put(
                state,
                &MessageState {
                    max_message_id: self.store().max_message_id(me).await?,
                },
            ),
            "scheduled_messages" => put(
                state,
                &ScheduledMessages {
                    scheduled_messages: Vec::new(),
                },
            ),
            // Zulip sends the legacy list only to clients that do not ask for `user_topic`.
            "muted_topics" if ctx.all_types() || !ctx.wants("user_topic") => put(
                state,
                &MutedTopics {
                    muted_topics: self.muted_topics_state(me).await?,
                },
            ),
            "muted_users" => put(
                state,
                &MutedUsers {
                    muted_users: Vec::new(),
                },
            ),
            "presence" => put(
                state,
                &Presence {
                    presences: self
                        .presences(ctx.who.realm_id, ctx.req.slim_presence)
                        .await?,
                    presence_last_update_id: -1,
                    server_timestamp: self.now() as f64 / 1e6,
                },
            ),
            "realm_domains" => put(
                state,
                &RealmDomains {
                    realm_domains: Vec::new(),
                },
            ),
            "realm_emoji" => put(
                state,
                &RealmEmoji {
                    realm_emoji: NoneKeptMap {},
                },
            ),
            "realm_linkifiers" => put(
                state,
                &RealmLinkifiers {
                    realm_linkifiers: Vec::new(),
                },
            ),
            "realm_filters" => put(
                state,
                &RealmFilters {
                    realm_filters: Vec::new(),
                },
            ),
            "realm_playgrounds" => put(
                state,
                &RealmPlaygrounds {
                    realm_playgrounds: Vec::new(),
                },
            ),
            "realm_user_groups" => put(
                state,
                &RealmUserGroups {
                    realm_user_groups: ctx.groups.objects(&ctx.users),
                },
            ),
            "realm_bot" => put(
                state,
                &RealmBots {
                    realm_bots: self.realm_bots_state(ctx.who).await?,
                },
            ),
            "realm_embedded_bots" => put(
                state,
                &RealmEmbeddedBots {
                    realm_embedded_bots: Vec::new(),
                },
            ),
            "realm_incoming_webhook_bots" => put(
                state,
                &RealmIncomingWebhookBots {
                    realm_incoming_webhook_bots: Vec::new(),
                },
            ),
            "recent_private_conversations" => put(
                state,
                &RecentPrivateConversations {
                    recent_private_conversations: self.recent_private_conversations(me).await?,
                },
            ),
            "subscription" => put(state, &self.subscription_state(ctx).await?),
            "update_message_flags" if ctx.wants("message") => put(
                state,
                &UnreadState {
                    unread_msgs: self.unread_msgs(ctx.who).await?,
                },
            ),
            "starred_messages" => put(
                state,
                &StarredMessages {
                    starred_messages: self.store().starred_message_ids(me).await?,
                },
            ),
            "stream" => put(
                state,
                &Streams {
                    streams: self.streams_state(ctx).await?,
                },
            ),
            "default_streams" => put(
                state,
                &DefaultStreams {
                    realm_default_streams: self.default_streams_state(ctx).await?,
                },
            ),
            "default_stream_groups" => put(
                state,
                &DefaultStreamGroups {
                    realm_default_stream_groups: Vec::new(),
                },
            ),
            "stop_words" => put(
                state,
                &StopWords {
                    stop_words: STOP_WORDS.lines().map(str::trim).collect(),
                },
            ),
            "user_status" => put(
                state,
                &UserStatusState {
                    user_status: self.user_status_state(ctx.who.realm_id).await?,
                },
            ),
            "user_settings" => put(
                state,
                &UserSettingsState {
                    user_settings: &ctx.settings,
                },
            ),
            "update_display_settings" if !ctx.req.user_settings_object => {
                legacy_settings(state, &ctx.settings, Legacy::Display, "emojiset_choices")
            }
            "update_global_notifications" if !ctx.req.user_settings_object => legacy_settings(
                state,
                &ctx.settings,
                Legacy::Notifications,
                "available_notification_sounds",
            ),
            "user_topic" => put(
                state,
                &UserTopics {
                    user_topics: self.user_topics_state(me).await?,
                },
            ),
            "video_calls" => put(
                state,
                &VideoCalls {
                    has_zoom_token: false,
                },
            ),
            "giphy" => put(
                state,
                &Giphy {
                    giphy_api_key: String::new(),
                },
            ),
            "realm" => state.extend(self.realm_values(ctx.who.realm_id, &ctx.groups).await?),
            "realm_user_settings_defaults" => put(
                state,
                &RealmUserSettingsDefaults {
                    realm_user_settings_defaults: user_settings_defaults(),
                },
            ),
            "realm_user" => put(state, &self.self_state(ctx)),
            _ => {}
        }
        Ok(())
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
    async fn realm_bots_state(&self, who: &Principal) -> Result<Vec<RealmBot>> {
        if who.is_bot() || who.require_member_or_admin().is_err() {
            return Ok(Vec::new());
        }
        Ok(self
            .list_visible_bots(who)
            .await?
            .iter()
            .filter(|b| !self.is_system_bot(&b.user))
            .map(|b| self.realm_bot_object(&b.user))
            .collect())
    }

    /// `recent_private_conversations`: the caller's direct-message conversations, newest
    /// first, with the other members (the caller left out, as Zulip does).
    async fn recent_private_conversations(&self, me: i64) -> Result<Vec<RecentConversation>> {
        let rows = self.store().recent_dm_conversations(me, 1000).await?;
        Ok(rows
            .into_iter()
            .map(|(key, max_message_id)| RecentConversation {
                max_message_id,
                user_ids: key
                    .split(',')
                    .filter_map(|s| s.parse::<i64>().ok())
                    .filter(|id| *id != me)
                    .collect(),
            })
            .collect())
    }

    /// `subscriptions`, `unsubscribed`, `never_subscribed`.
    async fn subscription_state(&self, ctx: &Ctx<'_>) -> Result<SubscriptionState> {
        let admins = ctx.admins();
        let mut out = SubscriptionState {
            subscriptions: Vec::new(),
            unsubscribed: Vec::new(),
            never_subscribed: Vec::new(),
        };
        let mut seen = HashSet::new();
        for s in self.store().subscriptions_of(ctx.me.id).await? {
            seen.insert(s.stream.id);
            let subscribers = if ctx.req.include_subscribers {
                Some(self.store().subscriber_ids(s.stream.id).await?)
            } else {
                None
            };
            let sub = self.subscription_object(&s, admins, subscribers);
            if s.active {
                out.subscriptions.push(sub)
            } else {
                out.unsubscribed.push(sub)
            }
        }
        for s in self.visible_streams(ctx.who, true, false).await? {
            if seen.contains(&s.id) {
                continue;
            }
            let subscribers = if ctx.req.include_subscribers {
                Some(self.store().subscriber_ids(s.id).await?)
            } else {
                None
            };
            out.never_subscribed.push(NeverSubscribed {
                channel: self.channel_object(&s, admins),
                subscribers,
            });
        }
        Ok(out)
    }

    /// `streams`: every channel the caller may see.
    async fn streams_state(&self, ctx: &Ctx<'_>) -> Result<Vec<Channel>> {
        let admins = ctx.admins();
        Ok(self
            .visible_streams(ctx.who, true, true)
            .await?
            .iter()
            .map(|s| self.channel_object(s, admins))
            .collect())
    }

    /// `realm_default_streams`: Zulip's default-channel objects carry no traffic figure.
    async fn default_streams_state(&self, ctx: &Ctx<'_>) -> Result<Vec<Channel>> {
        let admins = ctx.admins();
        Ok(self
            .store()
            .default_streams(ctx.who.realm_id)
            .await?
            .iter()
            .map(|s| Channel {
                stream_weekly_traffic: None,
                ..self.channel_object(s, admins)
            })
            .collect())
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
        let mut active = Vec::new();
        let mut inactive = Vec::new();
        let mut system = Vec::new();
        for u in &ctx.users {
            // Zulip drops `is_active` from these lists: which list a user is in says it.
            let listed = User {
                is_active: None,
                ..self.user_object(u)
            };
            if self.is_system_bot(u) {
                system.push(User {
                    is_system_bot: Some(true),
                    ..listed
                });
            } else if u.is_active {
                active.push(listed);
            } else {
                inactive.push(listed);
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
    async fn unread_msgs(&self, who: &Principal) -> Result<UnreadMsgs> {
        let q = MessageQuery {
            user_id: who.user_id.0,
            realm_id: who.realm_id,
            history_stream: None,
            filters: vec![MessageFilter::Unread],
        };
        let rows = self.store().messages_from(&q, 0, 50_000).await?;
        let mut out = UnreadMsgs {
            count: rows.len(),
            ..UnreadMsgs::default()
        };
        for r in &rows {
            if r.flags & (tessera_store::FLAG_MENTIONED | tessera_store::FLAG_WILDCARD_MENTIONED)
                != 0
            {
                out.mentions.push(r.id);
            }
            if r.recipient_type == RECIPIENT_STREAM {
                match out.streams.iter_mut().find(|s| {
                    s.stream_id == r.recipient_id && s.topic.eq_ignore_ascii_case(&r.topic)
                }) {
                    Some(e) => e.unread_message_ids.push(r.id),
                    None => out.streams.push(UnreadTopic {
                        stream_id: r.recipient_id,
                        topic: r.topic.clone(),
                        unread_message_ids: vec![r.id],
                    }),
                }
                continue;
            }
            let members = self.store().dm_group_members(r.recipient_id).await?;
            if members.len() <= 2 {
                let other = members
                    .iter()
                    .copied()
                    .find(|m| *m != who.user_id.0)
                    .unwrap_or(who.user_id.0);
                match out.pms.iter_mut().find(|p| p.other_user_id == other) {
                    Some(e) => e.unread_message_ids.push(r.id),
                    None => out.pms.push(UnreadDirect {
                        other_user_id: other,
                        sender_id: other,
                        unread_message_ids: vec![r.id],
                    }),
                }
            } else {
                let key = members
                    .iter()
                    .map(|m| m.to_string())
                    .collect::<Vec<_>>()
                    .join(",");
                match out.huddles.iter_mut().find(|h| h.user_ids_string == key) {
                    Some(e) => e.unread_message_ids.push(r.id),
                    None => out.huddles.push(UnreadGroup {
                        user_ids_string: key,
                        unread_message_ids: vec![r.id],
                    }),
                }
            }
        }
        Ok(out)
    }
}

/// The legacy top-level copies of one group of personal settings, for clients without the
/// `user_settings_object` capability.
fn legacy_settings(
    state: &mut Map<String, Value>,
    settings: &Map<String, Value>,
    group: Legacy,
    extra: &str,
) {
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

/// Zulip's defaults for a new user's settings (`timezone` is each user's own).
fn user_settings_defaults() -> Map<String, Value> {
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
    defaults
}
