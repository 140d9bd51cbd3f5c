//! Zulip's message object, as each reader sees it (flags, reactions, recipients).

use super::*;

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
}
