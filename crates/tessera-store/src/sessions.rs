//! Web sessions and password-reset tokens. Both are stored only as HMAC digests of the token
//! the browser holds (cookie) or the email carries (link).

use crate::audit_log::insert_audit;
use crate::{AuditEvent, AuthRow, Result, Store, StoreError, with_pool, with_writer};

/// One web session, for listing.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRow {
    pub id: i64,
    pub user_id: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_seen: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Where a new session comes from.
#[derive(Debug, Clone, Default)]
pub struct SessionOrigin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Store {
    /// Record a new session for `user_id`.
    pub async fn create_session(
        &self,
        digest: &[u8],
        user_id: i64,
        now: i64,
        expires_at: i64,
        origin: &SessionOrigin,
    ) -> Result<i64> {
        Ok(with_writer!(self, pool => {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO sessions (digest, user_id, created_at, expires_at, last_seen, ip, user_agent) \
                 VALUES ($1, $2, $3, $4, $3, $5, $6) RETURNING id",
            )
            .bind(digest)
            .bind(user_id)
            .bind(now)
            .bind(expires_at)
            .bind(&origin.ip)
            .bind(&origin.user_agent)
            .fetch_one(pool)
            .await?;
            id
        }))
    }

    /// The user behind an unexpired session, with the realm's state (the same shape as a key
    /// lookup), and the session's id.
    pub async fn auth_by_session(&self, digest: &[u8], now: i64) -> Result<Option<(i64, AuthRow)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            session_id: i64,
            #[sqlx(flatten)]
            auth: AuthRow,
        }
        let row = with_pool!(self, pool => {
            sqlx::query_as::<_, Row>(
                "SELECT s.id AS session_id, u.id AS user_id, u.realm_id, \
                 r.string_id AS realm_string_id, r.deactivated AS realm_deactivated, \
                 u.delivery_email, u.role, u.is_active, u.is_bot, u.bot_type \
                 FROM sessions s JOIN users u ON u.id = s.user_id JOIN realms r ON r.id = u.realm_id \
                 WHERE s.digest = $1 AND s.expires_at > $2",
            )
            .bind(digest)
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|r| (r.session_id, r.auth)))
    }

    /// A user's unexpired sessions, most recently used first.
    pub async fn sessions_for(&self, user_id: i64, now: i64) -> Result<Vec<SessionRow>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, SessionRow>(
                "SELECT id, user_id, created_at, expires_at, last_seen, ip, user_agent \
                 FROM sessions WHERE user_id = $1 AND expires_at > $2 ORDER BY last_seen DESC, id DESC",
            )
            .bind(user_id)
            .bind(now)
            .fetch_all(pool)
            .await?
        }))
    }

    /// End one session (logout). `false` if there was none.
    pub async fn delete_session(&self, digest: &[u8]) -> Result<bool> {
        let n = with_writer!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE digest = $1")
                .bind(digest)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// End every session of a user except `keep` (a session id). Returns how many ended.
    pub async fn delete_sessions_of(&self, user_id: i64, keep: Option<i64>) -> Result<u64> {
        Ok(with_writer!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
                .bind(user_id)
                .bind(keep.unwrap_or(-1))
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    /// Forget sessions, reset tokens and desktop-login tokens that expired before `before`.
    pub async fn prune_sessions(&self, before: i64) -> Result<u64> {
        Ok(with_writer!(self, pool => {
            let a = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected();
            let b = sqlx::query("DELETE FROM password_reset_tokens WHERE expires_at <= $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected();
            let c = sqlx::query("DELETE FROM login_tokens WHERE expires_at <= $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected();
            a + b + c
        }))
    }

    /// Record a password-reset token.
    pub async fn create_reset_token(
        &self,
        digest: &[u8],
        user_id: i64,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        with_writer!(self, pool => {
            sqlx::query(
                "INSERT INTO password_reset_tokens (digest, user_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(digest)
            .bind(user_id)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The user a reset token is good for: unused and unexpired.
    pub async fn reset_token_user(&self, digest: &[u8], now: i64) -> Result<Option<i64>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, (i64,)>(
                "SELECT user_id FROM password_reset_tokens \
                 WHERE digest = $1 AND used_at IS NULL AND expires_at > $2",
            )
            .bind(digest)
            .bind(now)
            .fetch_optional(pool)
            .await?
            .map(|(id,)| id)
        }))
    }

    /// Spend a reset token and set the new password in one transaction: the token (and every
    /// other outstanding token of the user) is marked used, the hash replaced, audit 122 written
    /// with the user as actor, and every session of the user ended. `NotFound` when the token is
    /// unknown, used or expired — nothing is written then.
    pub async fn reset_password_with_token(
        &self,
        digest: &[u8],
        hash: &str,
        now: i64,
    ) -> Result<i64> {
        with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            let row: Option<(i64,)> = sqlx::query_as(
                "UPDATE password_reset_tokens SET used_at = $2 \
                 WHERE digest = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id",
            )
            .bind(digest)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((user_id,)) = row else { return Err(StoreError::NotFound) };
            let (realm_id,): (i64,) = sqlx::query_as(
                "UPDATE users SET password_hash = $1 WHERE id = $2 AND is_active RETURNING realm_id",
            )
            .bind(hash)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
            sqlx::query("UPDATE password_reset_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL")
                .bind(user_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            insert_audit!(tx, realm_id, Some(user_id), Some(user_id), AuditEvent::UserPasswordChanged, now, None::<String>);
            tx.commit().await?;
            Ok(user_id)
        })
    }
}
