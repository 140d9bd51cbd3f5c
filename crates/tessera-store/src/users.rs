//! Users: humans and bots, their password hashes, their one API key (as a digest and a sealed
//! copy, never in plaintext), and bots' services.

use crate::audit_log::insert_audit;
use crate::invalidations::{insert_invalidation, invalidate_user_keys};
use crate::{AuditEvent, Backend, Result, Store, StoreError, with_pool, with_writer};
use tessera_core::SealedSecret;

/// A user as stored.
#[derive(Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub realm_id: i64,
    pub email: String,
    pub delivery_email: String,
    pub full_name: String,
    pub role: i64,
    pub is_active: bool,
    pub is_bot: bool,
    pub bot_type: Option<i64>,
    pub bot_owner_id: Option<i64>,
    pub password_hash: Option<String>,
    pub api_key_digest: Vec<u8>,
    pub api_key_nonce: Vec<u8>,
    pub api_key_sealed: Vec<u8>,
    pub date_joined: i64,
    pub timezone: String,
    pub avatar_version: i64,
    /// Send the new-login notice email.
    pub enable_login_emails: bool,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("realm_id", &self.realm_id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("is_active", &self.is_active)
            .field("bot_type", &self.bot_type)
            .finish_non_exhaustive()
    }
}

impl UserRow {
    /// The sealed copy of the user's API key.
    pub fn sealed_api_key(&self) -> SealedSecret {
        SealedSecret {
            nonce: self.api_key_nonce.clone(),
            ciphertext: self.api_key_sealed.clone(),
        }
    }
}

const USER_COLUMNS: &str = "u.id, u.realm_id, u.email, u.delivery_email, u.full_name, u.role, \
    u.is_active, u.is_bot, u.bot_type, u.bot_owner_id, u.password_hash, u.api_key_digest, \
    u.api_key_nonce, u.api_key_sealed, u.date_joined, u.timezone, u.avatar_version, u.enable_login_emails";

/// What authentication needs about the owner of a key digest, in one indexed lookup.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuthRow {
    pub user_id: i64,
    pub realm_id: i64,
    pub realm_string_id: String,
    pub realm_deactivated: bool,
    pub delivery_email: String,
    pub role: i64,
    pub is_active: bool,
    pub is_bot: bool,
    pub bot_type: Option<i64>,
    /// For a key of `api_keys`: its id, kind, scope bits, expiry and allow-list (`None` for
    /// the account key, and for the queries that do not select them: sessions).
    #[sqlx(default)]
    pub key_id: Option<i64>,
    #[sqlx(default)]
    pub key_kind: Option<String>,
    #[sqlx(default)]
    pub key_scope: Option<i64>,
    #[sqlx(default)]
    pub key_expires_at: Option<i64>,
    #[sqlx(default)]
    pub key_networks: Option<String>,
    /// For a bot's account key: the live previous key that its first use retires.
    #[sqlx(default)]
    pub previous_key_id: Option<i64>,
}

/// Seals a secret once the new row's id is known (the id is the AEAD's associated data).
pub type Sealer = Box<dyn FnOnce(i64) -> SealedSecret + Send>;

/// A bot's service (outgoing webhook or embedded bot).
pub struct NewService {
    pub name: String,
    pub base_url: String,
    pub interface: i64,
    pub seal_token: Sealer,
}

/// A user to create.
pub struct NewUser {
    pub realm_id: i64,
    pub email: String,
    pub delivery_email: String,
    pub full_name: String,
    pub role: i64,
    pub bot_type: Option<i64>,
    pub bot_owner_id: Option<i64>,
    pub password_hash: Option<String>,
    pub key_digest: Vec<u8>,
    pub seal_key: Sealer,
    pub service: Option<NewService>,
    pub timezone: String,
    /// Subscribe the new account to the realm's default channels in the same transaction,
    /// with these colours in order (Zulip's palette, repeated when there are more channels);
    /// empty: it joins no channel (bots).
    pub default_stream_colors: Vec<String>,
}

/// A stored service.
#[derive(Clone, sqlx::FromRow)]
pub struct ServiceRow {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub base_url: String,
    pub interface: i64,
    pub token_nonce: Vec<u8>,
    pub token_sealed: Vec<u8>,
}

