//! What has used an account: API clients (by Zulip client name) with first/last use and last
//! IP, desktop-login tokens, and the new-login email setting.

use crate::audit_log::insert_audit;
use crate::{AuditEvent, Result, Store, with_pool, with_writer};

/// One API client of a user.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiClientRow {
    pub id: i64,
    pub user_id: i64,
    pub client: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub last_ip: Option<String>,
}

impl Store {
    /// Record a use of the account by `client`. Returns `true` when the client is new.
    pub async fn touch_api_client(
        &self,
        user_id: i64,
        client: &str,
        now: i64,
        ip: Option<&str>,
    ) -> Result<bool> {
        Ok(with_writer!(self, pool => {
            let (first,): (i64,) = sqlx::query_as(
                "INSERT INTO api_clients (user_id, client, first_seen, last_seen, last_ip) \
                 VALUES ($1, $2, $3, $3, $4) \
                 ON CONFLICT (user_id, client) DO UPDATE SET last_seen = excluded.last_seen, \
                 last_ip = COALESCE(excluded.last_ip, api_clients.last_ip) \
                 RETURNING first_seen",
            )
            .bind(user_id)
            .bind(client)
            .bind(now)
            .bind(ip)
            .fetch_one(pool)
            .await?;
            first == now
        }))
    }

    /// A user's API clients, most recently used first.
    pub async fn api_clients_of(&self, user_id: i64) -> Result<Vec<ApiClientRow>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, ApiClientRow>(
                "SELECT id, user_id, client, first_seen, last_seen, last_ip FROM api_clients \
                 WHERE user_id = $1 ORDER BY last_seen DESC, id DESC",
            )
            .bind(user_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Whether a user has used this client before.
    pub async fn knows_client(&self, user_id: i64, client: &str) -> Result<bool> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, (i64,)>("SELECT id FROM api_clients WHERE user_id = $1 AND client = $2")
                .bind(user_id)
                .bind(client)
                .fetch_optional(pool)
                .await?
                .is_some()
        }))
    }

    /// Forget a user's API clients (after "log out everywhere" their old key is dead anyway).
    pub async fn clear_api_clients(&self, user_id: i64) -> Result<u64> {
        Ok(with_writer!(self, pool => {
            sqlx::query("DELETE FROM api_clients WHERE user_id = $1")
                .bind(user_id)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    /// End one session of a user by id; `false` if it was not theirs or did not exist.
    pub async fn delete_session_by_id(&self, user_id: i64, session_id: i64) -> Result<bool> {
        let n = with_writer!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
                .bind(session_id)
                .bind(user_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// Store a desktop-login token (digest).
    pub async fn create_login_token(
        &self,
        digest: &[u8],
        user_id: i64,
        expires_at: i64,
    ) -> Result<()> {
        with_writer!(self, pool => {
            sqlx::query("INSERT INTO login_tokens (digest, user_id, expires_at) VALUES ($1, $2, $3)")
                .bind(digest)
                .bind(user_id)
                .bind(expires_at)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Spend a desktop-login token: the user id, once, before it expires.
    pub async fn consume_login_token(&self, digest: &[u8], now: i64) -> Result<Option<i64>> {
        Ok(with_writer!(self, pool => {
            sqlx::query_as::<_, (i64,)>(
                "UPDATE login_tokens SET used_at = $2 WHERE digest = $1 AND used_at IS NULL \
                 AND expires_at > $2 RETURNING user_id",
            )
            .bind(digest)
            .bind(now)
            .fetch_optional(pool)
            .await?
            .map(|(id,)| id)
        }))
    }

    /// Write an audit row on its own (for actions whose data lives elsewhere).
    pub async fn audit(
        &self,
        realm_id: i64,
        acting: Option<i64>,
        modified: Option<i64>,
        event: AuditEvent,
        now: i64,
        extra: Option<String>,
    ) -> Result<()> {
        with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            insert_audit!(tx, realm_id, acting, modified, event, now, extra.clone());
            tx.commit().await?;
        });
        Ok(())
    }

    /// Remove every push registration of a user; returns how many.
    pub async fn clear_push_devices(&self, user_id: i64) -> Result<u64> {
        Ok(with_writer!(self, pool => {
            sqlx::query("DELETE FROM push_devices WHERE user_id = $1")
                .bind(user_id)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }
}

impl Store {
    /// Record that a session was used now (from `ip`).
    pub async fn touch_session(&self, session_id: i64, now: i64, ip: Option<&str>) -> Result<()> {
        with_writer!(self, pool => {
            sqlx::query("UPDATE sessions SET last_seen = $2, ip = COALESCE($3, ip) WHERE id = $1")
                .bind(session_id)
                .bind(now)
                .bind(ip)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
