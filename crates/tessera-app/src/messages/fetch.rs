//! Fetching: narrow terms to store filters, anchors and ranges (`GET /messages`, and the
//! range of `POST /messages/flags/narrow`).

use super::*;
use serde::Serialize;

/// What `GET /messages` answers.
#[derive(Debug, Clone, Serialize)]
pub struct MessagesPage {
    pub messages: Vec<Message>,
    pub found_anchor: bool,
    pub found_oldest: bool,
    pub found_newest: bool,
    pub history_limited: bool,
    pub anchor: i64,
}

impl App {
    /// `GET /messages/{id}`: one message the caller may read (rendered or not, as asked) and
    /// its Markdown source.
    pub async fn get_message(
        &self,
        who: &Principal,
        id: i64,
        apply_markdown: bool,
    ) -> Result<(Message, String)> {
        let only = |apply_markdown| Fetch {
            anchor: Anchor::Id(id),
            num_before: 0,
            num_after: 0,
            include_anchor: true,
            narrow: vec![NarrowTerm {
                operator: "id".into(),
                operand: json!(id),
                negated: false,
            }],
            apply_markdown,
            client_gravatar: false,
        };
        let message = self
            .fetch_messages(who, only(apply_markdown))
            .await?
            .messages
            .into_iter()
            .next()
            .ok_or_else(|| AppError::bad("Invalid message(s)"))?;
        let raw_content = if apply_markdown {
            self.fetch_messages(who, only(false))
                .await?
                .messages
                .into_iter()
                .next()
                .map(|m| m.content)
                .unwrap_or_default()
        } else {
            message.content.clone()
        };
        Ok((message, raw_content))
    }

    /// A narrow's user operand: an id (as a number or text) or an email of the realm.
    pub(super) async fn narrow_user(&self, realm_id: i64, operand: &Value) -> Result<Option<i64>> {
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
    pub(super) async fn narrow_filters(
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
    pub async fn fetch_messages(&self, who: &Principal, f: Fetch) -> Result<MessagesPage> {
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
            m.flags = Some(flag_names(r.flags, r.has_user_message));
            if f.client_gravatar {
                // Zulip sends null for Gravatar avatars when the client computes them.
                m.avatar_url = None;
            }
            messages.push(m);
        }
        Ok(MessagesPage {
            messages,
            found_anchor,
            found_oldest,
            found_newest,
            history_limited: false,
            anchor,
        })
    }
}