impl ServiceRow {
    /// The sealed service token.
    pub fn sealed_token(&self) -> SealedSecret {
        SealedSecret {
            nonce: self.token_nonce.clone(),
            ciphertext: self.token_sealed.clone(),
        }
    }
}

/// Insert a user, its sealed key, its service and the audit row, inside an open transaction.
/// Evaluates to the new user's id.
macro_rules! insert_user {
    ($tx:expr, $u:expr, $realm_id:expr, $acting:expr, $now:expr) => {{
        let u: NewUser = $u;
        let realm_id: i64 = $realm_id;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO users (realm_id, email, delivery_email, email_lower, full_name, role, \
             is_bot, bot_type, bot_owner_id, password_hash, api_key_digest, api_key_nonce, \
             api_key_sealed, date_joined, timezone) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
        )
        .bind(realm_id)
        .bind(&u.email)
        .bind(&u.delivery_email)
        .bind(u.delivery_email.to_lowercase())
        .bind(&u.full_name)
        .bind(u.role)
        .bind(u.bot_type.is_some())
        .bind(u.bot_type)
        .bind(u.bot_owner_id)
        .bind(&u.password_hash)
        .bind(&u.key_digest)
        .bind(Vec::<u8>::new())
        .bind(Vec::<u8>::new())
        .bind($now)
        .bind(&u.timezone)
        .fetch_one(&mut *$tx)
        .await?;
        let sealed = (u.seal_key)(id);
        sqlx::query("UPDATE users SET api_key_nonce = $1, api_key_sealed = $2 WHERE id = $3")
            .bind(sealed.nonce)
            .bind(sealed.ciphertext)
            .bind(id)
            .execute(&mut *$tx)
            .await?;
        if let Some(service) = u.service {
            let token = (service.seal_token)(id);
            sqlx::query(
                "INSERT INTO services (user_id, name, base_url, interface, token_nonce, token_sealed) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(&service.name)
            .bind(&service.base_url)
            .bind(service.interface)
            .bind(token.nonce)
            .bind(token.ciphertext)
            .execute(&mut *$tx)
            .await?;
        }
        let acting: Option<i64> = $acting;
        insert_audit!($tx, realm_id, acting.or(Some(id)), Some(id), AuditEvent::UserCreated, $now, None::<String>);
        id
    }};
}

impl Store {
    pub(crate) fn is_pg(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// First run: create the default realm and its owner in one transaction. Refuses (with
    /// `Conflict("initialized")`) if the store was already initialised.
    pub async fn bootstrap(
        &self,
        string_id: &str,
        realm_name: &str,
        owner: NewUser,
        secret_check: &str,
        now: i64,
    ) -> Result<(i64, i64)> {
        with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            let claimed = sqlx::query(
                "INSERT INTO server_meta (key, value) VALUES ('initialized', $1) \
                 ON CONFLICT (key) DO NOTHING",
            )
            .bind(now.to_string())
            .execute(&mut *tx)
            .await?;
            if claimed.rows_affected() == 0 {
                return Err(StoreError::Conflict("initialized".into()));
            }
            sqlx::query(
                "INSERT INTO server_meta (key, value) VALUES ('secret_check', $1) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(secret_check)
            .execute(&mut *tx)
            .await?;
            let (realm_id,): (i64,) = sqlx::query_as(
                "INSERT INTO realms (string_id, name, date_created) VALUES ($1, $2, $3) RETURNING id",
            )
            .bind(string_id)
            .bind(realm_name)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            insert_audit!(tx, realm_id, None::<i64>, None::<i64>, AuditEvent::RealmCreated, now, None::<String>);
            let user_id = insert_user!(tx, owner, realm_id, None, now);
            tx.commit().await?;
            Ok((realm_id, user_id))
        })
    }

