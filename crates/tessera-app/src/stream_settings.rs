//! Administering a channel: `PATCH /streams/{stream_id}` (Zulip's `update_stream_backend`)
//! and `DELETE /streams/{stream_id}` (archive, Zulip 9's `do_deactivate_stream`). Only
//! organization administrators; every change is announced with Zulip's `stream` events to
//! those who can see the channel.

use crate::streams::{MAX_STREAM_DESCRIPTION_LENGTH, check_stream_name};
use crate::{App, AppError, Destination, Notice, Principal, Result};
use serde_json::{Value, json};
use tessera_core::Role;
use tessera_store::{StoreError, StreamChange, StreamRow};

/// `message_retention_days` as sent: a number of days, `"unlimited"` or `"realm_default"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retention {
    Days(i64),
    Unlimited,
    RealmDefault,
}

/// What one `PATCH /streams/{stream_id}` asks for.
#[derive(Debug, Clone, Default)]
pub struct StreamPatch {
    pub description: Option<String>,
    pub new_name: Option<String>,
    pub is_private: Option<bool>,
    pub is_announcement_only: Option<bool>,
    pub is_web_public: Option<bool>,
    pub history_public_to_subscribers: Option<bool>,
    pub is_default_stream: Option<bool>,
    pub stream_post_policy: Option<i64>,
    pub message_retention_days: Option<Value>,
    pub can_remove_subscribers_group: Option<i64>,
}

fn retention(value: &Value) -> Result<Retention> {
    match value {
        Value::String(s) if s == "unlimited" => Ok(Retention::Unlimited),
        Value::String(s) if s == "realm_default" => Ok(Retention::RealmDefault),
        Value::Number(n) if n.as_i64().is_some_and(|d| d > 0) => {
            Ok(Retention::Days(n.as_i64().unwrap_or(1)))
        }
        other => {
            let shown = match other {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            Err(AppError::bad(format!(
                "Bad value for 'message_retention_days': {shown}"
            )))
        }
    }
}

/// The topic of Notification Bot's messages about a channel (Zulip's
/// `STREAM_EVENTS_NOTIFICATION_TOPIC_NAME`).
pub const CHANNEL_EVENTS_TOPIC: &str = "channel events";

/// Zulip's names of a channel's access (for the permission-change message).
fn access_name(private: bool, history: bool) -> &'static str {
    match (private, history) {
        (false, true) => "Public",
        (false, false) => "Public, protected history",
        (true, true) => "Private, shared history",
        (true, false) => "Private, protected history",
    }
}

/// Zulip's names of the posting policies.
fn post_policy_name(policy: i64) -> &'static str {
    match policy {
        2 => "Only organization administrators can post",
        3 => "Only organization full members can post",
        4 => "Only organization administrators and moderators can post",
        _ => "All channel members can post",
    }
}

fn retention_name(days: i64) -> String {
    if days < 0 {
        "Forever".into()
    } else {
        format!("{days} days")
    }
}

impl App {
    /// Notification Bot's message in the channel's `channel events` topic, as Zulip posts
    /// after a channel change (the acting user as a silent mention).
    async fn post_channel_event(&self, stream: &StreamRow, content: String) -> Result<()> {
        if stream.deactivated {
            // An archived channel takes no messages (Zulip 9 renamed it out of the way).
            return Ok(());
        }
        let bot = self
            .system_bot(stream.realm_id, "notification-bot", "Notification Bot")
            .await?;
        self.send_as_system_bot(
            &bot,
            Destination::Stream {
                name: None,
                id: Some(stream.id),
            },
            Some(CHANNEL_EVENTS_TOPIC.into()),
            content,
        )
        .await?;
        Ok(())
    }

    /// Zulip's `access_stream_for_delete_or_update`.
    async fn stream_to_administer(&self, who: &Principal, stream_id: i64) -> Result<StreamRow> {
        let stream = self
            .store()
            .stream_by_id(stream_id)
            .await?
            .filter(|s| s.realm_id == who.realm_id)
            .ok_or_else(|| AppError::bad("Invalid channel ID"))?;
        if who.role.is_admin() {
            return Ok(stream);
        }
        if stream.invite_only && !self.store().is_subscribed(who.user_id.0, stream.id).await? {
            return Err(AppError::bad("Invalid channel ID"));
        }
        Err(AppError::UnauthorizedPrincipal(
            "Must be an organization administrator".into(),
        ))
    }

