//! Channels (Zulip's streams): creating, subscribing, access rules, default channels and
//! subscription colours.

use crate::auth::Principal;
use crate::events::Notice;
use crate::user_topics::ChannelRef;
use crate::{App, AppError, Result};
use serde::Serialize;
use serde_json::{Value, json};
use tessera_core::Role;
use tessera_store::{
    NewStream, StoreError, StreamRow, SubscriptionRow, SubscriptionSettings, UserRow,
};

/// Zulip's `STREAM_ASSIGNMENT_COLORS`, in order.
pub const STREAM_COLORS: [&str; 24] = [
    "#76ce90", "#fae589", "#a6c7e5", "#e79ab5", "#bfd56f", "#f4ae55", "#b0a5fd", "#addfe5",
    "#f5ce6e", "#c2726a", "#94c849", "#bd86e5", "#ee7e4a", "#a6dcbf", "#95a5fd", "#53a063",
    "#9987e1", "#e4523d", "#c2c2c2", "#4f8de4", "#c6a8ad", "#e7cc4d", "#c8bebf", "#a47462",
];

/// The channel every new organization starts with, which new users join.
pub const DEFAULT_STREAM: &str = "general";

/// Zulip's `check_stream_name`.
pub fn check_stream_name(name: &str) -> std::result::Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("Channel name can't be empty.".into());
    }
    if name.chars().count() > 60 {
        return Err("Channel name too long (limit: 60 characters).".into());
    }
    if let Some((i, _)) = name
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() || ('\u{fdd0}'..='\u{fdef}').contains(c))
    {
        return Err(format!(
            "Invalid character in channel name, at position {}.",
            i + 1
        ));
    }
    Ok(name.to_owned())
}

/// Zulip's channel object (field order as Zulip's `BasicChannel`).
#[derive(Debug, Clone, Serialize)]
pub struct Channel {
    pub stream_id: i64,
    pub name: String,
    pub description: String,
    pub rendered_description: String,
    pub date_created: i64,
    pub creator_id: Option<i64>,
    pub invite_only: bool,
    pub is_web_public: bool,
    pub history_public_to_subscribers: bool,
    pub first_message_id: Option<i64>,
    pub message_retention_days: Option<i64>,
    pub stream_post_policy: i64,
    pub is_announcement_only: bool,
    pub can_remove_subscribers_group: i64,
    /// Average messages a week: `Some(None)` is `null`, tessera keeping no traffic statistics
    /// (Zulip's value for a channel too new to have them); `None` leaves the field out, as
    /// Zulip's default-channel objects do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_weekly_traffic: Option<Option<i64>>,
    /// Only where Zulip sends it (`GET /streams`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_default: Option<bool>,
}

/// Zulip's subscription object: the channel plus the caller's settings for it.
#[derive(Debug, Clone, Serialize)]
pub struct Subscription {
    #[serde(flatten)]
    pub channel: Channel,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscribers: Option<Vec<i64>>,
    /// Zulip's older name for "not muted", still sent beside `is_muted`.
    pub in_home_view: bool,
    #[serde(flatten)]
    pub settings: SubscriptionSettings,
}

/// Zulip's limits on channel names and descriptions.
pub const MAX_STREAM_NAME_LENGTH: i64 = 60;
pub const MAX_STREAM_DESCRIPTION_LENGTH: i64 = 1024;

/// Who subscribes and to what.
#[derive(Debug, Clone, Default)]
pub struct SubscribeRequest {
    pub names: Vec<(String, String)>,
    pub principals: Option<Vec<i64>>,
    pub invite_only: bool,
    pub authorization_errors_fatal: bool,
}

/// Outcome of a subscribe call (user id → channel names).
#[derive(Debug, Clone, Default)]
pub struct SubscribeResult {
    pub subscribed: Vec<(i64, Vec<String>)>,
    pub already_subscribed: Vec<(i64, Vec<String>)>,
    pub unauthorized: Vec<String>,
}

