//! `GET /messages/{id}/history` (Zulip's `get_message_edit_history` and
//! `fill_edit_history_entries`): one snapshot per version of a message, oldest first, the
//! original first; each later snapshot names what its edit changed.

use crate::{App, AppError, Principal, Result};
use serde::Serialize;
use serde_json::json;

/// One version of a message (Zulip's snapshot); the `prev_*` fields name what its edit changed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    pub topic: String,
    pub content: String,
    pub rendered_content: String,
    pub timestamp: i64,
    pub user_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev_topic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev_content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev_rendered_content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_html_diff: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev_stream: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<i64>,
}

impl App {
    /// The message's versions, oldest first.
    pub async fn message_history(&self, who: &Principal, id: i64) -> Result<Vec<Snapshot>> {
        if self
            .realm_setting(who.realm_id, "allow_edit_history")
            .await?
            == Some(json!(false))
        {
            return Err(AppError::bad(
                "Message edit history is disabled in this organization",
            ));
        }
        let row = self.accessible_message(who, id).await?;
        let edits = self.store().message_edits(id).await?;
        let mut content = row.content.clone();
        let mut rendered = row.rendered_content.clone();
        let mut topic = row.topic.clone();
        let mut out = Vec::with_capacity(edits.len() + 1);
        for e in edits.iter().rev() {
            let mut snap = Snapshot {
                topic: topic.clone(),
                content: content.clone(),
                rendered_content: rendered.clone(),
                timestamp: e.edited_at.div_euclid(1_000_000),
                user_id: e.user_id,
                ..Snapshot::default()
            };
            if let Some(prev) = &e.prev_topic {
                snap.prev_topic = Some(prev.clone());
                topic = prev.clone();
            }
            if let (Some(prev), Some(prev_rendered)) = (&e.prev_content, &e.prev_rendered_content) {
                snap.prev_content = Some(prev.clone());
                snap.prev_rendered_content = Some(prev_rendered.clone());
                snap.content_html_diff = Some(tessera_core::html_diff::highlight_differences(
                    prev_rendered,
                    &rendered,
                ));
                content = prev.clone();
                rendered = prev_rendered.clone();
            }
            if let (Some(prev), Some(now)) = (e.prev_stream, e.stream) {
                snap.prev_stream = Some(prev);
                snap.stream = Some(now);
            }
            out.push(snap);
        }
        out.push(Snapshot {
            topic,
            content,
            rendered_content: rendered,
            timestamp: row.date_sent.div_euclid(1_000_000),
            user_id: row.sender_id,
            ..Snapshot::default()
        });
        out.reverse();
        Ok(out)
    }
}
