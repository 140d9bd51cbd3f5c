//! `POST /typing`: "someone is typing" notices (Zulip's `send_notification_backend`). Nothing
//! is stored; the event goes to the people who would receive the message and who have
//! `receives_typing_notifications` on.

use crate::{App, AppError, Notice, Principal, Result};
use serde_json::{Value, json};
use tessera_store::UserRow;

/// Where the message being typed goes.
pub enum TypingTo {
    /// A direct message to these user ids (the sender is added).
    Direct(Vec<i64>),
    /// A channel topic.
    Channel { stream_id: i64, topic: String },
}

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
                    .bool_setting(&me, "send_private_typing_notifications")
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
                let notify = self.typing_audience(people).await?;
                self.events().publish(Notice::plain(
                    notify,
                    json!({"type": "typing", "message_type": "direct", "op": op,
                           "sender": sender, "recipients": recipients}),
                ));
            }
            TypingTo::Channel { stream_id, topic } => {
                if !self
                    .bool_setting(&me, "send_stream_typing_notifications")
                    .await?
                {
                    return Err(AppError::bad(
                        "User has disabled typing notifications for channel messages",
                    ));
                }
                let stream = self.channel_for(who, stream_id, false).await?;
                let mut people = Vec::new();
                for id in self.store().subscriber_ids(stream.id).await? {
                    if let Some(u) = self.store().user_by_id(id).await? {
                        people.push(u);
                    }
                }
                let notify = self.typing_audience(people).await?;
                self.events().publish(Notice::plain(
                    notify,
                    json!({"type": "typing", "message_type": "stream", "op": op,
                           "sender": sender, "stream_id": stream.id, "topic": topic}),
                ));
            }
        }
        Ok(())
    }

    /// The active people among `users` who receive typing notifications.
    async fn typing_audience(&self, users: Vec<UserRow>) -> Result<Vec<i64>> {
        let mut out = Vec::with_capacity(users.len());
        for u in users.iter().filter(|u| u.is_active) {
            if self
                .bool_setting(u, "receives_typing_notifications")
                .await?
            {
                out.push(u.id);
            }
        }
        Ok(out)
    }

    /// A personal boolean setting's value (its default when never changed).
    async fn bool_setting(&self, user: &UserRow, name: &str) -> Result<bool> {
        let stored = self
            .store()
            .user_settings(user.id)
            .await?
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v == "true");
        let default = tessera_core::user_settings::find(name)
            .map(|s| s.default == tessera_core::user_settings::Default::Bool(true))
            .unwrap_or(true);
        Ok(stored.unwrap_or(default))
    }
}
