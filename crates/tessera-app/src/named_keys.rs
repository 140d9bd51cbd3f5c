//! The keys of an account beside Zulip's one account key: named keys (created with a name, a
//! scope, an optional expiry and an optional allow-list, shown once, listed with their last
//! use), device keys (one per app login, `devices/keys.rs`) and a bot's previous key
//! (`bots.rs`). Each is revoked alone — a device key with its push registrations — or all at
//! once when the account key is regenerated.

use crate::auth::{KeyGrant, Principal};
use crate::{App, AppError, Result};
use serde::Serialize;
use tessera_core::secrets::Purpose;
use tessera_core::{ApiKey, KeyKind, KeyScope, Networks};
use tessera_store::{ApiKeyRow, NewApiKey, UserRow};

/// The longest key name accepted (characters).
pub const MAX_KEY_NAME_LENGTH: usize = 60;

/// A minute of grace on an organization's longest lifetime, for the clock of the client that
/// computed the expiry.
const LIFETIME_GRACE_MICROS: i64 = 60_000_000;

/// Whose keys a request manages: the caller's own, or a bot's (its owner or an administrator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOwner {
    Me,
    Bot(i64),
}

/// When a key was last used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyUse {
    /// Seconds since the epoch.
    pub timestamp: i64,
    pub client: String,
    pub ip: Option<String>,
}

/// A key as the API lists it: never the key itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamedKeyView {
    pub id: i64,
    /// `named`, `device` (an app login) or `previous` (a bot's replaced key in its overlap
    /// window).
    pub kind: &'static str,
    pub name: String,
    pub scope: serde_json::Value,
    /// Seconds since the epoch.
    pub date_created: i64,
    pub created_by: i64,
    /// Where it was created (a device key: where the app logged in).
    pub created_address: Option<String>,
    /// Seconds since the epoch; `null`: never expires.
    pub expires: Option<i64>,
    /// The networks it may be used from; `null`: anywhere.
    pub allowed_networks: Option<Vec<String>>,
    pub last_used: Option<KeyUse>,
}

impl NamedKeyView {
    pub(crate) fn of(row: &ApiKeyRow) -> NamedKeyView {
        NamedKeyView {
            id: row.id,
            kind: KeyKind::from_stored(&row.kind).as_str(),
            name: row.name.clone(),
            scope: KeyScope::from_bits(row.scope).to_json(),
            date_created: row.created_at.div_euclid(1_000_000),
            created_by: row.created_by,
            created_address: row.created_address.clone(),
            expires: row.expires_at.map(|t| t.div_euclid(1_000_000)),
            allowed_networks: Networks::from_stored(row.allowed_networks.as_deref())
                .map(|n| n.entries()),
            last_used: row.last_used_at.map(|t| KeyUse {
                timestamp: t.div_euclid(1_000_000),
                client: row.last_client.clone().unwrap_or_default(),
                ip: row.last_address.clone(),
            }),
        }
    }
}

/// What creating a named key asks for.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub name: String,
    pub scope: KeyScope,
    /// Seconds since the epoch; `None`: never.
    pub expires: Option<i64>,
    /// `None`: usable from anywhere.
    pub networks: Option<Networks>,
}

impl App {
    /// The account whose keys `who` manages as `owner`: the caller, or a bot the caller
    /// owns or administers (Zulip's `access_bot_by_id`).
    pub(crate) async fn key_owner(&self, who: &Principal, owner: KeyOwner) -> Result<UserRow> {
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
        address: Option<&str>,
    ) -> Result<(NamedKeyView, ApiKey)> {
        let user = self.key_owner(who, owner).await?;
        // A new key of a bot is as good as its key: only for those who may see that (D2).
        if owner != KeyOwner::Me && !Self::may_reveal_bot_key(who, &user) {
            return Err(AppError::bad("Insufficient permission"));
        }
        // A key made with a key (not the account key or a session) lives no longer, reaches
        // no further and is revoked with it: a stolen phone's key cannot leave one behind.
        let maker = who.grant.key_id.is_some().then_some(&who.grant);
        self.create_named_key(&user, who.user_id.0, new, address, maker)
            .await
    }

