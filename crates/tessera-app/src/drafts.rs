//! Drafts kept on the server (Zulip's `zerver/views/drafts.py`): created in bulk, edited,
//! deleted, listed, each change announced to the owner's queues. Nothing is kept while the
//! owner's `enable_drafts_synchronization` is off (turning it off deletes them).

use crate::{App, AppError, Notice, Principal, Result};
use serde::Serialize;
use serde_json::{Value, json};
use tessera_store::{DraftRow, NewDraft};

/// How many drafts `register` returns (Zulip's `MAX_DRAFTS_IN_REGISTER_RESPONSE`).
pub const MAX_DRAFTS_IN_REGISTER: usize = 1000;

/// Zulip's draft object.
#[derive(Debug, Clone, Serialize)]
pub struct Draft {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub to: Vec<i64>,
    pub topic: String,
    pub content: String,
    pub timestamp: i64,
}

impl From<&DraftRow> for Draft {
    fn from(r: &DraftRow) -> Draft {
        Draft {
            id: r.id,
            kind: r.kind.clone(),
            to: serde_json::from_str(&r.recipients).unwrap_or_default(),
            topic: r.topic.clone(),
            content: r.content.clone(),
            timestamp: r.last_edit_time,
        }
    }
}

/// A draft as a client sent it (Zulip's `DraftData`), before the checks that need the store.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftInput {
    pub kind: String,
    pub to: Vec<i64>,
    pub topic: String,
    pub content: String,
    pub timestamp: Option<f64>,
}

impl DraftInput {
    /// Read one draft object; `var` names it in errors (`drafts[0]`, `draft`), with the
    /// messages of Zulip's typed endpoints.
    pub fn from_json(value: &Value, var: &str) -> Result<DraftInput> {
        let map = value
            .as_object()
            .ok_or_else(|| AppError::bad(format!("{var} is not a dict")))?;
        let at = |key: &str| format!("{var}[\"{key}\"]");
        let field = |key: &str| {
            map.get(key)
                .ok_or_else(|| AppError::bad(format!("{} field is missing", at(key))))
        };
        let kind = match field("type")?.as_str() {
            Some(k @ ("" | "stream" | "private")) => k.to_owned(),
            _ => return Err(AppError::bad(format!("Invalid {}", at("type")))),
        };
        let to = field("to")?
            .as_array()
            .ok_or_else(|| AppError::bad(format!("{} is not a list", at("to"))))?
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_i64()
                    .ok_or_else(|| AppError::bad(format!("{}[{i}] is not an integer", at("to"))))
            })
            .collect::<Result<Vec<i64>>>()?;
        let topic = field("topic")?
            .as_str()
            .ok_or_else(|| AppError::bad(format!("{} is not a string", at("topic"))))?
            .to_owned();
        let content = field("content")?
            .as_str()
            .ok_or_else(|| AppError::bad(format!("{} is not a string", at("content"))))?;
        if content.trim().is_empty() {
            return Err(AppError::bad(format!("{} cannot be blank", at("content"))));
        }
        let timestamp = match map.get("timestamp") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_f64(),
            Some(_) => {
                return Err(AppError::bad(format!(
                    "{}[\"int\"] is not an integer",
                    at("timestamp")
                )));
            }
        };
        if let Some(extra) = map.keys().find(|k| {
            !matches!(
                k.as_str(),
                "type" | "to" | "topic" | "content" | "timestamp"
            )
        }) {
            return Err(AppError::bad(format!(
                "Argument \"{extra}\" at {} is unexpected",
                at(extra)
            )));
        }
        Ok(DraftInput {
            kind,
            to,
            topic,
            content: content.trim().to_owned(),
            timestamp,
        })
    }
}

impl App {
    /// Zulip refuses every drafts call while synchronization is off (checked before the
    /// parameters are read).
    pub async fn require_draft_sync(&self, who: &Principal) -> Result<()> {
        // One setting row (the default is on), not the whole settings object.
        let stored = self
            .store()
            .user_setting_of(&[who.user_id.0], "enable_drafts_synchronization")
            .await?;
        if stored.iter().any(|(_, v)| v == "false") {
            return Err(AppError::bad("User has disabled synchronizing drafts."));
        }
        Ok(())
    }