impl App {
    /// Zulip's channel object for `s`; `admins` is the id of the realm's
    /// `role:administrators` group (who may remove subscribers, Zulip's default).
    pub fn channel_object(&self, s: &StreamRow, admins: i64) -> Channel {
        Channel {
            stream_id: s.id,
            name: s.name.clone(),
            description: s.description.clone(),
            rendered_description: if s.description.is_empty() {
                String::new()
            } else {
                tessera_core::markdown::render(&s.description, &|_, _| None).html
            },
            date_created: s.date_created.div_euclid(1_000_000),
            creator_id: s.creator_id,
            invite_only: s.invite_only,
            is_web_public: false,
            history_public_to_subscribers: s.history_public_to_subscribers,
            first_message_id: None,
            message_retention_days: s.message_retention_days,
            stream_post_policy: s.stream_post_policy,
            is_announcement_only: s.stream_post_policy == 2,
            can_remove_subscribers_group: s.can_remove_subscribers_group.unwrap_or(admins),
            stream_weekly_traffic: Some(None),
            is_default: None,
        }
    }

    /// The id of the realm's `role:administrators` group, for channel objects.
    pub async fn admins_group(&self, realm_id: i64) -> Result<i64> {
        Ok(self.realm_groups(realm_id).await?.id("role:administrators"))
    }

    /// The channel object with `is_default` (`GET /streams`, `stream` events).
    pub async fn stream_dict(&self, s: &StreamRow) -> Result<Value> {
        let mut c = self.channel_object(s, self.admins_group(s.realm_id).await?);
        c.is_default = Some(s.is_default);
        Ok(serde_json::to_value(c).unwrap_or(Value::Null))
    }

    /// Zulip's subscription object (`GET /users/me/subscriptions`, register `subscriptions`).
    pub fn subscription_object(
        &self,
        sub: &SubscriptionRow,
        admins: i64,
        subscribers: Option<Vec<i64>>,
    ) -> Subscription {
        Subscription {
            channel: self.channel_object(&sub.stream, admins),
            subscribers,
            in_home_view: !sub.settings.is_muted,
            settings: sub.settings.clone(),
        }
    }

    /// The subscription object as JSON.
    pub async fn subscription_dict(
        &self,
        sub: &SubscriptionRow,
        subscribers: Option<Vec<i64>>,
    ) -> Result<Value> {
        let admins = self.admins_group(sub.stream.realm_id).await?;
        Ok(
            serde_json::to_value(self.subscription_object(sub, admins, subscribers))
                .unwrap_or(Value::Null),
        )
    }

    /// Whether `who` may see and post to `stream`: public channels for everyone but guests,
    /// private ones for subscribers.
    pub async fn can_access_stream(&self, who: &Principal, stream: &StreamRow) -> Result<bool> {
        if stream.realm_id != who.realm_id || stream.deactivated {
            return Ok(false);
        }
        if !stream.invite_only && who.role != Role::Guest {
            return Ok(true);
        }
        Ok(self.store().is_subscribed(who.user_id.0, stream.id).await?)
    }

    /// Zulip's `access_stream_by_id`: a channel of the caller's organization they may see
    /// (administrators see every channel's metadata when `admin_sees_all`), else
    /// "Invalid channel ID".
    pub async fn channel_for(
        &self,
        who: &Principal,
        stream_id: i64,
        admin_sees_all: bool,
    ) -> Result<StreamRow> {
        let refused = || AppError::bad("Invalid channel ID");
        let stream = self
            .store()
            .stream_by_id(stream_id)
            .await?
            .filter(|s| s.realm_id == who.realm_id && !s.deactivated)
            .ok_or_else(refused)?;
        if (admin_sees_all && who.role.is_admin()) || self.can_access_stream(who, &stream).await? {
            Ok(stream)
        } else {
            Err(refused())
        }
    }

    /// `GET /streams/{stream_id}`: the channel object, without `is_default` (Zulip's
    /// `get_stream_backend` sends the plain channel dict).
    pub async fn channel_view(&self, who: &Principal, stream_id: i64) -> Result<Value> {
        let stream = self.channel_for(who, stream_id, true).await?;
        let admins = self.admins_group(stream.realm_id).await?;
        serde_json::to_value(self.channel_object(&stream, admins))
            .map_err(AppError::failed("serializing a channel"))
    }

    /// `GET /streams/{stream_id}/members`: the channel's subscribers.
    pub async fn channel_subscribers(&self, who: &Principal, stream_id: i64) -> Result<Vec<i64>> {
        let stream = self.channel_for(who, stream_id, true).await?;
        Ok(self.store().subscriber_ids(stream.id).await?)
    }

