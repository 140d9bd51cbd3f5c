//! Messages: sending (channel or direct), fetching with anchors and narrows, editing,
//! deleting, reactions, flags, the welcome message, and Zulip's message object.

use crate::auth::Principal;
use crate::events::{MessageNotice, Notice};
use crate::{App, AppError, Result};
use serde_json::{Value, json};
use std::collections::HashMap;
use tessera_core::BotType;
use tessera_store::{
    FLAG_MENTIONED, FLAG_READ, FLAG_STARRED, FLAG_WILDCARD_MENTIONED, MessageEdit, MessageFilter,
    MessageQuery, MessageRow, NewMessage, RECIPIENT_GROUP, RECIPIENT_PERSONAL, RECIPIENT_STREAM,
    ReactionRow, StreamRow, UserRow,
};

/// Zulip's `MAX_MESSAGE_LENGTH`.
pub const MAX_MESSAGE_LENGTH: usize = 10_000;
/// Zulip's `MAX_TOPIC_NAME_LENGTH`.
pub const MAX_TOPIC_LENGTH: usize = 60;
/// `anchor=newest` resolves to this (Zulip's `LARGER_THAN_MAX_MESSAGE_ID`).
pub const LARGER_THAN_MAX_MESSAGE_ID: i64 = 10_000_000_000_000_000;
/// Zulip's `MAX_MESSAGES_PER_FETCH`.
pub const MAX_MESSAGES_PER_FETCH: i64 = 5000;

/// Where a message goes.
#[derive(Debug, Clone)]
pub enum Destination {
    Stream {
        name: Option<String>,
        id: Option<i64>,
    },
    DirectEmails(Vec<String>),
    DirectIds(Vec<i64>),
}

/// A message to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub to: Destination,
    pub topic: Option<String>,
    pub content: String,
    pub client: String,
    pub read_by_sender: bool,
    pub local_id: Option<String>,
    pub sender_queue_id: Option<String>,
}

/// `GET /messages` anchors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Newest,
    Oldest,
    FirstUnread,
    Id(i64),
}

pub use tessera_core::wire::NarrowTerm;

mod flags;
mod history;
mod people;
mod render;

use people::People;

pub use flags::FlagsForNarrow;

/// `GET /messages` parameters.
#[derive(Debug, Clone)]
pub struct Fetch {
    pub anchor: Anchor,
    pub num_before: i64,
    pub num_after: i64,
    pub include_anchor: bool,
    pub narrow: Vec<NarrowTerm>,
    pub apply_markdown: bool,
    pub client_gravatar: bool,
}

/// A range of messages (`GET /messages`, `POST /messages/flags/narrow`).
pub(crate) struct Range {
    pub rows: Vec<MessageRow>,
    pub anchor: i64,
    pub found_anchor: bool,
    pub found_oldest: bool,
    pub found_newest: bool,
}

fn flag_names(flags: i64, has_row: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if !has_row {
        return vec!["read".into(), "historical".into()];
    }
    if flags & FLAG_READ != 0 {
        out.push("read".into());
    }
    if flags & FLAG_STARRED != 0 {
        out.push("starred".into());
    }
    if flags & tessera_store::FLAG_COLLAPSED != 0 {
        out.push("collapsed".into());
    }
    if flags & FLAG_MENTIONED != 0 {
        out.push("mentioned".into());
    }
    if flags & FLAG_WILDCARD_MENTIONED != 0 {
        out.push("stream_wildcard_mentioned".into());
        out.push("wildcard_mentioned".into());
    }
    out
}

fn narrow_error(desc: impl Into<String>) -> AppError {
    let desc = desc.into();
    AppError::BadNarrow(desc)
}

/// Zulip's `normalize_body`: trailing whitespace dropped, empty refused, long truncated.
fn normalize_content(content: &str) -> Result<String> {
    let body = content.trim_end();
    if body.is_empty() {
        return Err(AppError::bad("Message must not be empty"));
    }
    if body.contains('\0') {
        return Err(AppError::bad("Message must not contain null bytes"));
    }
    if body.chars().count() > MAX_MESSAGE_LENGTH {
        let suffix = "\n[message truncated]";
        let keep = MAX_MESSAGE_LENGTH - suffix.chars().count();
        return Ok(body.chars().take(keep).collect::<String>() + suffix);
    }
    Ok(body.to_owned())
}

