//! `GET /messages/{id}/history` (Zulip's `get_message_edit_history` and
//! `fill_edit_history_entries`): one snapshot per version of a message, oldest first, the
//! original first; each later snapshot names what its edit changed.

use crate::{App, AppError, Principal, Result};
use serde_json::{Map, Value, json};

impl App {
    /// The message's versions, oldest first.
    pub async fn message_history(&self, who: &Principal, id: i64) -> Result<Vec<Value>> {
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
            let mut snap = Map::new();
            snap.insert("topic".into(), json!(topic));
            snap.insert("content".into(), json!(content));
            snap.insert("rendered_content".into(), json!(rendered));
            snap.insert("timestamp".into(), json!(e.edited_at.div_euclid(1_000_000)));
            snap.insert("user_id".into(), json!(e.user_id));
            if let Some(prev) = &e.prev_topic {
                snap.insert("prev_topic".into(), json!(prev));
                topic = prev.clone();
            }
            if let (Some(prev), Some(prev_rendered)) = (&e.prev_content, &e.prev_rendered_content) {
                snap.insert("prev_content".into(), json!(prev));
                snap.insert("prev_rendered_content".into(), json!(prev_rendered));
                snap.insert(
                    "content_html_diff".into(),
                    json!(tessera_core::html_diff::highlight_differences(
                        prev_rendered,
                        &rendered
                    )),
                );
                content = prev.clone();
                rendered = prev_rendered.clone();
            }
            if let (Some(prev), Some(now)) = (e.prev_stream, e.stream) {
                snap.insert("prev_stream".into(), json!(prev));
                snap.insert("stream".into(), json!(now));
            }
            out.push(Value::Object(snap));
        }
        out.push(json!({
            "topic": topic,
            "content": content,
            "rendered_content": rendered,
            "timestamp": row.date_sent.div_euclid(1_000_000),
            "user_id": row.sender_id,
        }));
        out.reverse();
        Ok(out)
    }
}
