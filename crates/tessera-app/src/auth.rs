//! Authenticating an API key, exactly in Zulip's order (`validate_api_key`):
//! shape → checksum → lookup (cached by digest) → username → realm deactivated → user
//! deactivated → subdomain → incoming-webhook restriction. A key beside the account key
//! (named, device, a bot's previous key) is also refused past its expiry (before the username
//! check) and from outside its allow-list (right after it); a bot's new account key retires
//! its previous key on first use.

use crate::{App, AppError, Result};
use std::net::IpAddr;
use std::sync::Arc;
use tessera_core::secrets::Purpose;
use tessera_core::{ApiKey, ApiKeyError, BotType, KeyKind, KeyScope, Networks, Role, UserId};
use tessera_store::{AuthRow, UserRow};

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub realm_id: i64,
    pub realm_string_id: String,
    pub delivery_email: String,
    pub role: Role,
    pub is_active: bool,
    pub realm_deactivated: bool,
    pub bot_type: Option<BotType>,
    /// Which key-cache entry this principal came from (0: not from the cache). The caller's
    /// cached `GET /users/me` row is used only under the same entry, so it dies with it.
    pub(crate) generation: u64,
    /// Which key authenticated the caller, and what it may do.
    pub grant: KeyGrant,
}

/// What the key of a request may do: the account key (Zulip's) and web sessions may do
/// everything; a key of `api_keys` (named, device, previous) has its own id, kind, scope,
/// expiry and allow-list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyGrant {
    /// The key's id (`None`: the account key or a session).
    pub key_id: Option<i64>,
    /// Its kind (`None`: the account key or a session).
    pub kind: Option<KeyKind>,
    pub scope: KeyScope,
    /// Microseconds since the epoch after which the key is refused.
    pub expires_at: Option<i64>,
    /// The networks it may be used from (`None`: anywhere).
    pub networks: Option<Arc<Networks>>,
    /// A bot's account key whose previous key is still in its overlap window: that key's
    /// id, retired by this key's first use.
    pub retires: Option<i64>,
}

impl KeyGrant {
    /// The account key, or a web session.
    pub const ACCOUNT: KeyGrant = KeyGrant {
        key_id: None,
        kind: None,
        scope: KeyScope::FULL,
        expires_at: None,
        networks: None,
        retires: None,
    };

    /// The grant of a looked-up key.
    fn of_row(r: &AuthRow) -> KeyGrant {
        match r.key_id {
            Some(id) => KeyGrant {
                key_id: Some(id),
                kind: Some(KeyKind::from_stored(r.key_kind.as_deref().unwrap_or(""))),
                scope: KeyScope::from_bits(r.key_scope.unwrap_or(0)),
                expires_at: r.key_expires_at,
                networks: Networks::from_stored(r.key_networks.as_deref()).map(Arc::new),
                retires: None,
            },
            None => KeyGrant {
                retires: r.previous_key_id,
                ..KeyGrant::ACCOUNT
            },
        }
    }

    /// Whether this is the account key (or a session) with nothing to check or do beyond
    /// Zulip's rules.
    pub fn is_plain_account(&self) -> bool {
        self.key_id.is_none() && self.retires.is_none()
    }

    /// Refuse a request that needs `need` unless the key's scope has it: 403, never 401
    /// (clients treat a 401 as a logout).
    ///
    /// A bot's previous key (kept for an overlap window) does what the running integration
    /// does, but never what only a full key may (reveal, create or regenerate keys): whoever
    /// holds a replaced key — perhaps the reason it was replaced — cannot take the bot back.
    pub fn require(&self, need: KeyScope) -> Result<()> {
        let previous = self.kind == Some(KeyKind::Previous) && need == KeyScope::FULL;
        if self.scope.allows(need) && !previous {
            Ok(())
        } else {
            Err(AppError::KeyScope { need })
        }
    }
}

impl Principal {
    pub(crate) fn from_row(r: &AuthRow) -> Option<Principal> {
        Some(Principal {
            user_id: UserId(r.user_id),
            realm_id: r.realm_id,
            realm_string_id: r.realm_string_id.clone(),
            delivery_email: r.delivery_email.clone(),
            role: Role::from_i64(r.role)?,
            is_active: r.is_active,
            realm_deactivated: r.realm_deactivated,
            bot_type: match r.bot_type {
                Some(n) => Some(BotType::from_i64(n)?),
                None => None,
            },
            generation: 0,
            grant: KeyGrant::of_row(r),
        })
    }

    /// Whether the caller is a bot.
    pub fn is_bot(&self) -> bool {
        self.bot_type.is_some()
    }

    /// Zulip's `require_member_or_admin`: humans who are not guests.
    pub fn require_member_or_admin(&self) -> Result<()> {
        if self.is_bot() {
            return Err(AppError::bad("This endpoint does not accept bot requests."));
        }
        if self.role == Role::Guest {
            return Err(AppError::bad("Not allowed for guest users"));
        }
        Ok(())
    }

    /// Zulip's `require_non_guest_user`.
    pub fn require_not_guest(&self) -> Result<()> {
        if self.role == Role::Guest {
            return Err(AppError::bad("Not allowed for guest users"));
        }
        Ok(())
    }

    /// Zulip's `human_users_only`.
    pub fn require_human(&self) -> Result<()> {
        if self.is_bot() {
            return Err(AppError::bad("This endpoint does not accept bot requests."));
        }
        Ok(())
    }
}

