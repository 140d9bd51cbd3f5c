//! Zulip's message object, as each reader sees it (flags, reactions, recipients).

use super::*;
use serde::{Deserialize, Serialize};

/// Zulip's message object (`MessageDict`), fields in Zulip's order. It crosses nodes inside
/// [`MessageNotice`], so it reads back as well as it writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Message {
    pub id: i64,
    pub sender_id: i64,
    /// Rendered HTML, or the Markdown source (see `content_type`).
    pub content: String,
    pub recipient_id: i64,
    /// Seconds since the epoch.
    pub timestamp: i64,
    pub client: String,
    pub subject: String,
    /// Linkifier matches in the topic; tessera has no linkifiers.
    pub topic_links: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_edit_timestamp: Option<i64>,
    pub is_me_message: bool,
    pub reactions: Vec<Reaction>,
    /// Widget submessages; tessera has no widgets.
    pub submessages: Vec<Value>,
    pub sender_full_name: String,
    pub sender_email: String,
    pub sender_realm_str: String,
    pub display_recipient: DisplayRecipient,
    #[serde(rename = "type")]
    pub kind: MessageType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<i64>,
    /// `null` when the client computes Gravatar URLs itself (`client_gravatar`).
    pub avatar_url: Option<String>,
    pub content_type: ContentType,
    /// Only in outgoing-webhook payloads, beside the Markdown `content`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rendered_content: Option<String>,
    /// Only in `GET /messages` (events carry the flags beside the message).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<Vec<String>>,
}

/// A channel message's channel name, or a direct message's members.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DisplayRecipient {
    Channel(String),
    Direct(Vec<UserRef>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageType {
    Stream,
    Private,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContentType {
    #[serde(rename = "text/html")]
    Html,
    #[serde(rename = "text/x-markdown")]
    Markdown,
}

/// A user as messages name them (direct-message members, reacting users).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRef {
    pub id: i64,
    pub email: String,
    pub full_name: String,
    pub is_mirror_dummy: bool,
}

/// One emoji reaction of one user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reaction {
    pub emoji_name: String,
    pub emoji_code: String,
    pub reaction_type: String,
    pub user_id: i64,
    pub user: UserRef,
}

impl App {
    /// Zulip's message object for a reader.
    pub(super) async fn message_dict(
        &self,
        row: &MessageRow,
        people: &mut People,
        streams: &mut HashMap<i64, Option<StreamRow>>,
        reactions: &[ReactionRow],
        apply_markdown: bool,
        realm_str: &str,
    ) -> Result<Message> {
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
            (
                DisplayRecipient::Channel(name),
                MessageType::Stream,
                Some(row.recipient_id),
            )
        } else {
            let mut shown: Vec<&tessera_store::PersonRow> =
                members.iter().filter_map(|id| people.get(*id)).collect();
            shown.sort_by(|a, b| a.email.cmp(&b.email));
            let list = shown
                .iter()
                .map(|p| UserRef {
                    id: p.id,
                    email: p.email.clone(),
                    full_name: p.full_name.clone(),
                    is_mirror_dummy: false,
                })
                .collect();
            (DisplayRecipient::Direct(list), MessageType::Private, None)
        };
        let reactions = reactions
            .iter()
            .map(|r| {
                let (email, full_name) = people
                    .get(r.user_id)
                    .map(|p| (p.email.clone(), p.full_name.clone()))
                    .unwrap_or_default();
                Reaction {
                    emoji_name: r.emoji_name.clone(),
                    emoji_code: r.emoji_code.clone(),
                    reaction_type: r.reaction_type.clone(),
                    user_id: r.user_id,
                    user: UserRef {
                        id: r.user_id,
                        email,
                        full_name,
                        is_mirror_dummy: false,
                    },
                }
            })
            .collect();
        Ok(Message {
            id: row.id,
            sender_id: row.sender_id,
            content: if apply_markdown {
                row.rendered_content.clone()
            } else {
                row.content.clone()
            },
            recipient_id: row.recipient_id,
            timestamp: row.date_sent.div_euclid(1_000_000),
            client: row.sending_client.clone(),
            subject: row.topic.clone(),
            topic_links: Vec::new(),
            last_edit_timestamp: row.last_edit_time.map(|t| t.div_euclid(1_000_000)),
            is_me_message: row.content.starts_with("/me "),
            reactions,
            submessages: Vec::new(),
            sender_full_name: sender_name,
            sender_email,
            sender_realm_str: realm_str.to_owned(),
            display_recipient,
            kind,
            stream_id,
            avatar_url: Some(sender_avatar),
            content_type: if apply_markdown {
                ContentType::Html
            } else {
                ContentType::Markdown
            },
            rendered_content: None,
            flags: None,
        })
    }
}