/// Zulip's `check_stream_topic` + `truncate_topic`.
fn normalize_topic(topic: &str) -> Result<String> {
    let topic = topic.trim();
    if let Some((i, _)) = topic
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() || ('\u{fdd0}'..='\u{fdef}').contains(c))
    {
        return Err(AppError::bad(format!(
            "Invalid character in topic, at position {}!",
            i + 1
        )));
    }
    if topic.chars().count() > MAX_TOPIC_LENGTH {
        return Ok(topic.chars().take(MAX_TOPIC_LENGTH - 3).collect::<String>() + "...");
    }
    Ok(topic.to_owned())
}

impl App {
    /// Zulip's message object for a reader.
    async fn message_dict(
        &self,
        row: &MessageRow,
        people: &mut People,
        streams: &mut HashMap<i64, Option<StreamRow>>,
        reactions: &[ReactionRow],
        apply_markdown: bool,
        realm_str: &str,
    ) -> Result<Value> {
        let members = if row.recipient_type == RECIPIENT_STREAM {
            Vec::new()
        } else {
            self.store().dm_group_members(row.recipient_id).await?
        };
        let reactions: Vec<&ReactionRow> = reactions
            .iter()
            .filter(|r| r.message_id == row.id)
            .collect();
        self.load_people(
            people,
            std::iter::once(row.sender_id)
                .chain(members.iter().copied())
                .chain(reactions.iter().map(|r| r.user_id)),
        )
        .await?;
        let (sender_email, sender_name, sender_avatar) = match people.get(row.sender_id) {
            Some(p) => (
                p.email.clone(),
                p.full_name.clone(),
                self.person_avatar_url(p),
            ),
            None => (
                format!("user{}@unknown", row.sender_id),
                "Unknown user".to_owned(),
                String::new(),
            ),
        };
        let (display_recipient, kind, stream_id) = if row.recipient_type == RECIPIENT_STREAM {
            if let std::collections::hash_map::Entry::Vacant(slot) = streams.entry(row.recipient_id)
            {
                slot.insert(self.store().stream_by_id(row.recipient_id).await?);
            }
            let name = streams
                .get(&row.recipient_id)
                .and_then(|s| s.as_ref())
                .map(|s| s.name.clone())
                .unwrap_or_default();
            (json!(name), "stream", Some(row.recipient_id))
        } else {
            let mut shown: Vec<&tessera_store::PersonRow> =
                members.iter().filter_map(|id| people.get(*id)).collect();
            shown.sort_by(|a, b| a.email.cmp(&b.email));
            let list: Vec<Value> = shown
                .iter()
                .map(|p| json!({"id": p.id, "email": p.email, "full_name": p.full_name, "is_mirror_dummy": false}))
                .collect();
            (json!(list), "private", None)
        };
        let reactions: Vec<Value> = reactions
            .iter()
            .map(|r| {
                let (email, full_name) = people
                    .get(r.user_id)
                    .map(|p| (p.email.clone(), p.full_name.clone()))
                    .unwrap_or_default();
                json!({
                    "emoji_name": r.emoji_name, "emoji_code": r.emoji_code,
                    "reaction_type": r.reaction_type, "user_id": r.user_id,
                    "user": {"id": r.user_id, "email": email, "full_name": full_name, "is_mirror_dummy": false},
                })
            })
            .collect();
        let mut m = serde_json::Map::new();
        m.insert("id".into(), json!(row.id));
        m.insert("sender_id".into(), json!(row.sender_id));
        m.insert(
            "content".into(),
            json!(if apply_markdown {
                &row.rendered_content
            } else {
                &row.content
            }),
        );
        m.insert("recipient_id".into(), json!(row.recipient_id));
        m.insert(
            "timestamp".into(),
            json!(row.date_sent.div_euclid(1_000_000)),
        );
        m.insert("client".into(), json!(row.sending_client));
        m.insert("subject".into(), json!(row.topic));
        m.insert("topic_links".into(), json!([]));
        if let Some(t) = row.last_edit_time {
            m.insert("last_edit_timestamp".into(), json!(t.div_euclid(1_000_000)));
        }
        m.insert(
            "is_me_message".into(),
            json!(row.content.starts_with("/me ")),
        );
        m.insert("reactions".into(), json!(reactions));
        m.insert("submessages".into(), json!([]));
        m.insert("sender_full_name".into(), json!(sender_name));
        m.insert("sender_email".into(), json!(sender_email));
        m.insert("sender_realm_str".into(), json!(realm_str));
        m.insert("display_recipient".into(), display_recipient);
        m.insert("type".into(), json!(kind));
        if let Some(id) = stream_id {
            m.insert("stream_id".into(), json!(id));
        }
        m.insert("avatar_url".into(), json!(sender_avatar));
        m.insert(
            "content_type".into(),
            json!(if apply_markdown {
                "text/html"
            } else {
                "text/x-markdown"
            }),
        );
        Ok(Value::Object(m))
    }

