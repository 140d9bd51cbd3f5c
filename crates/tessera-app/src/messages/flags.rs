//! Message flags the reader changes: `POST /messages/flags` (by id) and
//! `POST /messages/flags/narrow` (a range of a narrow, Zulip's
//! `update_message_flags_for_narrow`).

use super::{Fetch, Range};
use crate::events::Notice;
use crate::{App, AppError, Principal, Result};
use serde_json::json;
use tessera_store::{FLAG_COLLAPSED, FLAG_READ, FLAG_STARRED};

/// Zulip's `MAX_MESSAGES_PER_UPDATE`.
pub const MAX_MESSAGES_PER_UPDATE: i64 = 5000;

/// Flags Zulip knows but a client may not change (`NON_EDITABLE_USER_FLAGS`).
const NOT_EDITABLE: &[&str] = &[
    "has_alert_word",
    "mentioned",
    "stream_wildcard_mentioned",
    "topic_wildcard_mentioned",
    "group_mentioned",
    "historical",
    "force_expand",
    "force_collapse",
];

/// The bit of a flag a client may change, else Zulip's error for it.
fn editable_flag(flag: &str) -> Result<i64> {
    match flag {
        "read" => Ok(FLAG_READ),
        "starred" => Ok(FLAG_STARRED),
        "collapsed" => Ok(FLAG_COLLAPSED),
        f if NOT_EDITABLE.contains(&f) => Err(AppError::bad(format!("Flag not editable: '{f}'"))),
        f => Err(AppError::bad(format!("Invalid flag: '{f}'"))),
    }
}

/// `op` of the flag endpoints.
fn flag_op(op: &str) -> Result<bool> {
    match op {
        "add" => Ok(true),
        "remove" => Ok(false),
        other => Err(AppError::bad(format!(
            "Invalid message flag operation: '{other}'"
        ))),
    }
}

/// The answer of `POST /messages/flags/narrow`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FlagsForNarrow {
    pub processed_count: usize,
    pub updated_count: usize,
    pub first_processed_id: Option<i64>,
    pub last_processed_id: Option<i64>,
    pub found_oldest: bool,
    pub found_newest: bool,
}

impl App {
    /// `POST /messages/flags`: set or clear a flag on the caller's rows of these messages and
    /// announce the ids that changed (Zulip's `do_update_message_flags`; the event goes out
    /// even when none did). Answers the ids changed.
    pub async fn update_flags(
        &self,
        who: &Principal,
        ids: &[i64],
        flag: &str,
        op: &str,
    ) -> Result<Vec<i64>> {
        let bit = editable_flag(flag)?;
        let add = flag_op(op)?;
        let changed = self
            .store()
            .update_flags(who.user_id.0, ids, bit, add)
            .await?;
        self.events().publish(Notice::plain(
            vec![who.user_id.0],
            json!({"type": "update_message_flags", "op": op, "operation": op,
                   "flag": flag, "messages": changed, "all": false}),
        ));
        Ok(changed)
    }

    /// `POST /messages/flags/narrow`: the range is found as `GET /messages` finds it (at
    /// most [`MAX_MESSAGES_PER_UPDATE`], Zulip's clamping), then the flag and op are checked
    /// and applied to it.
    pub async fn update_flags_for_narrow(
        &self,
        who: &Principal,
        mut f: Fetch,
        flag: &str,
        op: &str,
    ) -> Result<FlagsForNarrow> {
        if f.num_before > 0 && f.num_after > 0 && !f.include_anchor {
            return Err(AppError::bad(
                "The anchor can only be excluded at an end of the range",
            ));
        }
        f.num_before = f
            .num_before
            .min((MAX_MESSAGES_PER_UPDATE - f.num_after).max(MAX_MESSAGES_PER_UPDATE / 2));
        f.num_after = f.num_after.min(MAX_MESSAGES_PER_UPDATE - f.num_before);
        let Range {
            rows,
            found_oldest,
            found_newest,
            ..
        } = self.fetch_range(who, &f).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let changed = self.update_flags(who, &ids, flag, op).await?;
        Ok(FlagsForNarrow {
            processed_count: ids.len(),
            updated_count: changed.len(),
            first_processed_id: ids.first().copied(),
            last_processed_id: ids.last().copied(),
            found_oldest,
            found_newest,
        })
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
}