    /// `GET /streams`: with `include_all`, an administrator sees every live channel of the
    /// organization; otherwise the public and/or subscribed ones `who` can see.
    pub async fn streams_for(
        &self,
        who: &Principal,
        include_public: bool,
        include_subscribed: bool,
        include_all: bool,
    ) -> Result<Vec<StreamRow>> {
        if include_all && who.role.is_admin() {
            return Ok(self.store().streams_in_realm(who.realm_id).await?);
        }
        self.visible_streams(who, include_public, include_subscribed)
            .await
    }

    /// `GET /get_stream_id`: a channel `who` can see, by name, else
    /// `Invalid channel name '<name>'`.
    pub async fn stream_id_by_name(&self, who: &Principal, name: &str) -> Result<i64> {
        let name = name.trim();
        match self.store().stream_by_name(who.realm_id, name).await? {
            Some(s) if self.can_access_stream(who, &s).await? => Ok(s.id),
            _ => Err(AppError::bad(format!("Invalid channel name '{name}'"))),
        }
    }

    /// `GET /users/me/subscriptions`: the caller's active subscriptions (with subscribers).
    pub async fn subscriptions_view(
        &self,
        who: &Principal,
        include_subscribers: bool,
    ) -> Result<Vec<Value>> {
        let subs = self.store().subscriptions_of(who.user_id.0).await?;
        let mut list = Vec::new();
        for s in subs.iter().filter(|s| s.active) {
            let subscribers = if include_subscribers {
                Some(self.store().subscriber_ids(s.stream.id).await?)
            } else {
                None
            };
            list.push(self.subscription_dict(s, subscribers).await?);
        }
        Ok(list)
    }

    /// The id of the organization's user with this email (a `principals` entry).
    pub async fn user_id_by_email(&self, realm_id: i64, email: &str) -> Result<Option<i64>> {
        Ok(self
            .store()
            .user_by_email(realm_id, email.trim())
            .await?
            .map(|u| u.id))
    }

    /// `GET /users/{user_id}/subscriptions/{stream_id}`: whether a user of the organization
    /// is subscribed to a channel the caller can see (administrators: any).
    pub async fn subscription_status(
        &self,
        who: &Principal,
        user_id: i64,
        stream_id: i64,
    ) -> Result<bool> {
        let target = self.realm_user(who, user_id, true).await?;
        let stream = self.channel_for(who, stream_id, true).await?;
        Ok(self.store().is_subscribed(target.id, stream.id).await?)
    }

    /// `GET /users/me/{stream_id}/topics`: the channel's topics, newest first (channel
    /// history is shared with subscribers, as Zulip's default `history_public_to_subscribers`).
    pub async fn channel_topics(
        &self,
        who: &Principal,
        stream_id: i64,
    ) -> Result<Vec<(String, i64)>> {
        let stream = self.channel_for(who, stream_id, false).await?;
        Ok(self.store().channel_topics(stream.id).await?)
    }

