//! Cache-invalidation rows. Every change that must take a key out of the key cache (rotation,
//! deactivation, role change, realm change) writes a row here in the same transaction, so other
//! processes on the same store (the CLI next to a server, or several server nodes) see it.
//! On PostgreSQL the row is also announced with `pg_notify` on [`NOTIFY_CHANNEL`].

use crate::{Result, Store, with_pool, with_writer};
use tessera_core::KeyDigest;

/// The LISTEN/NOTIFY channel for invalidations.
pub const NOTIFY_CHANNEL: &str = "tessera_key_invalidation";

/// Insert an invalidation row (and on PostgreSQL a notification) inside an open transaction.
/// A `None` digest means "drop every cached key".
macro_rules! insert_invalidation {
    ($tx:expr, $digest:expr, $now:expr, $is_pg:expr) => {{
        let digest: Option<Vec<u8>> = $digest;
        sqlx::query("INSERT INTO key_invalidations (digest, created_at) VALUES ($1, $2)")
            .bind(digest.clone())
            .bind($now)
            .execute(&mut *$tx)
            .await?;
        if $is_pg {
            let payload = digest
                .map(|d| $crate::invalidations::to_hex(&d))
                .unwrap_or_default();
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind($crate::invalidations::NOTIFY_CHANNEL)
                .bind(payload)
                .execute(&mut *$tx)
                .await?;
        }
    }};
}
pub(crate) use insert_invalidation;

/// Announce every key of a user for eviction: the account key's digest and the digests of
/// its live named keys (a change to the account — role, name, deactivation — must reach the
/// cache entries of all of them).
macro_rules! invalidate_user_keys {
    ($tx:expr, $user_id:expr, $digest:expr, $now:expr, $is_pg:expr) => {{
        $crate::invalidations::insert_invalidation!($tx, Some($digest), $now, $is_pg);
        let named: Vec<(Vec<u8>,)> =
            sqlx::query_as("SELECT digest FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL")
                .bind($user_id)
                .fetch_all(&mut *$tx)
                .await?;
        for (d,) in named {
            $crate::invalidations::insert_invalidation!($tx, Some(d), $now, $is_pg);
        }
    }};
}
pub(crate) use invalidate_user_keys;

pub(crate) fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Parse a notification payload: empty means "everything".
pub fn parse_payload(payload: &str) -> Option<KeyDigest> {
    if payload.len() != 64 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..32)
        .map(|i| u8::from_str_radix(payload.get(2 * i..2 * i + 2)?, 16).ok())
        .collect();
    bytes.and_then(|b| KeyDigest::from_slice(&b))
}

/// One invalidation: `None` = everything.
pub type Invalidation = (i64, Option<KeyDigest>);

impl Store {
    /// The newest invalidation id (0 when there is none).
    pub async fn latest_invalidation(&self) -> Result<i64> {
        let (id,): (Option<i64>,) = with_pool!(self, pool => {
            sqlx::query_as("SELECT MAX(id) FROM key_invalidations").fetch_one(pool).await?
        });
        Ok(id.unwrap_or(0))
    }

    /// Invalidations after `after`, oldest first.
    pub async fn invalidations_since(&self, after: i64) -> Result<Vec<Invalidation>> {
        let rows: Vec<(i64, Option<Vec<u8>>)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT id, digest FROM key_invalidations WHERE id > $1 ORDER BY id")
                .bind(after)
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, d)| (id, d.and_then(|d| KeyDigest::from_slice(&d))))
            .collect())
    }

    /// Delete invalidation rows older than `before` (they have long been seen).
    pub async fn prune_invalidations(&self, before: i64) -> Result<u64> {
        let done = with_writer!(self, pool => {
            sqlx::query("DELETE FROM key_invalidations WHERE created_at < $1 AND id < (SELECT MAX(id) FROM key_invalidations)")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done)
    }
}