    /// Create a user (human or bot) with audit row 101 (`acting` = creator; self when `None`).
    pub async fn create_user(
        &self,
        new: NewUser,
        acting: Option<i64>,
        now: i64,
    ) -> Result<UserRow> {
        let realm_id = new.realm_id;
        let colors = new.default_stream_colors.clone();
        let id = with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            let id = insert_user!(tx, new, realm_id, acting, now);
            // The account and its default channels land together or not at all.
            let defaults: Vec<(i64,)> = if colors.is_empty() { Vec::new() } else { sqlx::query_as(
                "SELECT id FROM streams WHERE realm_id = $1 AND is_default AND NOT deactivated ORDER BY name_lower",
            )
            .bind(realm_id)
            .fetch_all(&mut *tx)
            .await? };
            for (color, (stream_id,)) in colors.iter().cycle().zip(&defaults) {
                sqlx::query(
                    "INSERT INTO subscriptions (user_id, stream_id, active, color) VALUES ($1, $2, TRUE, $3) \
                     ON CONFLICT (user_id, stream_id) DO NOTHING",
                )
                .bind(id)
                .bind(stream_id)
                .bind(color)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            id
        });
        self.user_by_id(id).await?.ok_or(StoreError::NotFound)
    }

    /// A user by id (any realm).
    pub async fn user_by_id(&self, id: i64) -> Result<Option<UserRow>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1");
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, UserRow>(&sql).bind(id).fetch_optional(pool).await?
        }))
    }

    /// A user of `realm_id` by delivery email, compared case-insensitively.
    pub async fn user_by_email(&self, realm_id: i64, email: &str) -> Result<Option<UserRow>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.realm_id = $1 AND u.email_lower = $2"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, UserRow>(&sql)
                .bind(realm_id)
                .bind(email.to_lowercase())
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Whether any realm other than `realm_id` has a user with this delivery email.
    pub async fn email_exists_elsewhere(&self, realm_id: i64, email: &str) -> Result<bool> {
        let (n,): (i64,) = with_pool!(self, pool => {
            sqlx::query_as("SELECT COUNT(*) FROM users WHERE realm_id <> $1 AND email_lower = $2")
                .bind(realm_id)
                .bind(email.to_lowercase())
                .fetch_one(pool)
                .await?
        });
        Ok(n > 0)
    }

    /// Users of a realm, by id.
    pub async fn users_in_realm(&self, realm_id: i64) -> Result<Vec<UserRow>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.realm_id = $1 ORDER BY u.id");
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, UserRow>(&sql).bind(realm_id).fetch_all(pool).await?
        }))
    }

    /// The ids of a realm's active users (who receive organization-wide events).
    pub async fn active_user_ids(&self, realm_id: i64) -> Result<Vec<i64>> {
        let sql = "SELECT id FROM users WHERE realm_id = $1 AND is_active ORDER BY id";
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar::<_, i64>(sql).bind(realm_id).fetch_all(pool).await?
        }))
    }

    /// Bots owned by `owner_id`, in creation order; only active ones when `active_only`.
    pub async fn bots_owned_by(&self, owner_id: i64, active_only: bool) -> Result<Vec<UserRow>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.bot_owner_id = $1 AND u.is_bot \
             AND (u.is_active OR NOT $2) ORDER BY u.id"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, UserRow>(&sql)
                .bind(owner_id)
                .bind(active_only)
                .fetch_all(pool)
                .await?
        }))
    }

    /// The key owner behind a lookup digest, with its realm's state.
    pub async fn auth_by_digest(&self, digest: &[u8]) -> Result<Option<AuthRow>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, AuthRow>(
                "SELECT u.id AS user_id, u.realm_id, r.string_id AS realm_string_id, \
                 r.deactivated AS realm_deactivated, u.delivery_email, u.role, u.is_active, \
                 u.is_bot, u.bot_type, CAST(NULL AS BIGINT) AS key_id, \
                 CAST(NULL AS TEXT) AS key_kind, CAST(NULL AS BIGINT) AS key_scope, \
                 CAST(NULL AS BIGINT) AS key_expires_at, CAST(NULL AS TEXT) AS key_networks, \
                 (SELECT MIN(p.id) FROM api_keys p WHERE p.user_id = u.id \
                  AND p.kind = 'previous' AND p.revoked_at IS NULL) AS previous_key_id \
                 FROM users u JOIN realms r ON r.id = u.realm_id WHERE u.api_key_digest = $1 \
                 UNION ALL \
                 SELECT u.id, u.realm_id, r.string_id, r.deactivated, u.delivery_email, u.role, \
                 u.is_active, u.is_bot, u.bot_type, k.id, k.kind, k.scope, k.expires_at, \
                 k.allowed_networks, CAST(NULL AS BIGINT) \
                 FROM api_keys k JOIN users u ON u.id = k.user_id \
                 JOIN realms r ON r.id = u.realm_id \
                 WHERE k.digest = $1 AND k.revoked_at IS NULL",
            )
            .bind(digest)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Replace a user's key in one transaction: new digest and sealed copy, audit 127 by
    /// `acting`, the user's push registrations removed, and the old digest announced for
    /// eviction; every live key of `api_keys` of the user (named, device, previous) revoked
    /// (audit 9007 each). With `keep_previous_until`, the old key is kept as a `previous` key
    /// that expires then (a bot's overlap window). Returns the old digest and the revoked
    /// keys' digests.
    pub async fn rotate_api_key(
        &self,
        user_id: i64,
        new_digest: &[u8],
        seal: Sealer,
        acting: i64,
        now: i64,
        keep_previous_until: Option<i64>,
    ) -> Result<(Vec<u8>, Vec<Vec<u8>>)> {
        let sealed = seal(user_id);
        let is_pg = self.is_pg();
        with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            // The first statement writes, so it takes the row lock (PostgreSQL) or the write
            // lock (SQLite) before the old digest is read: two concurrent rotations serialise
            // and each evicts the digest it really replaced.
            let row: Option<(Vec<u8>, i64)> = sqlx::query_as(
                "UPDATE users SET key_generation = key_generation + 1 WHERE id = $1 \
                 RETURNING api_key_digest, realm_id",
            )
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((old, realm_id)) = row else {
                return Err(StoreError::NotFound);
            };
            sqlx::query(
                "UPDATE users SET api_key_digest = $1, api_key_nonce = $2, api_key_sealed = $3 \
                 WHERE id = $4",
            )
            .bind(new_digest)
            .bind(&sealed.nonce)
            .bind(&sealed.ciphertext)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
            insert_audit!(tx, realm_id, Some(acting), Some(user_id), AuditEvent::UserApiKeyChanged, now, None::<String>);
            sqlx::query("DELETE FROM push_devices WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            insert_invalidation!(tx, Some(old.clone()), now, is_pg);
            insert_invalidation!(tx, Some(new_digest.to_vec()), now, is_pg);
            // A new account key ends every named key of the account too.
            let revoked = crate::api_keys::revoke_all_in!(tx, user_id, acting, realm_id, "account key regenerated", now, is_pg);
            if let Some(until) = keep_previous_until {
                let previous = crate::api_keys::NewApiKey {
                    user_id,
                    kind: "previous",
                    name: "Previous API key",
                    digest: &old,
                    scope: 63,
                    expires_at: Some(until),
                    allowed_networks: None,
                    created_address: None,
                    keep_at_most: None,
                    made_by_key_id: None,
                };
                crate::api_keys::insert_key_in!(tx, &previous, realm_id, acting, now, is_pg);
            }
            tx.commit().await?;
            Ok((old, revoked))
        })
    }

    /// Set a password hash (audit 122).
    pub async fn set_password(
        &self,
        user_id: i64,
        hash: &str,
        acting: i64,
        now: i64,
    ) -> Result<()> {
        with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            let row: Option<(i64,)> = sqlx::query_as(
                "UPDATE users SET password_hash = $1 WHERE id = $2 RETURNING realm_id",
            )
            .bind(hash)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((realm_id,)) = row else { return Err(StoreError::NotFound) };
            // A reset link is good only for the password it was sent for.
            sqlx::query("UPDATE password_reset_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL")
                .bind(user_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            insert_audit!(tx, realm_id, Some(acting), Some(user_id), AuditEvent::UserPasswordChanged, now, None::<String>);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Deactivate or reactivate a user (audit 103/104) and announce its key for eviction.
    /// Returns `false` when the user already was in that state (nothing written).
    pub async fn set_active(
        &self,
        user_id: i64,
        active: bool,
        acting: i64,
        now: i64,
    ) -> Result<bool> {
        let is_pg = self.is_pg();
        let event = if active {
            AuditEvent::UserReactivated
        } else {
            AuditEvent::UserDeactivated
        };
        with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            let row: Option<(i64, Vec<u8>)> = sqlx::query_as(
                "UPDATE users SET is_active = $1 WHERE id = $2 AND is_active <> $1 \
                 RETURNING realm_id, api_key_digest",
            )
            .bind(active)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((realm_id, digest)) = row else {
                return Ok(false);
            };
            insert_audit!(tx, realm_id, Some(acting), Some(user_id), event, now, None::<String>);
            invalidate_user_keys!(tx, user_id, digest, now, is_pg);
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Change a user's role (audit 105, with Zulip's `{"1": old, "2": new}` extra data).
    pub async fn set_role(&self, user_id: i64, role: i64, acting: i64, now: i64) -> Result<()> {
        let is_pg = self.is_pg();
        with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            let row: Option<(i64, i64, Vec<u8>)> = sqlx::query_as(
                "UPDATE users SET role = $1 WHERE id = $2 \
                 RETURNING realm_id, (SELECT role FROM users WHERE id = $2), api_key_digest",
            )
            .bind(role)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((realm_id, old, digest)) = row else { return Err(StoreError::NotFound) };
            let extra = format!("{{\"1\": {old}, \"2\": {role}}}");
            insert_audit!(tx, realm_id, Some(acting), Some(user_id), AuditEvent::UserRoleChanged, now, Some(extra));
            invalidate_user_keys!(tx, user_id, digest, now, is_pg);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Rename a user (audit 124, old name as extra data).
    pub async fn set_full_name(
        &self,
        user_id: i64,
        name: &str,
        acting: i64,
        now: i64,
    ) -> Result<()> {
        let is_pg = self.is_pg();
        with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            let row: Option<(i64, String, Vec<u8>)> = sqlx::query_as(
                "UPDATE users SET full_name = $1 WHERE id = $2 \
                 RETURNING realm_id, (SELECT full_name FROM users WHERE id = $2), api_key_digest",
            )
            .bind(name)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((realm_id, old, digest)) = row else { return Err(StoreError::NotFound) };
            insert_audit!(tx, realm_id, Some(acting), Some(user_id), AuditEvent::UserFullNameChanged, now, Some(old));
            // Cached profiles (`GET /users/me`) live with the key: drop them everywhere.
            invalidate_user_keys!(tx, user_id, digest, now, is_pg);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Give a bot a new owner (audit 128, new owner id as extra data).
    pub async fn set_bot_owner(
        &self,
        bot_id: i64,
        owner_id: i64,
        acting: i64,
        now: i64,
    ) -> Result<()> {
        let is_pg = self.is_pg();
        with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            let row: Option<(i64, Vec<u8>)> = sqlx::query_as(
                "UPDATE users SET bot_owner_id = $1 WHERE id = $2 AND is_bot \
                 RETURNING realm_id, api_key_digest",
            )
            .bind(owner_id)
            .bind(bot_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((realm_id, digest)) = row else { return Err(StoreError::NotFound) };
            insert_audit!(tx, realm_id, Some(acting), Some(bot_id), AuditEvent::UserBotOwnerChanged, now, Some(owner_id.to_string()));
            invalidate_user_keys!(tx, bot_id, digest, now, is_pg);
            tx.commit().await?;
        });
        Ok(())
    }

    /// A bot's service, if it has one.
    pub async fn service_for(&self, user_id: i64) -> Result<Option<ServiceRow>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, ServiceRow>(
                "SELECT id, user_id, name, base_url, interface, token_nonce, token_sealed \
                 FROM services WHERE user_id = $1 ORDER BY id LIMIT 1",
            )
            .bind(user_id)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Change a bot service's endpoint and interface.
    pub async fn update_service(&self, user_id: i64, base_url: &str, interface: i64) -> Result<()> {
        with_writer!(self, pool => {
            sqlx::query("UPDATE services SET base_url = $1, interface = $2 WHERE user_id = $3")
                .bind(base_url)
                .bind(interface)
                .bind(user_id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
