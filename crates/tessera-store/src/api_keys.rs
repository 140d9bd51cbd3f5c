//! Keys beside an account's one Zulip key, in the `api_keys` table: named keys (a name, a
//! scope, an optional expiry and allow-list), device keys (one per app login) and a bot's
//! previous key (kept for an overlap window). Only the keyed digest is stored; a key is shown
//! once. Every creation and revocation is audited (9006, 9007) with the key's id, never the
//! key, and a revocation announces the digest for eviction in the same transaction.

use crate::invalidations::insert_invalidation;
use crate::{Result, Store, StoreError, with_pool, with_writer};

/// A key as listed (no digest).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: i64,
    pub user_id: i64,
    /// `named`, `device` or `previous` (`tessera_core::KeyKind`).
    pub kind: String,
    pub name: String,
    pub scope: i64,
    pub created_at: i64,
    pub created_by: i64,
    pub created_address: Option<String>,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// A JSON list of networks (`tessera_core::Networks`); `None`: anywhere.
    pub allowed_networks: Option<String>,
    pub last_used_at: Option<i64>,
    pub last_client: Option<String>,
    pub last_address: Option<String>,
}

/// A key to create.
#[derive(Debug, Clone)]
pub struct NewApiKey<'a> {
    pub user_id: i64,
    pub kind: &'a str,
    pub name: &'a str,
    pub digest: &'a [u8],
    pub scope: i64,
    pub expires_at: Option<i64>,
    pub allowed_networks: Option<&'a str>,
    pub created_address: Option<&'a str>,
    /// Keep at most this many live keys of this kind for the user: the least recently used
    /// beyond it are revoked in the same transaction (device keys: an app that logs in over
    /// and over cannot grow the table without bound).
    pub keep_at_most: Option<i64>,
    /// The key (of `api_keys`) the request that made this one authenticated with: when it is
    /// revoked, this one is too.
    pub made_by_key_id: Option<i64>,
}

/// A named key that expires soon, claimed for its reminder.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ExpiringKey {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub expires_at: i64,
}

pub(crate) const COLUMNS: &str = "id, user_id, kind, name, scope, created_at, created_by, created_address, \
    expires_at, revoked_at, allowed_networks, last_used_at, last_client, last_address";

/// Revoke the live keys of `$user` that `$filter` (SQL over `api_keys`, binding nothing)
/// selects, inside the open transaction `$tx`: each gets `revoked_at`, an audit row 9007 (with
/// `$why`) and an eviction notice; push registrations made by a revoked device key go too, and
/// so, in turn, does every live key made with a revoked one (whoever's it is: a bot's key made
/// with its owner's app login). Evaluates to the revoked keys' digests.
macro_rules! revoke_in {
    ($tx:expr, $user:expr, $filter:expr, $acting:expr, $realm:expr, $why:expr, $now:expr, $is_pg:expr) => {{
        let mut revoked: Vec<(i64, i64, Vec<u8>, String)> = sqlx::query_as(&format!(
            "UPDATE api_keys SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL \
             AND ({}) RETURNING id, user_id, digest, kind",
            $filter
        ))
        .bind($user)
        .bind($now)
        .fetch_all(&mut *$tx)
        .await?;
        let mut why: &str = $why;
        let mut digests = Vec::with_capacity(revoked.len());
        while !revoked.is_empty() {
            let ids: Vec<String> = revoked.iter().map(|r| r.0.to_string()).collect();
            for (id, user, digest, kind) in revoked {
                if kind == "device" {
                    sqlx::query("DELETE FROM push_devices WHERE api_key_id = $1")
                        .bind(id)
                        .execute(&mut *$tx)
                        .await?;
                }
                let extra = serde_json::json!({ "key_id": id, "kind": kind, "why": why }).to_string();
                $crate::audit_log::insert_audit!($tx, $realm, $acting, Some(user), $crate::AuditEvent::ApiKeyRevoked, $now, Some(extra));
                $crate::invalidations::insert_invalidation!($tx, Some(digest.clone()), $now, $is_pg);
                digests.push(digest);
            }
            // The ids are integers from the database: safe to put in the statement.
            revoked = sqlx::query_as(&format!(
                "UPDATE api_keys SET revoked_at = $1 WHERE revoked_at IS NULL \
                 AND made_by_key_id IN ({}) RETURNING id, user_id, digest, kind",
                ids.join(", ")
            ))
            .bind($now)
            .fetch_all(&mut *$tx)
            .await?;
            why = "made with a revoked key";
        }
        digests
    }};
}
pub(crate) use revoke_in;

