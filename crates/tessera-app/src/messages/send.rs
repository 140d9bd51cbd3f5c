//! Sending: addressing, Zulip's content and topic rules, rendering, per-receiver rows and
//! flags, the `message` notice, outgoing-webhook triggers, and tessera's own bots' messages.

use super::*;

impl App {
    /// `POST /messages`: returns the new message id.
    pub async fn send_message(&self, who: &Principal, out: Outgoing) -> Result<i64> {
        let content = normalize_content(&out.content)?;
        let mut people = People::new(who.realm_id);
        self.load_people(&mut people, [who.user_id.0]).await?;
        let sender = people
            .get(who.user_id.0)
            .cloned()
            .ok_or_else(|| AppError::Invariant("sender not in realm".into()))?;
        let rendered = self.render_in_realm(&mut people, &content).await?;
        let now = self.now();
        let (recipient_type, recipient_id, topic, receivers, stream) = match &out.to {
            Destination::Stream { name, id } => {
                let stream = self.stream_for_send(who, name.as_deref(), *id).await?;
                let topic = match &out.topic {
                    Some(t) => normalize_topic(t)?,
                    None => return Err(AppError::bad("Missing topic")),
                };
                if matches!(topic.as_str(), "" | "(no topic)")
                    && self.realm_setting(who.realm_id, "mandatory_topics").await?
                        == Some(json!(true))
                {
                    return Err(AppError::bad("Topics are required in this organization"));
                }
                let mut receivers = self.store().subscriber_ids(stream.id).await?;
                if !receivers.contains(&who.user_id.0) {
                    receivers.push(who.user_id.0);
                }
                (RECIPIENT_STREAM, stream.id, topic, receivers, Some(stream))
            }
            Destination::DirectEmails(_) | Destination::DirectIds(_) => {
                let mut ids = Vec::new();
                match &out.to {
                    Destination::DirectEmails(emails) => {
                        for e in emails {
                            let e = e.trim();
                            let found = self
                                .person_id_by_email(&mut people, e)
                                .await?
                                .ok_or_else(|| AppError::bad(format!("Invalid email '{e}'")))?;
                            ids.push(found);
                        }
                    }
                    Destination::DirectIds(list) => {
                        self.load_people(&mut people, list.iter().copied()).await?;
                        for id in list {
                            if people.get(*id).is_none() {
                                return Err(AppError::bad(format!("Invalid user ID {id}")));
                            }
                            ids.push(*id);
                        }
                    }
                    Destination::Stream { .. } => {}
                }
                if ids.is_empty() {
                    return Err(AppError::bad("Message must have recipients"));
                }
                ids.push(who.user_id.0);
                ids.sort_unstable();
                ids.dedup();
                if ids
                    .iter()
                    .any(|id| people.get(*id).is_some_and(|p| !p.is_active))
                {
                    return Err(AppError::bad(
                        "You do not have permission to access some of the recipients.",
                    ));
                }
                let kind = if ids.len() <= 2 {
                    RECIPIENT_PERSONAL
                } else {
                    RECIPIENT_GROUP
                };
                let group = self.store().dm_group(who.realm_id, &ids).await?;
                (kind, group, String::new(), ids, None)
            }
        };
        if who.bot_type == Some(BotType::IncomingWebhook) && recipient_type != RECIPIENT_STREAM {
            // Incoming webhooks post to channels or to their owner.
            let to_owner =
                receivers.len() == 2 && receivers.contains(&sender.bot_owner_id.unwrap_or(-1));
            if !to_owner {
                return Err(AppError::bad(
                    "Incoming webhook bots can only send to channels or to their owner",
                ));
            }
        }
        let mut rows: Vec<(i64, i64)> = Vec::with_capacity(receivers.len());
        let mut flag_list: Vec<(i64, Vec<String>)> = Vec::with_capacity(receivers.len());
        for uid in &receivers {
            let mut flags = 0;
            if *uid == who.user_id.0 && out.read_by_sender {
                flags |= FLAG_READ;
            }
            if rendered.mentioned_user_ids.contains(uid) {
                flags |= FLAG_MENTIONED;
            }
            if rendered.wildcard && recipient_type == RECIPIENT_STREAM && *uid != who.user_id.0 {
                flags |= FLAG_WILDCARD_MENTIONED;
            }
            rows.push((*uid, flags));
            flag_list.push((*uid, flag_names(flags, true)));
        }
        let new = NewMessage {
            realm_id: who.realm_id,
            sender_id: who.user_id.0,
            recipient_type,
            recipient_id,
            topic: topic.clone(),
            content: content.clone(),
            rendered_content: rendered.html.clone(),
            date_sent: now,
            sending_client: out.client.clone(),
        };
        let id = self.store().insert_message(&new, &rows).await?;
        self.claim_uploads(who.user_id.0, id, &content).await;
        let row = MessageRow::sent(id, new);
        let mut streams = HashMap::new();
        if let Some(s) = &stream {
            streams.insert(s.id, Some(s.clone()));
        }
        let message = self
            .message_dict(
                &row,
                &mut people,
                &mut streams,
                &[],
                true,
                &who.realm_string_id,
            )
            .await?;
        self.events()
            .publish(Notice::Message(Box::new(MessageNotice {
                message: message.clone(),
                raw_content: content.clone(),
                recipients: flag_list,
                stream_name: stream.as_ref().map(|s| s.name.clone()),
                topic: topic.clone(),
                sender_email: sender.email.clone(),
                public_stream: stream.as_ref().is_some_and(|s| !s.invite_only),
                realm_id: who.realm_id,
            })));
        // Outgoing-webhook bots: @-mentioned in a channel, or in the conversation of a DM.
        // (Mentioned people and a direct message's members are loaded already.)
        let (candidates, trigger) = if recipient_type == RECIPIENT_STREAM {
            (&rendered.mentioned_user_ids, "mention")
        } else {
            (&receivers, "direct_message")
        };
        let mut triggered: Vec<(UserRow, &'static str)> = Vec::new();
        for id in candidates {
            let is_bot = people.get(*id).is_some_and(|p| {
                p.is_active
                    && p.bot_type == Some(BotType::OutgoingWebhook.as_i64())
                    && p.id != who.user_id.0
            });
            if is_bot {
                triggered.push((self.user_row(*id).await?, trigger));
            }
        }
        if !triggered.is_empty() && who.bot_type != Some(BotType::OutgoingWebhook) {
            let raw = Message {
                rendered_content: Some(rendered.html.clone()),
                content: content.clone(),
                content_type: ContentType::Markdown,
                ..message
            };
            let raw = serde_json::to_value(raw).unwrap_or(Value::Null);
            for (bot, trigger) in triggered {
                self.dispatch_outgoing_webhook(bot, trigger, raw.clone(), content.clone());
            }
        }
        Ok(id)
    }

    /// A message from one of tessera's own bots (client `Internal`, read by its sender).
    pub(crate) async fn send_as_system_bot(
        &self,
        bot: &UserRow,
        to: Destination,
        topic: Option<String>,
        content: String,
    ) -> Result<i64> {
        let principal = self.principal_of(bot).await?;
        self.send_message(
            &principal,
            Outgoing {
                to,
                topic,
                content,
                client: "Internal".into(),
                read_by_sender: true,
                local_id: None,
                sender_queue_id: None,
            },
        )
        .await
    }
}