    /// Zulip's `further_validated_draft_dict`: content normalized, timestamp checked, the
    /// channel or the users resolved.
    async fn checked_draft(&self, who: &Principal, d: &DraftInput) -> Result<NewDraft> {
        let content = d.content.trim_end().trim_start_matches('\n');
        if content.is_empty() {
            return Err(AppError::bad("Message must not be empty"));
        }
        if content.contains('\0') {
            return Err(AppError::bad("Message must not contain null bytes"));
        }
        let content = if content.chars().count() > crate::messages::MAX_MESSAGE_LENGTH {
            content
                .chars()
                .take(crate::messages::MAX_MESSAGE_LENGTH - 20)
                .collect::<String>()
                + "\n[message truncated]"
        } else {
            content.to_owned()
        };
        let now = self.now().div_euclid(1_000_000);
        let timestamp = match d.timestamp {
            None => now,
            Some(t) if t < 0.0 => return Err(AppError::bad("Timestamp must not be negative.")),
            Some(t) => t as i64,
        };
        let (kind, to, topic) = match d.kind.as_str() {
            "stream" => {
                let topic = if d.topic.chars().count() > crate::messages::MAX_TOPIC_LENGTH {
                    d.topic.chars().take(57).collect::<String>() + "..."
                } else {
                    d.topic.clone()
                };
                if topic.contains('\0') {
                    return Err(AppError::bad("Topic must not contain null bytes"));
                }
                let [stream_id] = d.to[..] else {
                    return Err(AppError::bad(
                        "Must specify exactly 1 channel ID for channel messages",
                    ));
                };
                self.channel_for(who, stream_id, false).await?;
                ("stream", vec![stream_id], topic)
            }
            "private" if !d.to.is_empty() => {
                for id in &d.to {
                    match self.store().user_by_id(*id).await? {
                        Some(u) if u.realm_id == who.realm_id => {}
                        _ => return Err(AppError::bad(format!("Invalid user ID {id}"))),
                    }
                }
                let me = who.user_id.0;
                let mut ids: Vec<i64> = d.to.iter().copied().filter(|id| *id != me).collect();
                ids.sort_unstable();
                ids.dedup();
                if ids.is_empty() {
                    ids.push(me);
                }
                ("private", ids, String::new())
            }
            _ => ("", Vec::new(), String::new()),
        };
        Ok(NewDraft {
            kind: kind.into(),
            recipients: json!(to).to_string(),
            topic,
            content,
            last_edit_time: timestamp,
        })
    }

    /// `GET /drafts`: the caller's drafts, oldest edit first.
    pub async fn drafts(&self, who: &Principal) -> Result<Vec<Draft>> {
        self.require_draft_sync(who).await?;
        let rows = self.store().drafts_of(who.user_id.0).await?;
        Ok(rows.iter().map(Draft::from).collect())
    }

    /// `register`'s `drafts`: newest first, at most [`MAX_DRAFTS_IN_REGISTER`].
    pub(crate) async fn drafts_state(&self, user_id: i64) -> Result<Vec<Draft>> {
        let rows = self.store().drafts_of(user_id).await?;
        Ok(rows
            .iter()
            .rev()
            .take(MAX_DRAFTS_IN_REGISTER)
            .map(Draft::from)
            .collect())
    }

    /// `POST /drafts`: all or none; the new ids in order.
    pub async fn create_drafts(&self, who: &Principal, drafts: &[DraftInput]) -> Result<Vec<i64>> {
        self.require_draft_sync(who).await?;
        let mut rows = Vec::with_capacity(drafts.len());
        for d in drafts {
            rows.push(self.checked_draft(who, d).await?);
        }
        let ids = self.store().create_drafts(who.user_id.0, &rows).await?;
        let created: Vec<Draft> = ids
            .iter()
            .zip(&rows)
            .map(|(id, r)| Draft::from(&row_of(*id, r)))
            .collect();
        self.events().publish(Notice::plain(
            vec![who.user_id.0],
            json!({"type": "drafts", "op": "add", "drafts": created}),
        ));
        Ok(ids)
    }

    /// `PATCH /drafts/{draft_id}`: replace one of the caller's drafts.
    pub async fn edit_draft(&self, who: &Principal, id: i64, d: &DraftInput) -> Result<()> {
        self.require_draft_sync(who).await?;
        let owned = self
            .store()
            .drafts_of(who.user_id.0)
            .await?
            .iter()
            .any(|r| r.id == id);
        if !owned {
            return Err(AppError::NotFound("Draft does not exist".into()));
        }
        let row = self.checked_draft(who, d).await?;
        if !self.store().update_draft(who.user_id.0, id, &row).await? {
            return Err(AppError::NotFound("Draft does not exist".into()));
        }
        self.events().publish(Notice::plain(
            vec![who.user_id.0],
            json!({"type": "drafts", "op": "update", "draft": Draft::from(&row_of(id, &row))}),
        ));
        Ok(())
    }

    /// `DELETE /drafts/{draft_id}`.
    pub async fn delete_draft(&self, who: &Principal, id: i64) -> Result<()> {
        self.require_draft_sync(who).await?;
        if !self.store().delete_draft(who.user_id.0, id).await? {
            return Err(AppError::NotFound("Draft does not exist".into()));
        }
        self.events().publish(Notice::plain(
            vec![who.user_id.0],
            json!({"type": "drafts", "op": "remove", "draft_id": id}),
        ));
        Ok(())
    }
}

fn row_of(id: i64, d: &NewDraft) -> DraftRow {
    DraftRow {
        id,
        kind: d.kind.clone(),
        recipients: d.recipients.clone(),
        topic: d.topic.clone(),
        content: d.content.clone(),
        last_edit_time: d.last_edit_time,
    }
}
