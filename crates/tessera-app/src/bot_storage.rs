//! A bot's key-value store (`bot_storage`, used by `zulip-bots`' `StateHandler`): only bots
//! read and write their own.

use crate::{App, AppError, Principal, Result};

fn require_bot(who: &Principal) -> Result<()> {
    if who.is_bot() {
        Ok(())
    } else {
        Err(AppError::bad("This endpoint is only for bots."))
    }
}

impl App {
    /// `GET /bot_storage`: the stored entries, or those named in `keys`
    /// (`Key does not exist: <key>` for one that is not stored).
    pub async fn bot_storage(
        &self,
        who: &Principal,
        keys: Option<Vec<String>>,
    ) -> Result<Vec<(String, String)>> {
        require_bot(who)?;
        let stored = self.store().bot_storage_get(who.user_id.0).await?;
        let Some(keys) = keys else {
            return Ok(stored);
        };
        keys.into_iter()
            .map(|k| {
                stored
                    .iter()
                    .find(|(sk, _)| *sk == k)
                    .cloned()
                    .ok_or_else(|| AppError::bad(format!("Key does not exist: {k}")))
            })
            .collect()
    }

    /// `PUT /bot_storage`: store these entries.
    pub async fn put_bot_storage(
        &self,
        who: &Principal,
        entries: &[(String, String)],
    ) -> Result<()> {
        require_bot(who)?;
        Ok(self.store().bot_storage_put(who.user_id.0, entries).await?)
    }

    /// `DELETE /bot_storage`: remove these keys (all when `None`).
    pub async fn remove_bot_storage(
        &self,
        who: &Principal,
        keys: Option<Vec<String>>,
    ) -> Result<()> {
        require_bot(who)?;
        let keys = match keys {
            Some(k) => k,
            None => self
                .store()
                .bot_storage_get(who.user_id.0)
                .await?
                .into_iter()
                .map(|(k, _)| k)
                .collect(),
        };
        Ok(self
            .store()
            .bot_storage_remove(who.user_id.0, &keys)
            .await?)
    }
}
