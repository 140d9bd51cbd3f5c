//! Editing and deleting messages, with the organization's policies.

use super::*;

impl App {
    /// `PATCH /messages/{id}`: new content and/or topic (with `propagate_mode`).
    pub async fn edit_message(
        &self,
        who: &Principal,
        id: i64,
        content: Option<String>,
        topic: Option<String>,
        propagate_mode: &str,
    ) -> Result<()> {
        if !matches!(propagate_mode, "change_one" | "change_later" | "change_all") {
            return Err(AppError::bad("Invalid propagate_mode"));
        }
        let row = self.accessible_message(who, id).await?;
        let now = self.now();
        let age_secs = (now - row.date_sent).div_euclid(1_000_000);
        // Zulip allows 20 s past a limit (the web app offers editing until just before it).
        const EDIT_LIMIT_BUFFER: i64 = 20;
        let settings = self.stored_realm_settings(who.realm_id).await?;
        if content.is_some() {
            if !settings.flag("allow_message_editing", true) {
                return Err(AppError::bad(
                    "Your organization has turned off message editing",
                ));
            }
            if row.sender_id != who.user_id.0 {
                return Err(AppError::bad(
                    "You don't have permission to edit this message",
                ));
            }
            if let Some(limit) = settings.limit("message_content_edit_limit_seconds", Some(600))
                && age_secs > limit.saturating_add(EDIT_LIMIT_BUFFER)
            {
                return Err(AppError::bad(
                    "The time limit for editing this message has passed",
                ));
            }
        }
        // An unchanged topic is no topic edit.
        let topic = topic.filter(|t| t.trim() != row.topic);
        if content.is_none() && topic.is_none() {
            return Err(AppError::bad("Nothing to change"));
        }
        if row.recipient_type != RECIPIENT_STREAM && topic.is_some() {
            return Err(AppError::bad("Direct messages cannot have topics."));
        }
        if propagate_mode != "change_one" && topic.is_none() {
            return Err(AppError::bad("Invalid propagate_mode without topic edit"));
        }
        if let Some(t) = &topic {
            if matches!(t.trim(), "" | "(no topic)") && settings.flag("mandatory_topics", false) {
                return Err(AppError::bad("Topics are required in this organization."));
            }
            let policy = settings.limit("edit_topic_policy", Some(5)).unwrap_or(5);
            if !who.role.has_permission(policy, false) {
                return Err(AppError::bad(
                    "You don't have permission to edit this message",
                ));
            }
            let exempt = who.role.is_admin() || who.role == tessera_core::Role::Moderator;
            if !exempt
                && let Some(limit) =
                    settings.limit("move_messages_within_stream_limit_seconds", Some(604_800))
                && age_secs > limit.saturating_add(EDIT_LIMIT_BUFFER)
            {
                return Err(AppError::bad(
                    "The time limit for editing this message's topic has passed.",
                ));
            }
        }
        let mut people = People::new(who.realm_id);
        let mut event = serde_json::Map::new();
        event.insert("type".into(), json!("update_message"));
        event.insert("user_id".into(), json!(who.user_id.0));
        event.insert("edit_timestamp".into(), json!(now.div_euclid(1_000_000)));
        event.insert("message_id".into(), json!(id));
        event.insert("rendering_only".into(), json!(false));
        let stream = if row.recipient_type == RECIPIENT_STREAM {
            self.store().stream_by_id(row.recipient_id).await?
        } else {
            None
        };
        if let Some(s) = &stream {
            event.insert("stream_name".into(), json!(s.name));
            event.insert("stream_id".into(), json!(s.id));
        }
        let mut ids = vec![id];
        let new_content = match content {
            Some(new) => {
                let new = normalize_content(&new)?;
                let rendered = self.render_in_realm(&mut people, &new).await?.html;
                Some((new, rendered))
            }
            None => None,
        };
        let new_topic = match topic {
            Some(t) => {
                let t = normalize_topic(&t)?;
                ids = match propagate_mode {
                    "change_all" => {
                        self.store()
                            .topic_message_ids(row.recipient_id, &row.topic, None)
                            .await?
                    }
                    "change_later" => {
                        self.store()
                            .topic_message_ids(row.recipient_id, &row.topic, Some(id))
                            .await?
                    }
                    _ => vec![id],
                };
                Some(t)
            }
            None => None,
        };
        self.store()
            .edit_message(&MessageEdit {
                message_id: id,
                user_id: who.user_id.0,
                now,
                content: new_content.as_ref().map(|(c, r)| (c.as_str(), r.as_str())),
                topic: new_topic.as_deref().map(|t| (ids.as_slice(), t)),
            })
            .await?;
        if let Some((new, rendered)) = new_content {
            self.claim_uploads(who.user_id.0, id, &new).await;
            event.insert("orig_content".into(), json!(row.content));
            event.insert("orig_rendered_content".into(), json!(row.rendered_content));
            event.insert("is_me_message".into(), json!(new.starts_with("/me ")));
            event.insert("content".into(), json!(new));
            event.insert("rendered_content".into(), json!(rendered));
            event.insert("prev_rendered_content_version".into(), json!(1));
        }
        if let Some(t) = new_topic {
            event.insert("propagate_mode".into(), json!(propagate_mode));
            event.insert("orig_subject".into(), json!(row.topic));
            event.insert("subject".into(), json!(t));
            event.insert("topic_links".into(), json!([]));
        }
        event.insert("message_ids".into(), json!(ids));
        let mut users = self.store().message_user_ids(id).await?;
        if let Some(s) = &stream {
            for u in self.store().subscriber_ids(s.id).await? {
                if !users.contains(&u) {
                    users.push(u);
                }
            }
        }
        // Zulip adds each receiver's flags; tessera sends the editor's view of "flags": [].
        event.insert("flags".into(), json!([]));
        self.events()
            .publish(Notice::plain(users, Value::Object(event)));
        Ok(())
    }