/// Why an API key was refused. The message is Zulip's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    #[error("Malformed API key")]
    MalformedKey,
    #[error("Invalid API key")]
    InvalidKey,
    #[error("This organization has been deactivated")]
    RealmDeactivated,
    #[error("Account is deactivated")]
    UserDeactivated,
    #[error("Account is not associated with this subdomain")]
    WrongSubdomain,
    #[error("This API is not available to incoming webhook bots.")]
    IncomingWebhookBot,
    /// tessera's own: a named key past its expiry (refused as a revoked key is).
    #[error("This API key has expired.")]
    ExpiredKey,
}

/// The message of a refusal for a key used from outside its allow-list.
pub const ADDRESS_NOT_ALLOWED: &str = "This API key may not be used from this address.";

impl App {
    /// Authenticate `key` for a request to the realm at `subdomain` from `ip`. `username`, when
    /// given (Basic auth), must match the key owner's delivery email case-insensitively;
    /// webhook-style `?api_key=` requests pass `None`. `allow_incoming_webhook` is the view's
    /// `allow_incoming_webhooks` flag.
    pub async fn authenticate_api_key(
        &self,
        subdomain: &str,
        username: Option<&str>,
        key: &str,
        allow_incoming_webhook: bool,
        ip: Option<IpAddr>,
    ) -> Result<Principal> {
        let result = self
            .check_api_key(subdomain, username, key, allow_incoming_webhook, ip)
            .await;
        if let Err(AppError::KeyAddress) = &result {
            self.metrics()
                .auth_failures
                .with_label_values(&["address_not_allowed"])
                .inc();
        }
        if let Err(AppError::Auth(f)) = &result {
            let reason = match f {
                AuthFailure::MalformedKey => "malformed_key",
                AuthFailure::InvalidKey => "invalid_key",
                AuthFailure::RealmDeactivated => "realm_deactivated",
                AuthFailure::UserDeactivated => "user_deactivated",
                AuthFailure::WrongSubdomain => "wrong_subdomain",
                AuthFailure::IncomingWebhookBot => "incoming_webhook_bot",
                AuthFailure::ExpiredKey => "expired_key",
            };
            self.metrics()
                .auth_failures
                .with_label_values(&[reason])
                .inc();
        }
        result
    }

    async fn check_api_key(
        &self,
        subdomain: &str,
        username: Option<&str>,
        key: &str,
        allow_incoming_webhook: bool,
        ip: Option<IpAddr>,
    ) -> Result<Principal> {
        // Shape and checksum first: a made-up key never reaches the cache or the store.
        let key = ApiKey::parse(key).map_err(|e| match e {
            ApiKeyError::Malformed => AppError::Auth(AuthFailure::MalformedKey),
            ApiKeyError::BadChecksum => AppError::Auth(AuthFailure::InvalidKey),
        })?;
        let digest = self.secret().digest(Purpose::ApiKey, key.expose());
        let principal = self
            .inner
            .key_cache
            .get(&digest)
            .await?
            .ok_or(AppError::Auth(AuthFailure::InvalidKey))?;
        if principal
            .grant
            .expires_at
            .is_some_and(|at| self.now() >= at)
        {
            return Err(AppError::Auth(AuthFailure::ExpiredKey));
        }
        if let Some(username) = username {
            // Empty usernames are a mismatch too.
            if !same_email(username.trim(), &principal.delivery_email) {
                return Err(AppError::Auth(AuthFailure::InvalidKey));
            }
        }
        // The right key from the wrong place: refused (403, not a logout) before anything
        // about the account is told, and audited.
        if let Some(networks) = &principal.grant.networks
            && !ip.is_some_and(|ip| networks.allows(ip))
        {
            self.note_refused_address(&principal, ip).await;
            return Err(AppError::KeyAddress);
        }
        if principal.realm_deactivated {
            return Err(AppError::Auth(AuthFailure::RealmDeactivated));
        }
        if !principal.is_active {
            return Err(AppError::Auth(AuthFailure::UserDeactivated));
        }
        if principal.realm_string_id != subdomain {
            tracing::warn!(user_id = %principal.user_id, subdomain, "key used on another realm's host");
            return Err(AppError::Auth(AuthFailure::WrongSubdomain));
        }
        if principal.bot_type == Some(BotType::IncomingWebhook) && !allow_incoming_webhook {
            return Err(AppError::Auth(AuthFailure::IncomingWebhookBot));
        }
        if let Some(previous) = principal.grant.retires {
            // A bot's new key, used for the first time: its previous key stops now. If the
            // store cannot say so now, the request goes on and the next use tries again.
            if let Err(e) = self
                .retire_previous_key(&principal, previous, &digest.0)
                .await
            {
                tracing::warn!(user_id = %principal.user_id, error = %e.detail(), "could not retire a previous key");
            }
        }
        Ok(principal)
    }
}

/// Zulip's `email.lower() == username.lower()`, without allocating.
fn same_email(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

impl App {
    /// The principal of a stored user (for work done on a user's behalf, e.g. a bot's reply).
    pub async fn principal_of(&self, user: &tessera_store::UserRow) -> Result<Principal> {
        let realm = self.realm_by_id(user.realm_id).await?;
        Ok(Principal::of_user(
            user,
            &realm.string_id,
            realm.deactivated,
        ))
    }
}

impl Principal {
    /// A principal for a stored user of the realm `realm_string_id` (an unknown role reads
    /// as a member).
    pub fn of_user(user: &UserRow, realm_string_id: &str, realm_deactivated: bool) -> Principal {
        Principal {
            user_id: UserId(user.id),
            realm_id: user.realm_id,
            realm_string_id: realm_string_id.to_owned(),
            delivery_email: user.delivery_email.clone(),
            role: Role::from_i64(user.role).unwrap_or(Role::Member),
            is_active: user.is_active,
            realm_deactivated,
            bot_type: user.bot_type.and_then(BotType::from_i64),
            generation: 0,
            grant: KeyGrant::ACCOUNT,
        }
    }
}