    /// Channels `who` can see, for `GET /streams`.
    pub async fn visible_streams(
        &self,
        who: &Principal,
        include_public: bool,
        include_subscribed: bool,
    ) -> Result<Vec<StreamRow>> {
        let mut out = Vec::new();
        for s in self.store().streams_in_realm(who.realm_id).await? {
            let subscribed = self.store().is_subscribed(who.user_id.0, s.id).await?;
            let public = !s.invite_only && who.role != Role::Guest;
            if (include_public && public) || (include_subscribed && subscribed) {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// A channel by name that `who` may use, else Zulip's send-path errors.
    pub async fn stream_for_send(
        &self,
        who: &Principal,
        name: Option<&str>,
        id: Option<i64>,
    ) -> Result<StreamRow> {
        let stream = match (id, name) {
            (Some(id), _) => self
                .store()
                .stream_by_id(id)
                .await?
                .filter(|s| s.realm_id == who.realm_id)
                .ok_or(AppError::StreamDoesNotExist(ChannelRef::Id(id)))?,
            (None, Some(name)) => {
                let name = check_stream_name(name).map_err(AppError::bad)?;
                self.store()
                    .stream_by_name(who.realm_id, &name)
                    .await?
                    .ok_or_else(|| AppError::StreamDoesNotExist(ChannelRef::Name(name.clone())))?
            }
            (None, None) => return Err(AppError::bad("Missing channel")),
        };
        if stream.deactivated {
            return Err(AppError::bad(format!(
                "Not authorized to send to channel '{}'",
                stream.name
            )));
        }
        // Only a private channel or a posting policy can refuse; then the sender's row is
        // read once (bots: tessera's own post anywhere, as Zulip's internal sends do;
        // others may act through their owner).
        let subscribed = if stream.invite_only {
            self.store().is_subscribed(who.user_id.0, stream.id).await?
        } else {
            true
        };
        if subscribed && stream.stream_post_policy == 1 {
            return Ok(stream);
        }
        let bot = if who.is_bot() {
            Some(self.user_row(who.user_id.0).await?)
        } else {
            None
        };
        if bot.as_ref().is_some_and(|b| self.is_system_bot(b)) {
            return Ok(stream);
        }
        let owner = match bot.as_ref().and_then(|b| b.bot_owner_id) {
            Some(id) => Some(self.user_row(id).await?),
            None => None,
        };
        // Zulip's `access_stream_for_send_message`: the posting policy first (a bot passes
        // if it or its owner does), then access to a private channel.
        if let Err(e) = stream_post_policy_allows(who.role, &stream) {
            match owner.as_ref().and_then(|o| Role::from_i64(o.role)) {
                Some(role) => stream_post_policy_allows(role, &stream)?,
                None => return Err(e),
            }
        }
        if !subscribed {
            let owner_subscribed = match &owner {
                Some(o) => self.store().is_subscribed(o.id, stream.id).await?,
                None => false,
            };
            if !owner_subscribed {
                return Err(AppError::bad(format!(
                    "Not authorized to send to channel '{}'",
                    stream.name
                )));
            }
        }
        Ok(stream)
    }

    /// The next colour for a user's new subscription: the palette colours they do not use
    /// yet, in order, then `palette[stream_id % 24]`.
    async fn pick_color(&self, user_id: i64, stream_id: i64) -> Result<String> {
        let used: Vec<String> = self
            .store()
            .subscriptions_of(user_id)
            .await?
            .into_iter()
            .map(|s| s.settings.color)
            .collect();
        Ok(STREAM_COLORS
            .iter()
            .find(|c| !used.iter().any(|u| u == *c))
            .copied()
            .unwrap_or(STREAM_COLORS[(stream_id.rem_euclid(24)) as usize])
            .to_owned())
    }

    /// Subscribe one user (no permission checks); `true` if newly subscribed. Sends the
    /// `subscription` event to them and `peer_add` to the other subscribers.
    pub async fn subscribe_user(&self, user_id: i64, stream: &StreamRow) -> Result<bool> {
        let color = self.pick_color(user_id, stream.id).await?;
        let added = self.store().subscribe(user_id, stream.id, &color).await?;
        if added {
            let sub = self
                .store()
                .subscriptions_of(user_id)
                .await?
                .into_iter()
                .find(|s| s.stream.id == stream.id);
            if let Some(sub) = sub {
                let subscribers = self.store().subscriber_ids(stream.id).await?;
                let object = self
                    .subscription_dict(&sub, Some(subscribers.clone()))
                    .await?;
                self.events().publish(Notice::plain(
                    vec![user_id],
                    json!({"type": "subscription", "op": "add", "subscriptions": [object]}),
                ));
                let peers: Vec<i64> = subscribers.into_iter().filter(|u| *u != user_id).collect();
                self.events().publish(Notice::plain(
                    peers,
                    json!({"type": "subscription", "op": "peer_add",
                           "stream_ids": [stream.id], "user_ids": [user_id]}),
                ));
            }
        }
        Ok(added)
    }

    /// Zulip's `can_create_public_streams` / `can_create_private_streams` (FL 264/266): the
    /// caller is in the organization's `can_create_public_channel_group` or
    /// `can_create_private_channel_group` (default `role:members`), else
    /// `Insufficient permission`.
    async fn check_may_create_channel(&self, who: &Principal, private: bool) -> Result<()> {
        let setting = if private {
            "can_create_private_channel_group"
        } else {
            "can_create_public_channel_group"
        };
        let groups = self.realm_groups(who.realm_id).await?;
        let group = self
            .realm_setting(who.realm_id, setting)
            .await?
            .and_then(|v| v.as_i64())
            .unwrap_or_else(|| groups.id("role:members"));
        if groups.role_in(group, who.role.as_i64()) {
            Ok(())
        } else {
            Err(AppError::bad("Insufficient permission"))
        }
    }

    /// `POST /users/me/subscriptions`: create missing channels, subscribe the principals.
    pub async fn subscribe(
        &self,
        who: &Principal,
        req: SubscribeRequest,
    ) -> Result<SubscribeResult> {
        who.require_not_guest()?;
        let targets: Vec<i64> = match &req.principals {
            Some(p) if !p.is_empty() => p.clone(),
            _ => vec![who.user_id.0],
        };
        let mut users: Vec<UserRow> = Vec::new();
        for id in &targets {
            let u = self
                .store()
                .user_by_id(*id)
                .await?
                .filter(|u| u.realm_id == who.realm_id && u.is_active)
                .ok_or_else(|| AppError::bad("No such user"))?;
            users.push(u);
        }
        let mut result = SubscribeResult::default();
        let mut streams = Vec::new();
        for (name, description) in &req.names {
            let name = check_stream_name(name).map_err(AppError::bad)?;
            if description.chars().count() > 1024 {
                return Err(AppError::bad(
                    "Channel description too long (limit: 1024 characters).",
                ));
            }
            if let Some(pos) = tessera_core::names::unprintable_position(description) {
                return Err(AppError::bad(format!(
                    "Invalid character in channel description, at position {pos}."
                )));
            }
            let stream = match self.store().stream_by_name(who.realm_id, &name).await? {
                Some(s) => {
                    if !self.can_access_stream(who, &s).await? {
                        if req.authorization_errors_fatal {
                            return Err(AppError::bad(format!(
                                "Unable to access channel ({}).",
                                s.name
                            )));
                        }
                        result.unauthorized.push(s.name.clone());
                        continue;
                    }
                    s
                }
                None => {
                    self.check_may_create_channel(who, req.invite_only).await?;
                    let created = self
                        .store()
                        .create_stream(&NewStream {
                            realm_id: who.realm_id,
                            name: &name,
                            description: description.trim(),
                            invite_only: req.invite_only,
                            is_default: false,
                            creator_id: Some(who.user_id.0),
                            now: self.now(),
                        })
                        .await;
                    match created {
                        Ok(s) => {
                            self.announce_stream(who, &s).await;
                            s
                        }
                        Err(StoreError::Conflict(_)) => self
                            .store()
                            .stream_by_name(who.realm_id, &name)
                            .await?
                            .ok_or_else(|| AppError::Invariant("stream vanished".into()))?,
                        Err(e) => return Err(e.into()),
                    }
                }
            };
            streams.push(stream);
        }
        for user in &users {
            let mut added = Vec::new();
            let mut already = Vec::new();
            for s in &streams {
                if self.subscribe_user(user.id, s).await? {
                    added.push(s.name.clone());
                } else {
                    already.push(s.name.clone());
                }
            }
            if !added.is_empty() {
                result.subscribed.push((user.id, added));
            }
            if !already.is_empty() {
                result.already_subscribed.push((user.id, already));
            }
        }
        Ok(result)
    }

    async fn announce_stream(&self, who: &Principal, s: &StreamRow) {
        // Zulip's `stream` create event to everyone who can see it.
        let users = match self.store().users_in_realm(s.realm_id).await {
            Ok(u) => u,
            Err(_) => return,
        };
        let viewers: Vec<i64> = users
            .iter()
            .filter(|u| u.is_active && (!s.invite_only || u.id == who.user_id.0))
            .map(|u| u.id)
            .collect();
        let Ok(object) = self.stream_dict(s).await else {
            return;
        };
        self.events().publish(Notice::plain(
            viewers,
            json!({"type": "stream", "op": "create", "streams": [object]}),
        ));
    }

    /// The channels named, or Zulip's `Channel(s) (<names>) do not exist` for those that are
    /// not (checked before anything changes).
    pub async fn existing_channels(
        &self,
        who: &Principal,
        names: &[String],
    ) -> Result<Vec<StreamRow>> {
        let mut streams = Vec::new();
        let mut missing = Vec::new();
        for n in names {
            match self.store().stream_by_name(who.realm_id, n.trim()).await? {
                Some(s) if !s.deactivated => streams.push(s),
                _ => missing.push(n.trim().to_owned()),
            }
        }
        if !missing.is_empty() {
            return Err(AppError::bad(format!(
                "Channel(s) ({}) do not exist",
                missing.join(", ")
            )));
        }
        Ok(streams)
    }

    /// `DELETE /users/me/subscriptions`: (removed, not_removed) channel names.
    pub async fn unsubscribe(
        &self,
        who: &Principal,
        names: &[String],
        principals: Option<Vec<i64>>,
    ) -> Result<(Vec<String>, Vec<String>)> {
        let targets = match principals {
            Some(p) if !p.is_empty() => {
                if p.iter().any(|id| *id != who.user_id.0) && !who.role.is_admin() {
                    return Err(AppError::bad("Insufficient permission"));
                }
                p
            }
            _ => vec![who.user_id.0],
        };
        let streams = self.existing_channels(who, names).await?;
        let mut removed = Vec::new();
        let mut not_removed = Vec::new();
        for user_id in targets {
            for s in &streams {
                if self.store().unsubscribe(user_id, s.id).await? {
                    removed.push(s.name.clone());
                    self.events().publish(Notice::plain(
                        vec![user_id],
                        json!({"type": "subscription", "op": "remove",
                               "subscriptions": [{"name": s.name, "stream_id": s.id}]}),
                    ));
                    let peers = self.store().subscriber_ids(s.id).await?;
                    self.events().publish(Notice::plain(
                        peers,
                        json!({"type": "subscription", "op": "peer_remove",
                               "stream_ids": [s.id], "user_ids": [user_id]}),
                    ));
                } else {
                    not_removed.push(s.name.clone());
                }
            }
        }
        Ok((removed, not_removed))
    }

    /// The realm's default channels, creating `general` for an organization that has none.
    pub async fn ensure_default_streams(&self, realm_id: i64) -> Result<Vec<StreamRow>> {
        let defaults = self.store().default_streams(realm_id).await?;
        if !defaults.is_empty() {
            return Ok(defaults);
        }
        if self
            .store()
            .stream_by_name(realm_id, DEFAULT_STREAM)
            .await?
            .is_some()
        {
            return Ok(Vec::new());
        }
        match self
            .store()
            .create_stream(&NewStream {
                realm_id,
                name: DEFAULT_STREAM,
                description: "Everyone is added to this channel by default. Welcome! :octopus:",
                invite_only: false,
                is_default: true,
                creator_id: None,
                now: self.now(),
            })
            .await
        {
            Ok(s) => Ok(vec![s]),
            Err(StoreError::Conflict(_)) => Ok(self.store().default_streams(realm_id).await?),
            Err(e) => Err(e.into()),
        }
    }
}

/// Zulip escapes the channel name in this message.
/// Zulip's `check_stream_access_based_on_stream_post_policy`: 1 everyone, 2
/// administrators, 3 full members (everyone but guests, with the default waiting period of 0
/// days), 4 moderators; guests only where everyone may post.
fn stream_post_policy_allows(role: Role, stream: &StreamRow) -> Result<()> {
    let refused = match stream.stream_post_policy {
        _ if role.is_admin() => return Ok(()),
        2 => "Only organization administrators can send to this channel.",
        4 if role != Role::Moderator => {
            "Only organization administrators and moderators can send to this channel."
        }
        1 => return Ok(()),
        _ if role == Role::Guest => "Guests cannot send to this channel.",
        _ => return Ok(()),
    };
    Err(AppError::bad(refused))
}

/// Python's `html.escape` (Zulip escapes channel names in some error texts).
pub(crate) fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

#[cfg(test)]
mod tests {
    use super::check_stream_name;

    #[test]
    fn names() {
        assert_eq!(check_stream_name("  general ").as_deref(), Ok("general"));
        assert_eq!(
            check_stream_name(" ").unwrap_err(),
            "Channel name can't be empty."
        );
        assert!(
            check_stream_name(&"x".repeat(61))
                .unwrap_err()
                .contains("too long")
        );
        assert!(
            check_stream_name("a\u{0}b")
                .unwrap_err()
                .contains("position 2")
        );
    }
}