/// Revoke every live key of `$user` beside the account key (see [`revoke_in`]).
macro_rules! revoke_all_in {
    ($tx:expr, $user:expr, $acting:expr, $realm:expr, $why:expr, $now:expr, $is_pg:expr) => {
        $crate::api_keys::revoke_in!(
            $tx,
            $user,
            "TRUE",
            Some($acting),
            $realm,
            $why,
            $now,
            $is_pg
        )
    };
}
pub(crate) use revoke_all_in;

/// Insert a key row inside the open transaction `$tx` (audit 9006 by `$acting`; any negative
/// cache entry of the digest is announced for eviction). Evaluates to the new row.
macro_rules! insert_key_in {
    ($tx:expr, $key:expr, $realm:expr, $acting:expr, $now:expr, $is_pg:expr) => {{
        let key: &$crate::api_keys::NewApiKey<'_> = $key;
        let row = sqlx::query_as::<_, $crate::ApiKeyRow>(&format!(
            "INSERT INTO api_keys (user_id, kind, name, digest, scope, created_at, created_by, \
             expires_at, allowed_networks, created_address, made_by_key_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {}",
            $crate::api_keys::COLUMNS
        ))
        .bind(key.user_id)
        .bind(key.kind)
        .bind(key.name)
        .bind(key.digest)
        .bind(key.scope)
        .bind($now)
        .bind($acting)
        .bind(key.expires_at)
        .bind(key.allowed_networks)
        .bind(key.created_address)
        .bind(key.made_by_key_id)
        .fetch_one(&mut *$tx)
        .await?;
        let extra = serde_json::json!({
            "key_id": row.id,
            "kind": row.kind,
            "name": row.name,
            "scope": row.scope,
            "expires_at": row.expires_at,
            "allowed_networks": row.allowed_networks,
            "made_by_key_id": key.made_by_key_id,
        })
        .to_string();
        $crate::audit_log::insert_audit!($tx, $realm, Some($acting), Some(key.user_id), $crate::AuditEvent::ApiKeyCreated, $now, Some(extra));
        // A negative cache entry for this digest (someone tried it before) must go.
        $crate::invalidations::insert_invalidation!($tx, Some(key.digest.to_vec()), $now, $is_pg);
        row
    }};
}
pub(crate) use insert_key_in;

