//! The key cache: lookup digest → principal, so the hot path of every API request is one
//! in-memory hit.
//!
//! Duties (Zulip's, keyed by digest instead of key): evict the old digest on rotation, evict on
//! deactivation, role and realm changes, and drop any negative entry for a newly assigned key.
//! Changes made by *other* processes (the CLI beside a server, other nodes) arrive as rows in
//! `key_invalidations`: on SQLite the cache checks for new rows before trusting a hit; on
//! PostgreSQL a LISTEN task evicts as notifications arrive and clears everything if its
//! connection drops (notifications sent meanwhile are lost).

use crate::auth::Principal;
use crate::{AppError, Result};
use moka::future::Cache;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tessera_core::KeyDigest;
use tessera_store::{Engine, Store};

/// Positive entries live at most this long even without an invalidation: the bound on how
/// long a revoked key could outlive a lost notification (every other path evicts at once).
const POSITIVE_TTL: Duration = Duration::from_secs(30);
/// Negative entries (unknown keys) are short-lived: a hammering client stays cheap, and a new
/// key is never refused for long even if an eviction were missed.
const NEGATIVE_TTL: Duration = Duration::from_secs(30);

/// Cache of digest → principal, with negative caching.
#[derive(Clone)]
pub struct KeyCache {
    store: Store,
    positive: Cache<[u8; 32], Principal>,
    negative: Cache<[u8; 32], ()>,
    /// Newest `key_invalidations` id applied (SQLite polling).
    seen: Arc<AtomicI64>,
    /// Set once a PostgreSQL listener is running, so hits need no polling.
    listening: Arc<std::sync::atomic::AtomicBool>,
    hits: Option<prometheus::IntCounter>,
    misses: Option<prometheus::IntCounter>,
}

impl KeyCache {
    pub(crate) fn new(store: Store, capacity: u64) -> KeyCache {
        KeyCache {
            store,
            positive: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(POSITIVE_TTL)
                .build(),
            negative: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(NEGATIVE_TTL)
                .build(),
            seen: Arc::new(AtomicI64::new(-1)),
            listening: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            hits: None,
            misses: None,
        }
    }

    /// Count hits and misses in these metrics.
    pub(crate) fn with_counters(
        mut self,
        hits: prometheus::IntCounter,
        misses: prometheus::IntCounter,
    ) -> KeyCache {
        self.hits = Some(hits);
        self.misses = Some(misses);
        self
    }

    /// Look a digest up, loading from the store on a miss.
    pub async fn get(&self, digest: &KeyDigest) -> Result<Option<Principal>> {
        self.sync().await?;
        if let Some(p) = self.positive.get(&digest.0).await {
            self.hits.as_ref().inspect(|c| c.inc());
            return Ok(Some(p));
        }
        if self.negative.contains_key(&digest.0) {
            self.hits.as_ref().inspect(|c| c.inc());
            return Ok(None);
        }
        self.misses.as_ref().inspect(|c| c.inc());
        match self.store.auth_by_digest(&digest.0).await? {
            Some(row) => {
                let p = Principal::from_row(&row)
                    .ok_or_else(|| AppError::Internal("bad role or bot type in store".into()))?;
                self.positive.insert(digest.0, p.clone()).await;
                Ok(Some(p))
            }
            None => {
                self.negative.insert(digest.0, ()).await;
                Ok(None)
            }
        }
    }

    /// Drop a digest's entries (positive and negative).
    pub async fn evict(&self, digest: &[u8]) {
        if let Ok(d) = <[u8; 32]>::try_from(digest) {
            self.positive.invalidate(&d).await;
            self.negative.invalidate(&d).await;
        }
    }

    /// Drop everything.
    pub fn evict_all(&self) {
        self.positive.invalidate_all();
        self.negative.invalidate_all();
    }

    /// Apply invalidations written since the last look (polling mode).
    async fn sync(&self) -> Result<()> {
        if self.listening.load(Ordering::Acquire) {
            return Ok(());
        }
        let latest = self.store.latest_invalidation().await?;
        let seen = self.seen.load(Ordering::Acquire);
        if seen < 0 {
            // First use: nothing is cached yet, so older rows are irrelevant.
            self.seen.fetch_max(latest, Ordering::AcqRel);
            return Ok(());
        }
        if latest > seen {
            for (_, digest) in self.store.invalidations_since(seen).await? {
                match digest {
                    Some(d) => self.evict(&d.0).await,
                    None => self.evict_all(),
                }
            }
            self.seen.fetch_max(latest, Ordering::AcqRel);
        }
        Ok(())
    }

    /// On PostgreSQL, start a task that evicts digests as other nodes announce them. Returns
    /// `false` (and keeps polling) on SQLite.
    pub async fn start_listener(&self) -> bool {
        if self.store.engine() != Engine::Postgres {
            return false;
        }
        let Some(pool) = self.store.pg_pool().cloned() else {
            return false;
        };
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "could not LISTEN for key invalidations; polling instead");
                return false;
            }
        };
        if let Err(e) = listener.listen(tessera_store::NOTIFY_CHANNEL).await {
            tracing::warn!(error = %e, "could not LISTEN for key invalidations; polling instead");
            return false;
        }
        self.listening.store(true, Ordering::Release);
        let cache = self.clone();
        tokio::spawn(async move {
            loop {
                match listener.try_recv().await {
                    Ok(Some(n)) => match tessera_store::parse_payload(n.payload()) {
                        Some(d) => cache.evict(&d.0).await,
                        None => cache.evict_all(),
                    },
                    // The connection dropped and was re-established: anything sent meanwhile
                    // is lost, so forget everything.
                    Ok(None) => cache.evict_all(),
                    Err(e) => {
                        tracing::warn!(error = %e, "key invalidation listener failed; polling");
                        cache.evict_all();
                        cache.listening.store(false, Ordering::Release);
                        return;
                    }
                }
            }
        });
        true
    }
}