    /// Zulip's `can_access_stream_user_ids`: for a public channel every active member
    /// (guests only when subscribed), for a private one its subscribers and the
    /// administrators.
    pub(crate) async fn stream_audience(&self, stream: &StreamRow) -> Result<Vec<i64>> {
        let subscribers = self.store().subscriber_ids(stream.id).await?;
        let mut out: Vec<i64> = self
            .store()
            .users_in_realm(stream.realm_id)
            .await?
            .into_iter()
            .filter(|u| u.is_active)
            .filter(|u| {
                let role = Role::from_i64(u.role).unwrap_or(Role::Member);
                subscribers.contains(&u.id)
                    || if stream.invite_only {
                        role.is_admin()
                    } else {
                        role != Role::Guest
                    }
            })
            .map(|u| u.id)
            .collect();
        out.sort_unstable();
        Ok(out)
    }

    async fn announce_stream_update(
        &self,
        stream: &StreamRow,
        name: &str,
        property: &str,
        value: Value,
        extra: &[(&str, Value)],
    ) -> Result<()> {
        let mut event = json!({"type": "stream", "op": "update", "property": property,
                               "value": value, "stream_id": stream.id, "name": name});
        for (k, v) in extra {
            event[*k] = v.clone();
        }
        let audience = self.stream_audience(stream).await?;
        self.events().publish(Notice::plain(audience, event));
        Ok(())
    }

    /// The `default_streams` event, to every active member but guests.
    async fn announce_default_streams(&self, realm_id: i64) -> Result<()> {
        let everyone: Vec<i64> = self
            .store()
            .users_in_realm(realm_id)
            .await?
            .into_iter()
            .filter(|u| u.is_active && u.role != Role::Guest.as_i64())
            .map(|u| u.id)
            .collect();
        let mut defaults = Vec::new();
        for s in self.store().default_streams(realm_id).await? {
            defaults.push(self.stream_dict(&s).await?);
        }
        self.events().publish(Notice::plain(
            everyone,
            json!({"type": "default_streams", "default_streams": defaults}),
        ));
        Ok(())
    }