    /// `POST /messages`: returns the new message id.
    pub async fn send_message(&self, who: &Principal, out: Outgoing) -> Result<i64> {
        let content = normalize_content(&out.content)?;
        let mut people = People::new(who.realm_id);
        self.load_people(&mut people, [who.user_id.0]).await?;
        let sender = people
            .get(who.user_id.0)
            .cloned()
            .ok_or_else(|| AppError::Internal("sender not in realm".into()))?;
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
        let row = MessageRow {
            id,
            realm_id: who.realm_id,
            sender_id: who.user_id.0,
            recipient_type,
            recipient_id,
            topic: topic.clone(),
            content: content.clone(),
            rendered_content: rendered.html.clone(),
            date_sent: now,
            last_edit_time: None,
            sending_client: out.client.clone(),
            flags: 0,
            has_user_message: true,
        };
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
            let mut raw = message;
            if let Some(map) = raw.as_object_mut() {
                map.insert("rendered_content".into(), json!(rendered.html));
                map.insert("content".into(), json!(content));
                map.insert("content_type".into(), json!("text/x-markdown"));
            }
            for (bot, trigger) in triggered {
                self.dispatch_outgoing_webhook(bot, trigger, raw.clone(), content.clone());
            }
        }
        Ok(id)
    }

    /// A narrow's user operand: an id (as a number or text) or an email of the realm.
    async fn narrow_user(&self, realm_id: i64, operand: &Value) -> Result<Option<i64>> {
        let id = match operand {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => return Ok(None),
        };
        if let Some(id) = id {
            let found = self.store().people_by_ids(realm_id, &[id]).await?;
            return Ok(found.first().map(|p| p.id));
        }
        let Value::String(email) = operand else {
            return Ok(None);
        };
        Ok(self
            .store()
            .person_by_email(realm_id, email.trim())
            .await?
            .map(|p| p.id))
    }

    /// Turn narrow terms into store filters (and the public channel whose history the reader
    /// may see).
    async fn narrow_filters(
        &self,
        who: &Principal,
        narrow: &[NarrowTerm],
    ) -> Result<(Vec<MessageFilter>, Option<i64>)> {
        let mut filters = Vec::new();
        let mut history = None;
        for term in narrow {
            let op = term.operator.as_str();
            let text = match &term.operand {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if term.negated {
                return Err(narrow_error(format!("negated {op} is not supported")));
            }
            match op {
                "stream" | "channel" => {
                    let stream = match &term.operand {
                        Value::Number(n) => match n.as_i64() {
                            Some(id) => self.store().stream_by_id(id).await?,
                            None => None,
                        },
                        _ => {
                            self.store()
                                .stream_by_name(who.realm_id, text.trim())
                                .await?
                        }
                    };
                    let Some(stream) = stream.filter(|s| s.realm_id == who.realm_id) else {
                        return Err(narrow_error(format!("unknown channel {text}")));
                    };
                    if self.can_access_stream(who, &stream).await? && !stream.invite_only {
                        history = Some(stream.id);
                    }
                    filters.push(MessageFilter::Recipient {
                        kind: RECIPIENT_STREAM,
                        id: stream.id,
                    });
                }
                "topic" | "subject" => filters.push(MessageFilter::Topic(text.trim().to_owned())),
                "sender" => match self.narrow_user(who.realm_id, &term.operand).await? {
                    Some(id) => filters.push(MessageFilter::Sender(id)),
                    None => return Err(narrow_error(format!("unknown user {text}"))),
                },
                "dm" | "pm-with" | "pm_with" | "group-pm-with" => {
                    let mut ids = Vec::new();
                    let parts: Vec<Value> = match &term.operand {
                        Value::Array(a) => a.clone(),
                        Value::String(s) => s.split(',').map(|p| json!(p.trim())).collect(),
                        other => vec![other.clone()],
                    };
                    for p in &parts {
                        match self.narrow_user(who.realm_id, p).await? {
                            Some(id) => ids.push(id),
                            None => return Err(narrow_error(format!("unknown user in {text}"))),
                        }
                    }
                    ids.push(who.user_id.0);
                    ids.sort_unstable();
                    ids.dedup();
                    let kind = if ids.len() <= 2 {
                        RECIPIENT_PERSONAL
                    } else {
                        RECIPIENT_GROUP
                    };
                    let group = self.store().dm_group(who.realm_id, &ids).await?;
                    filters.push(MessageFilter::Recipient { kind, id: group });
                }
                "search" => {
                    for word in text.split_whitespace() {
                        filters.push(MessageFilter::Search(word.to_owned()));
                    }
                }
                "id" => match text.trim().parse::<i64>() {
                    Ok(id) => filters.push(MessageFilter::Id(id)),
                    Err(_) => return Err(narrow_error("Invalid message ID")),
                },
                "is" => match text.as_str() {
                    "dm" | "private" => filters.push(MessageFilter::Direct),
                    "starred" => filters.push(MessageFilter::Starred),
                    "mentioned" | "alerted" => filters.push(MessageFilter::Mentioned),
                    "unread" => filters.push(MessageFilter::Unread),
                    other => return Err(narrow_error(format!("unknown 'is' operand {other}"))),
                },
                "in" => match text.as_str() {
                    "home" | "all" => {}
                    other => return Err(narrow_error(format!("unknown 'in' operand {other}"))),
                },
                "near" => {}
                other => return Err(narrow_error(format!("unknown operator {other}"))),
            }
        }
        Ok((filters, history))
    }

    /// The messages of a `GET /messages` range, oldest first, with what the range reached.
    pub(crate) async fn fetch_range(&self, who: &Principal, f: &Fetch) -> Result<Range> {
        if f.num_before < 0 || f.num_after < 0 {
            return Err(AppError::bad("Invalid num_before or num_after"));
        }
        if f.num_before.saturating_add(f.num_after) > MAX_MESSAGES_PER_FETCH {
            return Err(AppError::bad("Too many messages requested (maximum 5000)."));
        }
        if f.num_before > 0 && f.num_after > 0 && !f.include_anchor {
            return Err(AppError::bad(
                "The anchor can only be excluded at an end of the range",
            ));
        }
        let (filters, history) = self.narrow_filters(who, &f.narrow).await?;
        let q = MessageQuery {
            user_id: who.user_id.0,
            realm_id: who.realm_id,
            history_stream: history,
            filters,
        };
        let anchor = match f.anchor {
            Anchor::Newest => LARGER_THAN_MAX_MESSAGE_ID,
            Anchor::Oldest => 0,
            Anchor::FirstUnread => self
                .store()
                .first_unread(&q)
                .await?
                .unwrap_or(LARGER_THAN_MAX_MESSAGE_ID),
            Anchor::Id(id) => id.clamp(0, LARGER_THAN_MAX_MESSAGE_ID),
        };
        // One extra row each way tells whether the range reached the oldest/newest message.
        let mut before = self
            .store()
            .messages_before(&q, anchor, f.num_before + 1)
            .await?;
        let found_oldest = anchor == 0 || before.len() as i64 <= f.num_before;
        before.truncate(f.num_before as usize);
        before.reverse();
        let mut from = self
            .store()
            .messages_from(&q, anchor, f.num_after + 2)
            .await?;
        let found_anchor = from.first().is_some_and(|m| m.id == anchor);
        let anchor_row = if found_anchor {
            Some(from.remove(0))
        } else {
            None
        };
        let found_newest = anchor == LARGER_THAN_MAX_MESSAGE_ID || from.len() as i64 <= f.num_after;
        from.truncate(f.num_after as usize);
        let anchor_row = anchor_row.filter(|_| f.include_anchor);
        Ok(Range {
            rows: before.into_iter().chain(anchor_row).chain(from).collect(),
            anchor,
            found_anchor,
            found_oldest,
            found_newest,
        })
    }

    /// `GET /messages`.
    pub async fn fetch_messages(&self, who: &Principal, f: Fetch) -> Result<Value> {
        let Range {
            rows,
            anchor,
            found_anchor,
            found_oldest,
            found_newest,
        } = self.fetch_range(who, &f).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let reactions = self.store().reactions_for(&ids).await?;
        let mut people = People::new(who.realm_id);
        self.load_people(
            &mut people,
            rows.iter()
                .map(|r| r.sender_id)
                .chain(reactions.iter().map(|r| r.user_id)),
        )
        .await?;
        let mut streams = HashMap::new();
        let mut messages = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut m = self
                .message_dict(
                    r,
                    &mut people,
                    &mut streams,
                    &reactions,
                    f.apply_markdown,
                    &who.realm_string_id,
                )
                .await?;
            if let Some(map) = m.as_object_mut() {
                map.insert(
                    "flags".into(),
                    json!(flag_names(r.flags, r.has_user_message)),
                );
                if f.client_gravatar {
                    // Zulip sends null for Gravatar avatars when the client computes them.
                    map.insert("avatar_url".into(), Value::Null);
                }
            }
            messages.push(m);
        }
        Ok(json!({
            "messages": messages,
            "found_anchor": found_anchor,
            "found_oldest": found_oldest,
            "found_newest": found_newest,
            "history_limited": false,
            "anchor": anchor,
        }))
    }

    /// A message `who` may read, else Zulip's "Invalid message(s)".
    async fn accessible_message(&self, who: &Principal, id: i64) -> Result<MessageRow> {
        let row = self
            .store()
            .message_for(who.user_id.0, id)
            .await?
            .filter(|m| m.realm_id == who.realm_id)
            .ok_or_else(|| AppError::bad("Invalid message(s)"))?;
        if row.has_user_message {
            return Ok(row);
        }
        if row.recipient_type == RECIPIENT_STREAM
            && let Some(s) = self.store().stream_by_id(row.recipient_id).await?
            && !s.invite_only
            && self.can_access_stream(who, &s).await?
        {
            return Ok(row);
        }
        Err(AppError::bad("Invalid message(s)"))
    }

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
        let realm = who.realm_id;
        if content.is_some() {
            if self.realm_setting(realm, "allow_message_editing").await? == Some(json!(false)) {
                return Err(AppError::bad(
                    "Your organization has turned off message editing",
                ));
            }
            if row.sender_id != who.user_id.0 {
                return Err(AppError::bad(
                    "You don't have permission to edit this message",
                ));
            }
            if let Some(limit) = self
                .realm_limit(realm, "message_content_edit_limit_seconds", Some(600))
                .await?
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
            if matches!(t.trim(), "" | "(no topic)")
                && self.realm_setting(realm, "mandatory_topics").await? == Some(json!(true))
            {
                return Err(AppError::bad("Topics are required in this organization."));
            }
            let policy = self
                .realm_limit(realm, "edit_topic_policy", Some(5))
                .await?
                .unwrap_or(5);
            if !who.role.has_permission(policy, false) {
                return Err(AppError::bad(
                    "You don't have permission to edit this message",
                ));
            }
            let exempt = who.role.is_admin() || who.role == tessera_core::Role::Moderator;
            if !exempt
                && let Some(limit) = self
                    .realm_limit(
                        realm,
                        "move_messages_within_stream_limit_seconds",
                        Some(604_800),
                    )
                    .await?
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
            let policy = self
                .realm_limit(who.realm_id, "delete_own_message_policy", Some(5))
                .await?
                .unwrap_or(5);
            if !who.role.has_permission(policy, false) {
                return Err(refused());
            }
            let age_secs = (self.now() - row.date_sent).div_euclid(1_000_000);
            if let Some(limit) = self
                .realm_limit(
                    who.realm_id,
                    "message_content_delete_limit_seconds",
                    Some(600),
                )
                .await?
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

    /// `POST`/`DELETE /messages/{id}/reactions`.
    pub async fn react(
        &self,
        who: &Principal,
        id: i64,
        emoji_name: Option<String>,
        emoji_code: Option<String>,
        reaction_type: Option<String>,
        add: bool,
    ) -> Result<()> {
        let row = self.accessible_message(who, id).await?;
        let reaction_type = reaction_type.unwrap_or_else(|| "unicode_emoji".into());
        if reaction_type != "unicode_emoji" {
            return Err(AppError::bad("Invalid emoji type."));
        }
        let (name, code) = match (emoji_name, emoji_code) {
            (Some(name), Some(code)) => {
                if tessera_core::emoji::emoji_code(&name).as_deref() != Some(code.as_str()) && add {
                    return Err(AppError::bad("Invalid emoji code."));
                }
                (name, code)
            }
            (Some(name), None) => {
                let code = tessera_core::emoji::emoji_code(&name)
                    .ok_or_else(|| AppError::bad(format!("Emoji '{name}' does not exist")))?;
                (name, code)
            }
            (None, Some(code)) if !add => (String::new(), code),
            (None, _) => {
                return Err(AppError::bad(if add {
                    "Missing 'emoji_name' argument"
                } else {
                    "At least one of the following arguments must be present: emoji_name, emoji_code"
                }));
            }
        };
        let reaction = if add {
            let r = ReactionRow {
                message_id: id,
                user_id: who.user_id.0,
                emoji_name: name,
                emoji_code: code,
                reaction_type: reaction_type.clone(),
            };
            let added = self.store().add_reaction(&r).await.map_err(|e| match e {
                // The message was deleted meanwhile.
                tessera_store::StoreError::NotFound => AppError::bad("Invalid message(s)"),
                e => e.into(),
            })?;
            if !added {
                return Err(AppError::ReactionAlreadyExists);
            }
            r
        } else {
            self.store()
                .remove_reaction(id, who.user_id.0, &code, &reaction_type)
                .await?
                .ok_or(AppError::ReactionDoesNotExist)?
        };
        let me = self.user_row(who.user_id.0).await?;
        let mut users = self.store().message_user_ids(id).await?;
        if row.recipient_type == RECIPIENT_STREAM {
            for u in self.store().subscriber_ids(row.recipient_id).await? {
                if !users.contains(&u) {
                    users.push(u);
                }
            }
        }
        self.events().publish(Notice::plain(
            users,
            json!({"type": "reaction", "op": if add { "add" } else { "remove" },
                   "user_id": me.id,
                   "user": {"user_id": me.id, "email": me.email, "full_name": me.full_name},
                   "message_id": id, "emoji_name": reaction.emoji_name,
                   "emoji_code": reaction.emoji_code, "reaction_type": reaction.reaction_type}),
        ));
        Ok(())
    }

    /// `POST /mark_all_as_read`, `/mark_stream_as_read`, `/mark_topic_as_read`: every unread
    /// message of the caller (in a channel, in a topic of it) gets the read flag. The event
    /// of "all" carries `all: true` and no ids, as Zulip's `do_mark_all_as_read`; the others
    /// list the ids. A topic the caller has no message in is `No such topic '<topic>'`.
    pub async fn mark_as_read(
        &self,
        who: &Principal,
        stream_id: Option<i64>,
        topic: Option<&str>,
    ) -> Result<()> {
        let me = who.user_id.0;
        if let Some(id) = stream_id {
            self.channel_for(who, id, false).await?;
            if let Some(topic) = topic
                && !self.store().has_topic_messages(me, id, topic).await?
            {
                return Err(AppError::bad(format!("No such topic '{topic}'")));
            }
        }
        let ids = self.store().unread_ids(me, stream_id, topic).await?;
        let changed = self.store().update_flags(me, &ids, FLAG_READ, true).await?;
        let all = stream_id.is_none();
        if all || !changed.is_empty() {
            let messages = if all { Vec::new() } else { changed };
            self.events().publish(Notice::plain(
                vec![me],
                json!({"type": "update_message_flags", "op": "add", "operation": "add",
                       "flag": "read", "messages": messages, "all": all}),
            ));
        }
        Ok(())
    }

    /// The realm's Welcome Bot (created on first use).
    async fn welcome_bot(&self, realm_id: i64) -> Result<UserRow> {
        self.system_bot(realm_id, "welcome-bot", "Welcome Bot")
            .await
    }

    /// A bot tessera itself speaks as (`welcome-bot@…`, `notification-bot@…`), created on
    /// first use without an owner.
    pub(crate) async fn system_bot(
        &self,
        realm_id: i64,
        local_part: &str,
        full_name: &str,
    ) -> Result<UserRow> {
        let realm = self.realm_by_id(realm_id).await?;
        let email = format!("{local_part}@{}", self.bot_domain(&realm.string_id));
        if let Some(u) = self.store().user_by_email(realm_id, &email).await? {
            if !self.is_system_bot(&u) {
                return Err(AppError::Internal(format!("{email} is not a system bot")));
            }
            return Ok(u);
        }
        let email = tessera_core::Email::parse(&email).map_err(AppError::bad)?;
        let (mut new, _key) = self.new_user_row(
            realm_id,
            &email,
            full_name.into(),
            tessera_core::Role::Member,
            None,
        );
        new.bot_type = Some(BotType::Generic.as_i64());
        match self.store().create_user(new, None, self.now()).await {
            Ok(u) => Ok(u),
            Err(tessera_store::StoreError::Conflict(_)) => {
                self.user_by_email(realm_id, email.as_str()).await
            }
            Err(e) => Err(e.into()),
        }
    }

    /// What every new account gets: the default channels, and (people) Welcome Bot's
    /// direct message.
    pub async fn onboard(&self, user: &UserRow) -> Result<()> {
        for s in self.ensure_default_streams(user.realm_id).await? {
            self.subscribe_user(user.id, &s).await?;
        }
        if user.is_bot {
            return Ok(());
        }
        let bot = self.welcome_bot(user.realm_id).await?;
        let realm_url = self.realm_url(&self.realm_by_id(user.realm_id).await?.string_id);
        let admin_note = if user.role == 100 || user.role == 200 {
            format!(
                " We also have a guide for [Setting up your organization]({realm_url}/help/getting-your-organization-started-with-zulip)."
            )
        } else {
            String::new()
        };
        let content = format!(
            "Hello, and welcome to Zulip!\u{1f44b} This is a direct message from me, Welcome Bot.\n\n\
             If you are new to Zulip, check out our [Getting started guide]({realm_url}/help/getting-started-with-zulip)!{admin_note}\n\n\
             I can also help you get set up! Just click anywhere on this message or press `r` to reply.\n\n\
             Here are a few messages I understand: `apps`, `profile`, `theme`, `channels`, `topics`, `message formatting`, `keyboard shortcuts`, `help`."
        );
        self.send_as_system_bot(&bot, Destination::DirectIds(vec![user.id]), None, content)
            .await?;
        Ok(())
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
