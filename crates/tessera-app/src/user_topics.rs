//! Topic visibility (Zulip's `update_user_topic`): a person mutes, unmutes or follows a topic
//! of a channel. A change sends the legacy `muted_topics` list, then `user_topic`; setting a
//! topic to the policy it already has changes nothing and sends nothing.

use crate::{App, AppError, Notice, Principal, Result};
use serde::Serialize;
use serde_json::json;

/// Zulip's `UserTopic.VisibilityPolicy` values.
pub const INHERIT: i64 = 0;
pub const MUTED: i64 = 1;
pub const FOLLOWED: i64 = 3;

/// Zulip's user-topic object (`register`'s `user_topics`, the `user_topic` event).
#[derive(Debug, Clone, Serialize)]
pub struct UserTopic {
    pub stream_id: i64,
    pub topic_name: String,
    pub last_updated: i64,
    pub visibility_policy: i64,
}

/// An entry of the legacy `muted_topics` list: `[channel name, topic, last updated]`.
#[derive(Debug, Clone, Serialize)]
pub struct MutedTopic(pub String, pub String, pub i64);

impl App {
    /// `POST /user_topics`.
    pub async fn set_topic_visibility(
        &self,
        who: &Principal,
        stream_id: i64,
        topic: &str,
        policy: i64,
    ) -> Result<()> {
        if let Some(pos) = tessera_core::names::unprintable_position(topic) {
            return Err(AppError::bad(format!(
                "Invalid character in topic, at position {pos}!"
            )));
        }
        if !(INHERIT..=FOLLOWED).contains(&policy) {
            return Err(AppError::bad(
                "Invalid visibility_policy: Value error, Not in the list of possible values",
            ));
        }
        if policy == INHERIT {
            // Removing a policy needs only a channel of the organization.
            self.store()
                .stream_by_id(stream_id)
                .await?
                .filter(|s| s.realm_id == who.realm_id)
                .ok_or_else(|| AppError::bad("Invalid channel ID"))?;
        } else {
            self.channel_for(who, stream_id, false).await?;
        }
        let now = self.now().div_euclid(1_000_000);
        let me = who.user_id.0;
        let old = self
            .store()
            .set_user_topic(me, stream_id, topic, policy, now)
            .await?;
        if old == policy {
            return Ok(());
        }
        self.events().publish(Notice::plain(
            vec![me],
            json!({"type": "muted_topics", "muted_topics": self.muted_topics_state(me).await?}),
        ));
        self.events().publish(Notice::plain(
            vec![me],
            json!({"type": "user_topic", "stream_id": stream_id, "topic_name": topic,
                   "last_updated": now, "visibility_policy": policy}),
        ));
        Ok(())
    }

    /// `register`'s `user_topics`.
    pub(crate) async fn user_topics_state(&self, user_id: i64) -> Result<Vec<UserTopic>> {
        Ok(self
            .store()
            .user_topics_of(user_id)
            .await?
            .into_iter()
            .map(|r| UserTopic {
                stream_id: r.stream_id,
                topic_name: r.topic_name,
                last_updated: r.last_updated,
                visibility_policy: r.visibility_policy,
            })
            .collect())
    }

    /// The legacy `muted_topics`: `[channel name, topic, last updated]` for muted topics.
    pub(crate) async fn muted_topics_state(&self, user_id: i64) -> Result<Vec<MutedTopic>> {
        Ok(self
            .store()
            .user_topics_of(user_id)
            .await?
            .into_iter()
            .filter(|t| t.visibility_policy == MUTED)
            .map(|t| MutedTopic(t.stream_name, t.topic_name, t.last_updated))
            .collect())
    }
}

/// The channel of the legacy `PATCH /users/me/subscriptions/muted_topics`: by name or id.
#[derive(Debug, Clone)]
pub enum ChannelRef {
    Name(String),
    Id(i64),
}

impl App {
    /// `PATCH /users/me/subscriptions/muted_topics` (Zulip's legacy `update_muted_topic`,
    /// which the 0.9.1 client's `mute_topic` calls): `op` `add` mutes, `remove` unmutes.
    pub async fn legacy_mute_topic(
        &self,
        who: &Principal,
        channel: ChannelRef,
        topic: &str,
        mute: bool,
    ) -> Result<()> {
        let stream = match channel {
            ChannelRef::Id(id) => self.channel_for(who, id, false).await?,
            ChannelRef::Name(name) => {
                let s = self
                    .store()
                    .stream_by_name(who.realm_id, name.trim())
                    .await?
                    .filter(|s| !s.deactivated)
                    .ok_or_else(|| {
                        AppError::bad(format!("Invalid channel name '{}'", name.trim()))
                    })?;
                self.channel_for(who, s.id, false).await?
            }
        };
        let muted = self
            .store()
            .user_topics_of(who.user_id.0)
            .await?
            .iter()
            .any(|t| {
                t.stream_id == stream.id
                    && t.visibility_policy == MUTED
                    && t.topic_name.to_lowercase() == topic.to_lowercase()
            });
        match (mute, muted) {
            (true, true) => Err(AppError::bad("Topic already muted")),
            (false, false) => Err(AppError::bad("Topic is not muted")),
            (true, false) => {
                self.set_topic_visibility(who, stream.id, topic, MUTED)
                    .await
            }
            (false, true) => {
                self.set_topic_visibility(who, stream.id, topic, INHERIT)
                    .await
            }
        }
    }
}
