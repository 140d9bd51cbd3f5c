//! Emoji reactions.

use super::*;

impl App {
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
}
