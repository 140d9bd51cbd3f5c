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

mod edit;
mod fetch;
mod flags;
mod history;
mod object;
pub use fetch::MessagesPage;
pub use object::{ContentType, DisplayRecipient, Message, MessageType, Reaction, UserRef};
mod people;
mod reactions;
mod render;
mod send;

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
}
