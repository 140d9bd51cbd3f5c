//! Named API keys (tessera's own, beside Zulip's one account key): created with a name, a
//! scope and an optional expiry, shown once, listed with their last use, revoked one at a
//! time — or all at once when the account key is regenerated.

use crate::auth::Principal;
use crate::{App, AppError, Result};
use serde::Serialize;
use tessera_core::secrets::Purpose;
use tessera_core::{ApiKey, KeyScope};
use tessera_store::{NamedKeyRow, NewNamedKey, UserRow};

/// The longest key name accepted (characters).
pub const MAX_KEY_NAME_LENGTH: usize = 60;

/// Whose keys a request manages: the caller's own, or a bot's (its owner or an administrator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOwner {
    Me,
    Bot(i64),
}

/// When a named key was last used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyUse {
    /// Seconds since the epoch.
    pub timestamp: i64,
    pub client: String,
    pub ip: Option<String>,
}

/// A named key as the API lists it: never the key itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamedKeyView {
    pub id: i64,
    pub name: String,
    pub scope: serde_json::Value,
    /// Seconds since the epoch.
    pub date_created: i64,
    pub created_by: i64,
    /// Seconds since the epoch; `null`: never expires.
    pub expires: Option<i64>,
    pub last_used: Option<KeyUse>,
}

impl NamedKeyView {
    fn of(row: &NamedKeyRow) -> NamedKeyView {
        NamedKeyView {
            id: row.id,
            name: row.name.clone(),
            scope: KeyScope::from_bits(row.scope).to_json(),
            date_created: row.created_at.div_euclid(1_000_000),
            created_by: row.created_by,
            expires: row.expires_at.map(|t| t.div_euclid(1_000_000)),
            last_used: row.last_used_at.map(|t| KeyUse {
                timestamp: t.div_euclid(1_000_000),
                client: row.last_client.clone().unwrap_or_default(),
                ip: row.last_address.clone(),
            }),
        }
    }
}

/// What creating a key asks for.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub name: String,
    pub scope: KeyScope,
    /// Seconds since the epoch; `None`: never.
    pub expires: Option<i64>,
}

impl App {
    /// The account whose keys `who` manages as `owner`: the caller, or a bot the caller
    /// owns or administers (Zulip's `access_bot_by_id`).
    async fn key_owner(&self, who: &Principal, owner: KeyOwner) -> Result<UserRow> {
        match owner {
            KeyOwner::Me => self.user_row(who.user_id.0).await,
            KeyOwner::Bot(id) => {
                who.require_member_or_admin()?;
                self.access_bot(who, id).await
            }
        }
    }

    /// `POST /users/me/api_keys`, `POST /bots/{bot_id}/api_keys`.
    pub async fn create_named_key_by(
        &self,
        who: &Principal,
        owner: KeyOwner,
        new: NewKey,
    ) -> Result<(NamedKeyView, ApiKey)> {
        let user = self.key_owner(who, owner).await?;
        self.create_named_key(&user, who.user_id.0, new).await
    }

    /// Create a named key for `user` on behalf of `acting` (also the CLI's path). The key is
    /// returned once; only its digest is stored.
    pub async fn create_named_key(
        &self,
        user: &UserRow,
        acting: i64,
        new: NewKey,
    ) -> Result<(NamedKeyView, ApiKey)> {
        let name = new.name.trim();
        if name.is_empty() {
            return Err(AppError::bad("Key name can't be empty."));
        }
        if name.chars().count() > MAX_KEY_NAME_LENGTH {
            return Err(AppError::bad("Key name too long!"));
        }
        if name.chars().any(char::is_control) {
            return Err(AppError::bad("Key name contains invalid characters."));
        }
        let now = self.now();
        let expires_at = match new.expires {
            Some(secs) => {
                let at = secs
                    .checked_mul(1_000_000)
                    .ok_or_else(|| AppError::bad("Invalid expires"))?;
                if at <= now {
                    return Err(AppError::bad("The expiry must be in the future."));
                }
                Some(at)
            }
            None => None,
        };
        let existing = self.store().named_keys(user.id, false).await?;
        if existing.iter().any(|k| k.name == name) {
            return Err(AppError::bad("A key with this name already exists."));
        }
        let key = ApiKey::generate();
        let digest = self.secret().digest(Purpose::ApiKey, key.expose());
        let row = self
            .store()
            .create_named_key(
                NewNamedKey {
                    user_id: user.id,
                    name,
                    digest: &digest.0,
                    scope: new.scope.bits(),
                    expires_at,
                },
                acting,
                now,
            )
            .await?;
        self.inner.key_cache.evict(&digest.0).await;
        Ok((NamedKeyView::of(&row), key))
    }

    /// `GET /users/me/api_keys`, `GET /bots/{bot_id}/api_keys`: live keys, newest first.
    pub async fn list_named_keys_by(
        &self,
        who: &Principal,
        owner: KeyOwner,
    ) -> Result<Vec<NamedKeyView>> {
        let user = self.key_owner(who, owner).await?;
        self.list_named_keys(&user).await
    }

    /// The live named keys of `user`, newest first.
    pub async fn list_named_keys(&self, user: &UserRow) -> Result<Vec<NamedKeyView>> {
        Ok(self
            .store()
            .named_keys(user.id, false)
            .await?
            .iter()
            .map(NamedKeyView::of)
            .collect())
    }

    /// `DELETE /users/me/api_keys/{key_id}`, `DELETE /bots/{bot_id}/api_keys/{key_id}`.
    pub async fn revoke_named_key_by(
        &self,
        who: &Principal,
        owner: KeyOwner,
        key_id: i64,
    ) -> Result<()> {
        let user = self.key_owner(who, owner).await?;
        self.revoke_named_key(&user, key_id, who.user_id.0, "revoked")
            .await
    }

    /// Revoke one live named key of `user`; the other keys are untouched. The key is refused
    /// on the next request here, and on other nodes when the eviction reaches them.
    pub async fn revoke_named_key(
        &self,
        user: &UserRow,
        key_id: i64,
        acting: i64,
        why: &str,
    ) -> Result<()> {
        let digest = self
            .store()
            .revoke_named_key(user.id, key_id, acting, why, self.now())
            .await?
            .ok_or_else(|| AppError::bad("No such API key"))?;
        // Its event queues need no ending: every poll authenticates, so the next one is
        // refused, and the account's other clients keep theirs.
        self.inner.key_cache.evict(&digest).await;
        Ok(())
    }
}
