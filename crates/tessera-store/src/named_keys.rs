//! Named API keys: tessera's keys beside Zulip's one account key, each with a name, a scope
//! and an optional expiry. Only the keyed digest is stored; the key itself is shown once.
//! Creating and revoking are audited (9006, 9007) with the key's id, never the key, and a
//! revocation announces the digest for eviction in the same transaction.

use crate::audit_log::insert_audit;
use crate::invalidations::insert_invalidation;
use crate::{AuditEvent, Result, Store, StoreError, with_pool, with_writer};

/// A named key as listed (no digest).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NamedKeyRow {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub scope: i64,
    pub created_at: i64,
    pub created_by: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub last_client: Option<String>,
    pub last_address: Option<String>,
}

/// A key to create.
#[derive(Debug, Clone)]
pub struct NewNamedKey<'a> {
    pub user_id: i64,
    pub name: &'a str,
    pub digest: &'a [u8],
    pub scope: i64,
    pub expires_at: Option<i64>,
}

const COLUMNS: &str = "id, user_id, name, scope, created_at, created_by, expires_at, revoked_at, \
    last_used_at, last_client, last_address";

/// Revoke every live named key of `$user` inside the open transaction `$tx`: each gets
/// `revoked_at`, an audit row 9007 (with `$why`) and an eviction notice. Evaluates to the
/// revoked keys' digests.
macro_rules! revoke_all_in {
    ($tx:expr, $user:expr, $acting:expr, $realm:expr, $why:expr, $now:expr, $is_pg:expr) => {{
        let revoked: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "UPDATE api_keys SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL \
             RETURNING id, digest",
        )
        .bind($user)
        .bind($now)
        .fetch_all(&mut *$tx)
        .await?;
        let mut digests = Vec::with_capacity(revoked.len());
        for (id, digest) in revoked {
            let extra = serde_json::json!({ "key_id": id, "why": $why }).to_string();
            $crate::audit_log::insert_audit!($tx, $realm, Some($acting), Some($user), $crate::AuditEvent::NamedKeyRevoked, $now, Some(extra));
            $crate::invalidations::insert_invalidation!($tx, Some(digest.clone()), $now, $is_pg);
            digests.push(digest);
        }
        digests
    }};
}
pub(crate) use revoke_all_in;

impl Store {
    /// Store a new named key for `key.user_id` (audit 9006 by `acting`). Returns its row.
    pub async fn create_named_key(
        &self,
        key: NewNamedKey<'_>,
        acting: i64,
        now: i64,
    ) -> Result<NamedKeyRow> {
        let is_pg = self.is_pg();
        with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            let realm: Option<(i64,)> = sqlx::query_as("SELECT realm_id FROM users WHERE id = $1")
                .bind(key.user_id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((realm_id,)) = realm else { return Err(StoreError::NotFound) };
            let row = sqlx::query_as::<_, NamedKeyRow>(&format!(
                "INSERT INTO api_keys (user_id, name, digest, scope, created_at, created_by, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
            ))
            .bind(key.user_id)
            .bind(key.name)
            .bind(key.digest)
            .bind(key.scope)
            .bind(now)
            .bind(acting)
            .bind(key.expires_at)
            .fetch_one(&mut *tx)
            .await?;
            let extra = serde_json::json!({
                "key_id": row.id,
                "name": row.name,
                "scope": row.scope,
                "expires_at": row.expires_at,
            })
            .to_string();
            insert_audit!(tx, realm_id, Some(acting), Some(key.user_id), AuditEvent::NamedKeyCreated, now, Some(extra));
            // A negative cache entry for this digest (someone tried it before) must go.
            insert_invalidation!(tx, Some(key.digest.to_vec()), now, is_pg);
            tx.commit().await?;
            Ok(row)
        })
    }

    /// The named keys of a user, newest first; revoked ones only if `include_revoked`.
    pub async fn named_keys(
        &self,
        user_id: i64,
        include_revoked: bool,
    ) -> Result<Vec<NamedKeyRow>> {
        let filter = if include_revoked {
            ""
        } else {
            " AND revoked_at IS NULL"
        };
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, NamedKeyRow>(&format!(
                "SELECT {COLUMNS} FROM api_keys WHERE user_id = $1{filter} ORDER BY id DESC"
            ))
            .bind(user_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Revoke one live named key of `user_id` (audit 9007 by `acting`, eviction announced).
    /// Returns its digest, or `None` when the user has no such live key.
    pub async fn revoke_named_key(
        &self,
        user_id: i64,
        key_id: i64,
        acting: i64,
        why: &str,
        now: i64,
    ) -> Result<Option<Vec<u8>>> {
        let is_pg = self.is_pg();
        with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            let row: Option<(Vec<u8>, i64)> = sqlx::query_as(
                "UPDATE api_keys SET revoked_at = $3 WHERE id = $1 AND user_id = $2 \
                 AND revoked_at IS NULL RETURNING digest, \
                 (SELECT realm_id FROM users WHERE id = $2)",
            )
            .bind(key_id)
            .bind(user_id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((digest, realm_id)) = row else { return Ok(None) };
            let extra = serde_json::json!({ "key_id": key_id, "why": why }).to_string();
            insert_audit!(tx, realm_id, Some(acting), Some(user_id), AuditEvent::NamedKeyRevoked, now, Some(extra));
            insert_invalidation!(tx, Some(digest.clone()), now, is_pg);
            tx.commit().await?;
            Ok(Some(digest))
        })
    }

    /// Remember a named key's last use (time, client name, address).
    pub async fn note_named_key_use(
        &self,
        key_id: i64,
        client: &str,
        address: Option<&str>,
        now: i64,
    ) -> Result<()> {
        with_writer!(self, pool => {
            sqlx::query(
                "UPDATE api_keys SET last_used_at = $2, last_client = $3, last_address = $4 \
                 WHERE id = $1",
            )
            .bind(key_id)
            .bind(now)
            .bind(client)
            .bind(address)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}
