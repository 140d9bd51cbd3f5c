//! `POST /typing`: "someone is typing" notices (Zulip's `send_notification_backend`). Nothing
//! is stored; the event goes to the people who would receive the message and who have
//! `receives_typing_notifications` on.

use crate::{App, AppError, Notice, Principal, Result};
use serde_json::{Value, json};

/// Where the message being typed goes.
pub enum TypingTo {
    /// A direct message to these user ids (the sender is added).
    Direct(Vec<i64>),
    /// A channel topic.
    Channel { stream_id: i64, topic: String },
}

/// The setting that decides who hears typing notices.
const RECEIVES: &str = "receives_typing_notifications";

impl App {
    /// `POST /typing` with `op` `start` or `stop`.
    pub async fn send_typing(&self, who: &Principal, start: bool, to: TypingTo) -> Result<()> {
        let me = self.user_row(who.user_id.0).await?;
        let op = if start { "start" } else { "stop" };
        let sender = json!({"user_id": me.id, "email": me.email});
        match to {
            TypingTo::Direct(mut ids) => {
                if ids.is_empty() {
                    return Err(AppError::bad("Empty 'to' list"));
                }
                if !self
                    .sends_typing(me.id, "send_private_typing_notifications")
                    .await?
                {
                    return Err(AppError::bad(
                        "User has disabled typing notifications for direct messages",
                    ));
                }
                if !ids.contains(&me.id) {
                    ids.push(me.id);
                }
                let mut people = Vec::with_capacity(ids.len());
                for id in ids {
                    match self.store().user_by_id(id).await? {
                        Some(u) if u.realm_id == me.realm_id || self.is_system_bot(&u) => {
                            people.push(u)
                        }
                        _ => return Err(AppError::bad(format!("Invalid user ID {id}"))),
                    }
                }
                let recipients: Vec<Value> = people
                    .iter()
                    .map(|u| json!({"user_id": u.id, "email": u.email}))
                    .collect();
                let active = people
                    .iter()
                    .filter(|u| u.is_active)
                    .map(|u| u.id)
                    .collect();
                let notify = self.with_setting_on(active, RECEIVES).await?;
                self.events().publish(Notice::plain(
                    notify,
                    json!({"type": "typing", "message_type": "direct", "op": op,
                           "sender": sender, "recipients": recipients}),
                ));
            }
            TypingTo::Channel { stream_id, topic } => {
                if !self
                    .sends_typing(me.id, "send_stream_typing_notifications")
                    .await?
                {
                    return Err(AppError::bad(
                        "User has disabled typing notifications for channel messages",
                    ));
                }
                let stream = self.channel_for(who, stream_id, false).await?;
                // Subscriber ids are of active users already.
                let subscribers = self.store().subscriber_ids(stream.id).await?;
                let notify = self.with_setting_on(subscribers, RECEIVES).await?;
                self.events().publish(Notice::plain(
                    notify,
                    json!({"type": "typing", "message_type": "stream", "op": op,
                           "sender": sender, "stream_id": stream.id, "topic": topic}),
                ));
            }
        }
        Ok(())
    }

    /// Whether the sender has this `send_*_typing_notifications` setting on.
    async fn sends_typing(&self, user_id: i64, name: &str) -> Result<bool> {
        Ok(!self.with_setting_on(vec![user_id], name).await?.is_empty())
    }

    /// Those of `ids` whose boolean personal setting `name` is on (its default when never
    /// changed), in one read.
    async fn with_setting_on(&self, ids: Vec<i64>, name: &str) -> Result<Vec<i64>> {
        let default = tessera_core::user_settings::find(name)
            .is_none_or(|s| s.default == tessera_core::user_settings::Default::Bool(true));
        let stored: std::collections::HashMap<i64, bool> = self
            .store()
            .user_setting_of(&ids, name)
            .await?
            .into_iter()
            .map(|(id, v)| (id, v == "true"))
            .collect();
        Ok(ids
            .into_iter()
            .filter(|id| stored.get(id).copied().unwrap_or(default))
            .collect())
    }
}