    /// `DELETE /messages/{id}`: administrators, or the sender (or the sending bot's owner).
    pub async fn delete_message(&self, who: &Principal, id: i64) -> Result<()> {
        let row = self.accessible_message(who, id).await?;
        // Zulip's `validate_can_delete_message`: administrators always; otherwise the sender
        // (or the sending bot's owner) within `delete_own_message_policy` and the time limit.
        if !who.role.is_admin() {
            let refused = || AppError::bad("You don't have permission to delete this message");
            let sender = self.user_row(row.sender_id).await?;
            if row.sender_id != who.user_id.0 && sender.bot_owner_id != Some(who.user_id.0) {
                return Err(refused());
            }
            let settings = self.stored_realm_settings(who.realm_id).await?;
            let policy = settings
                .limit("delete_own_message_policy", Some(5))
                .unwrap_or(5);
            if !who.role.has_permission(policy, false) {
                return Err(refused());
            }
            let age_secs = (self.now() - row.date_sent).div_euclid(1_000_000);
            if let Some(limit) = settings.limit("message_content_delete_limit_seconds", Some(600))
                && age_secs > limit
            {
                return Err(AppError::bad(
                    "The time limit for deleting this message has passed",
                ));
            }
        }
        let users = self.store().message_user_ids(id).await?;
        self.store().delete_message(id).await.map_err(|e| match e {
            tessera_store::StoreError::NotFound => AppError::bad("Message already deleted"),
            e => e.into(),
        })?;
        let event = if row.recipient_type == RECIPIENT_STREAM {
            json!({"type": "delete_message", "message_ids": [id], "message_type": "stream",
                   "stream_id": row.recipient_id, "topic": row.topic})
        } else {
            json!({"type": "delete_message", "message_ids": [id], "message_type": "private"})
        };
        self.events().publish(Notice::Delete { users, event });
        Ok(())
    }
}