    /// `PATCH /streams/{stream_id}`: Zulip's checks in its order; the changes are stored
    /// together, then announced.
    pub async fn update_stream(
        &self,
        who: &Principal,
        stream_id: i64,
        p: StreamPatch,
    ) -> Result<()> {
        let stream = self.stream_to_administer(who, stream_id).await?;
        let me = self.user_row(who.user_id.0).await?;
        let actor = format!("@_**{}|{}**", me.full_name, me.id);
        let description = match &p.description {
            Some(d) if d.chars().count() as i64 > MAX_STREAM_DESCRIPTION_LENGTH => {
                return Err(AppError::bad(format!(
                    "description is too long (limit: {MAX_STREAM_DESCRIPTION_LENGTH} characters)"
                )));
            }
            Some(d) => {
                let d = d.replace('\n', " ");
                if let Some(pos) = tessera_core::names::unprintable_position(&d) {
                    return Err(AppError::bad(format!(
                        "Invalid character in channel description, at position {pos}."
                    )));
                }
                Some(d)
            }
            None => None,
        };
        if let Some(policy) = p.stream_post_policy
            && !(1..=4).contains(&policy)
        {
            return Err(AppError::bad("Invalid stream_post_policy"));
        }
        let private = p.is_private.unwrap_or(stream.invite_only);
        let web_public = p.is_web_public.unwrap_or(false);
        let default = p.is_default_stream.unwrap_or(stream.is_default);
        let history = p
            .history_public_to_subscribers
            .or(p.is_private.map(|b| !b))
            .unwrap_or(stream.history_public_to_subscribers);
        // Zulip's three checks: web-public needs public history and a public channel; a
        // public channel has public history.
        let web_public_invalid = web_public && (private || !history);
        let public_without_history = !private && !history;
        if web_public_invalid || public_without_history {
            return Err(AppError::bad("Invalid parameters"));
        }
        if private && default {
            return Err(AppError::bad("A default channel cannot be private."));
        }
        if p.is_private.is_some() && !self.can_access_stream(who, &stream).await? {
            return Err(AppError::bad("Invalid channel ID"));
        }
        if web_public {
            return Err(AppError::bad("Web-public channels are not enabled."));
        }
        let retention = match &p.message_retention_days {
            Some(v) => {
                if who.role != Role::Owner {
                    return Err(AppError::UnauthorizedPrincipal(
                        "Must be an organization owner".into(),
                    ));
                }
                Some(retention(v)?)
            }
            None => None,
        };
        let new_name = match p.new_name.as_deref().map(str::trim) {
            Some(n) if n == stream.name => {
                return Err(AppError::bad("Channel already has that name."));
            }
            Some(n) => {
                let n = check_stream_name(n).map_err(AppError::bad)?;
                if n.to_lowercase() != stream.name.to_lowercase()
                    && self
                        .store()
                        .stream_by_name(who.realm_id, &n)
                        .await?
                        .is_some()
                {
                    return Err(AppError::bad("Channel name already in use."));
                }
                Some(n)
            }
            None => None,
        };
        let post_policy = match p.is_announcement_only {
            Some(true) => Some(2),
            Some(false) => Some(1),
            None => p.stream_post_policy,
        };
        let admins = self.admins_group(who.realm_id).await?;
        let remove_group = match p.can_remove_subscribers_group {
            Some(g) if g != stream.can_remove_subscribers_group.unwrap_or(admins) => {
                self.check_remove_subscribers_group(who.realm_id, g).await?;
                Some(g)
            }
            _ => None,
        };
        let permission_change = p.is_private.is_some()
            || p.is_web_public.is_some()
            || p.history_public_to_subscribers.is_some();
        let change = StreamChange {
            name: new_name.clone(),
            description: description.clone(),
            invite_only: permission_change.then_some(private),
            history_public_to_subscribers: permission_change.then_some(history),
            is_default: p.is_default_stream,
            stream_post_policy: post_policy,
            message_retention_days: retention.as_ref().map(|r| match r {
                Retention::Days(d) => Some(*d),
                Retention::Unlimited => Some(-1),
                Retention::RealmDefault => None,
            }),
            can_remove_subscribers_group: remove_group,
        };
        let updated = self
            .store()
            .update_stream(stream.id, &change)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => AppError::bad("Channel name already in use."),
                e => e.into(),
            })?;
        let name = stream.name.as_str();
        if permission_change {
            if stream.invite_only && !private {
                // Those who could not see the private channel learn of it.
                let before = self.stream_audience(&stream).await?;
                let after = self.stream_audience(&updated).await?;
                let gained: Vec<i64> = after.into_iter().filter(|u| !before.contains(u)).collect();
                let object = self.stream_dict(&updated).await?;
                self.events().publish(Notice::plain(
                    gained.clone(),
                    json!({"type": "stream", "op": "create", "streams": [object]}),
                ));
                let subscribers = self.store().subscriber_ids(updated.id).await?;
                self.events().publish(Notice::plain(
                    gained,
                    json!({"type": "subscription", "op": "peer_add",
                           "stream_ids": [updated.id], "user_ids": subscribers}),
                ));
            }
            self.announce_stream_update(
                &updated,
                name,
                "invite_only",
                json!(private),
                &[
                    ("history_public_to_subscribers", json!(history)),
                    ("is_web_public", json!(false)),
                ],
            )
            .await?;
            self.post_channel_event(
                &updated,
                format!(
                    "{actor} changed the [access permissions](/help/channel-permissions) for this channel from **{}** to **{}**.",
                    access_name(stream.invite_only, stream.history_public_to_subscribers),
                    access_name(private, history)
                ),
            )
            .await?;
        }
        if let Some(d) = p.is_default_stream
            && d != stream.is_default
        {
            self.announce_default_streams(who.realm_id).await?;
        }
        if let Some(r) = &change.message_retention_days {
            self.announce_stream_update(&updated, name, "message_retention_days", json!(r), &[])
                .await?;
            let realm_days = self
                .realm_setting(who.realm_id, "message_retention_days")
                .await?
                .and_then(|v| v.as_i64())
                .unwrap_or(-1);
            let old_days = stream.message_retention_days.unwrap_or(realm_days);
            let new_days = r.unwrap_or(realm_days);
            let summary = if new_days < 0 {
                "Messages in this channel will now be retained forever.".to_owned()
            } else {
                format!(
                    "Messages in this channel will now be automatically deleted {new_days} days after they are sent."
                )
            };
            self.post_channel_event(
                &updated,
                format!(
                    "{actor} has changed the [message retention period](/help/message-retention-policy) for this channel:\n\
                     * **Old retention period**: {}\n\
                     * **New retention period**: {}\n\n{summary}",
                    retention_name(old_days),
                    retention_name(new_days)
                ),
            )
            .await?;
        }
        if let Some(d) = &description {
            let rendered = self.channel_object(&updated, 0).rendered_description;
            self.announce_stream_update(
                &updated,
                name,
                "description",
                json!(d),
                &[("rendered_description", json!(rendered))],
            )
            .await?;
            let shown = |d: &str| {
                if d.is_empty() {
                    "*No description.*".to_owned()
                } else {
                    format!("```` quote\n{d}\n````")
                }
            };
            self.post_channel_event(
                &updated,
                format!(
                    "{actor} changed the description for this channel.\n\n\
                     * **Old description:**\n{}\n\
                     * **New description:**\n{}",
                    shown(&stream.description),
                    shown(d)
                ),
            )
            .await?;
        }
        if let Some(n) = &new_name {
            self.announce_stream_update(&updated, name, "name", json!(n), &[])
                .await?;
            self.post_channel_event(
                &updated,
                format!("{actor} renamed channel **{}** to **{n}**.", stream.name),
            )
            .await?;
        }
        if let Some(policy) = post_policy {
            let name = updated.name.as_str();
            self.announce_stream_update(&updated, name, "stream_post_policy", json!(policy), &[])
                .await?;
            self.announce_stream_update(
                &updated,
                name,
                "is_announcement_only",
                json!(policy == 2),
                &[],
            )
            .await?;
            self.post_channel_event(
                &updated,
                format!(
                    "{actor} changed the [posting permissions](/help/channel-posting-policy) for this channel:\n\n\
                     * **Old permissions**: {}.\n\
                     * **New permissions**: {}.\n",
                    post_policy_name(stream.stream_post_policy),
                    post_policy_name(policy)
                ),
            )
            .await?;
        }
        if let Some(group) = remove_group {
            let name = updated.name.as_str();
            self.announce_stream_update(
                &updated,
                name,
                "can_remove_subscribers_group",
                json!(group),
                &[],
            )
            .await?;
        }
        Ok(())
    }

    /// `can_remove_subscribers_group` takes a system group other than internet, owners and
    /// nobody (Zulip 9's rules for this setting).
    async fn check_remove_subscribers_group(&self, realm_id: i64, group: i64) -> Result<()> {
        let groups = self.realm_groups(realm_id).await?;
        let row = groups
            .rows
            .iter()
            .find(|g| g.id == group)
            .ok_or_else(|| AppError::bad("Invalid user group"))?;
        let setting = "can_remove_subscribers_group";
        if !row.is_system_group {
            return Err(AppError::bad(format!(
                "'{setting}' must be a system user group."
            )));
        }
        if matches!(
            row.name.as_str(),
            "role:internet" | "role:owners" | "role:nobody"
        ) {
            return Err(AppError::bad(format!(
                "'{setting}' setting cannot be set to '{}' group.",
                row.name
            )));
        }
        Ok(())
    }

    /// `DELETE /streams/{stream_id}`: archive the channel (Zulip 9: renamed to free its
    /// name, private, subscriptions ended, one `stream` `delete` event with the old name).
    pub async fn archive_stream(&self, who: &Principal, stream_id: i64) -> Result<()> {
        let stream = self.stream_to_administer(who, stream_id).await?;
        if stream.deactivated {
            return Err(AppError::bad("Channel is already deactivated"));
        }
        let audience = self.stream_audience(&stream).await?;
        let object = self.stream_dict(&stream).await?;
        let was_default = stream.is_default;
        let new_name = tessera_core::names::deactivated_stream_name(stream.id, &stream.name);
        self.store()
            .deactivate_stream(stream.id, &new_name)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => AppError::bad("Channel is already deactivated"),
                e => e.into(),
            })?;
        self.events().publish(Notice::plain(
            audience,
            json!({"type": "stream", "op": "delete", "streams": [object]}),
        ));
        if was_default {
            self.announce_default_streams(who.realm_id).await?;
        }
        Ok(())
    }
}