    /// Create a named key for `user` on behalf of `acting` (also the CLI's path), within the
    /// organization's longest lifetime and, when the request was made with another key
    /// (`maker`), within that key's expiry and allow-list. The key is returned once; only its
    /// digest is stored.
    pub async fn create_named_key(
        &self,
        user: &UserRow,
        acting: i64,
        new: NewKey,
        address: Option<&str>,
        maker: Option<&KeyGrant>,
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
        // No later than the key it was made with (none given: the same expiry).
        let expires_at = match (expires_at, maker.and_then(|m| m.expires_at)) {
            (Some(at), Some(limit)) => Some(at.min(limit)),
            (at, limit) => at.or(limit),
        };
        let mut networks = new.networks;
        if let Some(outer) = maker.and_then(|m| m.networks.as_deref()) {
            match &networks {
                None => networks = Some(outer.clone()),
                Some(inner) if inner.within(outer) => {}
                Some(_) => {
                    return Err(AppError::bad(
                        "This key may only make keys limited to its own allowed networks.",
                    ));
                }
            }
        }
        if let Some(days) = self.key_policy(user.realm_id).await?.max_lifetime_days {
            let latest = now
                .saturating_add(days.saturating_mul(86_400_000_000))
                .saturating_add(LIFETIME_GRACE_MICROS);
            let plural = if days == 1 { "" } else { "s" };
            match expires_at {
                None => {
                    return Err(AppError::bad(format!(
                        "This organization's API keys must expire within {days} day{plural}."
                    )));
                }
                Some(at) if at > latest => {
                    return Err(AppError::bad(format!(
                        "This organization's API keys must expire within {days} day{plural}."
                    )));
                }
                Some(_) => {}
            }
        }
        // Among the keys that still work: an expired key (no longer listed) frees its name.
        let existing = self.store().api_keys(user.id, false).await?;
        if existing.iter().any(|k| {
            k.kind == KeyKind::Named.as_str()
                && k.name == name
                && k.expires_at.is_none_or(|at| at > now)
        }) {
            return Err(AppError::bad("A key with this name already exists."));
        }
        let networks = networks.as_ref().map(Networks::to_stored);
        self.insert_key(
            NewApiKey {
                user_id: user.id,
                kind: KeyKind::Named.as_str(),
                name,
                digest: &[],
                scope: new.scope.bits(),
                expires_at,
                allowed_networks: networks.as_deref(),
                created_address: address,
                keep_at_most: None,
                made_by_key_id: maker.and_then(|m| m.key_id),
            },
            acting,
        )
        .await
    }