impl Store {
    /// Store a new key for `key.user_id` (audit 9006 by `acting`). Returns its row and the
    /// digests of keys revoked to keep within `keep_at_most`.
    pub async fn create_api_key(
        &self,
        key: NewApiKey<'_>,
        acting: i64,
        now: i64,
    ) -> Result<(ApiKeyRow, Vec<Vec<u8>>)> {
        let is_pg = self.is_pg();
        with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            // A write first: SQLite takes its write lock, PostgreSQL the user's row lock, so
            // two logins of one user count their keys one after the other.
            let realm: Option<(i64,)> = sqlx::query_as(
                "UPDATE users SET key_generation = key_generation WHERE id = $1 RETURNING realm_id",
            )
            .bind(key.user_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((realm_id,)) = realm else { return Err(StoreError::NotFound) };
            let row = insert_key_in!(tx, &key, realm_id, acting, now, is_pg);
            let mut dropped = Vec::new();
            if let Some(keep) = key.keep_at_most {
                // The kind is one of tessera's fixed names and the numbers are integers:
                // nothing here comes from a request.
                let kind = key.kind.replace('\'', "");
                let filter = format!(
                    "kind = '{kind}' AND id NOT IN (SELECT id FROM api_keys WHERE user_id = {user} \
                     AND kind = '{kind}' AND revoked_at IS NULL \
                     ORDER BY COALESCE(last_used_at, created_at) DESC, id DESC LIMIT {keep})",
                    user = key.user_id,
                );
                dropped = revoke_in!(tx, key.user_id, filter, Some(acting), realm_id, "too many signed-in devices", now, is_pg);
            }
            tx.commit().await?;
            Ok((row, dropped))
        })
    }

    /// The keys of a user beside the account key, newest first; revoked ones only if
    /// `include_revoked`.
    pub async fn api_keys(&self, user_id: i64, include_revoked: bool) -> Result<Vec<ApiKeyRow>> {
        let filter = if include_revoked {
            ""
        } else {
            " AND revoked_at IS NULL"
        };
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, ApiKeyRow>(&format!(
                "SELECT {COLUMNS} FROM api_keys WHERE user_id = $1{filter} ORDER BY id DESC"
            ))
            .bind(user_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// One key of a user (live or not).
    pub async fn api_key(&self, user_id: i64, key_id: i64) -> Result<Option<ApiKeyRow>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, ApiKeyRow>(&format!(
                "SELECT {COLUMNS} FROM api_keys WHERE user_id = $1 AND id = $2"
            ))
            .bind(user_id)
            .bind(key_id)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Revoke one live key of `user_id` and every key made with it (audit 9007 by `acting`,
    /// eviction announced; a device key's push registrations removed). Returns their digests,
    /// the key's first; empty when the user has no such live key. `also_evict`: another
    /// digest to announce in the same transaction (a bot's new account key, once its previous
    /// key is retired).
    pub async fn revoke_api_key(
        &self,
        user_id: i64,
        key_id: i64,
        acting: Option<i64>,
        why: &str,
        now: i64,
        also_evict: Option<&[u8]>,
    ) -> Result<Vec<Vec<u8>>> {
        let is_pg = self.is_pg();
        with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            let realm: Option<(i64,)> = sqlx::query_as("SELECT realm_id FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((realm_id,)) = realm else { return Ok(Vec::new()) };
            // The id is an integer: safe to put in the filter.
            let filter = format!("id = {key_id}");
            let revoked = revoke_in!(tx, user_id, filter, acting, realm_id, why, now, is_pg);
            if revoked.is_empty() {
                return Ok(revoked);
            }
            if let Some(other) = also_evict {
                insert_invalidation!(tx, Some(other.to_vec()), now, is_pg);
            }
            tx.commit().await?;
            Ok(revoked)
        })
    }

    /// Remember a key's last use (time, client name, address).
    pub async fn note_api_key_use(
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

    /// Claim the live named keys that expire after `now` and no later than `until`, were made
    /// to live longer than `min_lifetime`, and whose owner was not yet reminded: each is marked
    /// reminded in the same statement, so of several nodes only one sends each reminder.
    pub async fn claim_expiring_keys(
        &self,
        now: i64,
        until: i64,
        min_lifetime: i64,
    ) -> Result<Vec<ExpiringKey>> {
        Ok(with_writer!(self, pool => {
            sqlx::query_as::<_, ExpiringKey>(
                "UPDATE api_keys SET expiry_reminded_at = $1 WHERE kind = 'named' \
                 AND revoked_at IS NULL AND expiry_reminded_at IS NULL \
                 AND expires_at > $1 AND expires_at <= $2 AND expires_at - created_at > $3 \
                 RETURNING id, user_id, name, expires_at",
            )
            .bind(now)
            .bind(until)
            .bind(min_lifetime)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Give a claimed reminder back (its mail could not be sent; the next run tries again).
    pub async fn unclaim_expiry_reminder(&self, key_id: i64) -> Result<()> {
        with_writer!(self, pool => {
            sqlx::query("UPDATE api_keys SET expiry_reminded_at = NULL WHERE id = $1")
                .bind(key_id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