    /// Generate a key and store its digest as `row` describes (the digest field is filled in
    /// here). Evicts the new digest (a negative entry) and any key revoked to keep within
    /// `keep_at_most`.
    pub(crate) async fn insert_key(
        &self,
        row: NewApiKey<'_>,
        acting: i64,
    ) -> Result<(NamedKeyView, ApiKey)> {
        let key = ApiKey::generate();
        let digest = self.secret().digest(Purpose::ApiKey, key.expose());
        let (stored, dropped) = self
            .store()
            .create_api_key(
                NewApiKey {
                    digest: &digest.0,
                    ..row
                },
                acting,
                self.now(),
            )
            .await?;
        let cache = &self.inner.key_cache;
        cache.evict(&digest.0).await;
        for d in &dropped {
            cache.evict(d).await;
        }
        Ok((NamedKeyView::of(&stored), key))
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

    /// The live keys of `user` beside the account key (named, device, previous), newest
    /// first. A key past its expiry is no longer listed.
    pub async fn list_named_keys(&self, user: &UserRow) -> Result<Vec<NamedKeyView>> {
        let now = self.now();
        Ok(self
            .store()
            .api_keys(user.id, false)
            .await?
            .iter()
            .filter(|k| k.expires_at.is_none_or(|at| at > now))
            .map(NamedKeyView::of)
            .collect())
    }

    /// `DELETE /users/me/api_keys/{key_id}`, `DELETE /bots/{bot_id}/api_keys/{key_id}`:
    /// revoke a named key, or sign a device out.
    pub async fn revoke_named_key_by(
        &self,
        who: &Principal,
        owner: KeyOwner,
        key_id: i64,
    ) -> Result<()> {
        let user = self.key_owner(who, owner).await?;
        self.revoke_named_key(&user, key_id, Some(who.user_id.0), "revoked")
            .await
    }

    /// Revoke one live key of `user` (any kind); the other keys are untouched. A device key's
    /// push registrations go with it. The key is refused on the next request here, and on
    /// other nodes when the eviction reaches them.
    pub async fn revoke_named_key(
        &self,
        user: &UserRow,
        key_id: i64,
        acting: Option<i64>,
        why: &str,
    ) -> Result<()> {
        let digests = self
            .store()
            .revoke_api_key(user.id, key_id, acting, why, self.now(), None)
            .await?;
        if digests.is_empty() {
            return Err(AppError::bad("No such API key"));
        }
        // Its event queues need no ending: every poll authenticates, so the next one is
        // refused, and the account's other clients keep theirs. Keys made with it go too.
        for digest in &digests {
            self.inner.key_cache.evict(digest).await;
        }
        Ok(())
    }
}

/// How long before a named key expires its owner is emailed (7 days).
pub const EXPIRY_REMINDER_SECS: i64 = 7 * 86_400;

impl App {
    /// Who is told about an account's keys: the person, or a bot's active owner (`None`: a
    /// bot without one).
    pub(crate) async fn key_mail_recipient(&self, user: &UserRow) -> Result<Option<UserRow>> {
        if !user.is_bot {
            return Ok(Some(user.clone()));
        }
        let Some(owner) = user.bot_owner_id else {
            return Ok(None);
        };
        let owner = self.user_row(owner).await?;
        Ok(owner.is_active.then_some(owner))
    }

    /// Email the owner of every live named key that expires within
    /// [`EXPIRY_REMINDER_SECS`] and was not yet reminded — not a key made to live no longer
    /// than that, whose owner chose its end a moment ago (the serving binary runs this every
    /// few minutes; of several nodes, one sends each reminder). Returns how many were sent.
    pub async fn send_key_expiry_reminders(&self) -> Result<usize> {
        let now = self.now();
        let window = EXPIRY_REMINDER_SECS * 1_000_000;
        let claimed = self
            .store()
            .claim_expiring_keys(now, now + window, window)
            .await?;
        let mut sent = 0;
        for key in claimed {
            match self.remind_of_expiry(&key).await {
                Ok(true) => sent += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(key_id = key.id, error = %e.detail(), "could not send an expiry reminder; retrying later");
                    self.store().unclaim_expiry_reminder(key.id).await?;
                }
            }
        }
        Ok(sent)
    }

    async fn remind_of_expiry(&self, key: &tessera_store::ExpiringKey) -> Result<bool> {
        let user = self.user_row(key.user_id).await?;
        if !user.is_active {
            return Ok(false);
        }
        let Some(to) = self.key_mail_recipient(&user).await? else {
            return Ok(false);
        };
        let realm = self.realm_by_id(user.realm_id).await?;
        let realm_url = self.realm_url(&realm.string_id);
        let when = crate::users::iso_minutes(key.expires_at)
            .replace('T', " ")
            .replace("+00:00", " UTC");
        let (whose, tab) = if user.is_bot {
            (
                format!(
                    "of your bot {} ({}) on {realm_url}",
                    user.full_name, user.email
                ),
                "your-bots",
            )
        } else {
            (
                format!("of your account on {realm_url}"),
                "account-and-privacy",
            )
        };
        let body = format!(
            "Hello {name},\n\n\
             The API key \"{key_name}\" {whose} expires at {when}. After that, anything \
             using it is refused.\n\n\
             If it is still needed, create a new key at {realm_url}/settings/{tab} (API keys) \
             and put it in place of the old one before then.\n",
            name = to.full_name,
            key_name = key.name,
        );
        self.send_mail(crate::OutgoingMail {
            to: to.delivery_email.clone(),
            subject: format!("The API key \"{}\" expires soon", key.name),
            body,
        })
        .await?;
        Ok(true)
    }
}
