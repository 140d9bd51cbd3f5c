//! The key cache: lookup digest → principal, so the hot path of every API request is one
//! in-memory hit.
//!
//! Duties (Zulip's, keyed by digest instead of key): evict the old digest on rotation, evict on
//! deactivation, role and realm changes, and drop any negative entry for a newly assigned key.
//! Changes made by *other* processes (the CLI beside a server, other nodes) arrive as rows in
//! `key_invalidations`: on SQLite the cache looks for new rows whenever the database's
//! write-ahead log changed (one `stat`, no query, when nothing was written) and at least once
//! a second; on PostgreSQL a LISTEN task evicts as notifications arrive and clears everything
//! if its connection drops (notifications sent meanwhile are lost). While it cannot reconnect
//! (the database is away), every request polls `key_invalidations` first, so nothing cached
//! is trusted without the store: a request then fails with a 503, it is never let in.
//!
//! The same invalidations also govern two small caches that keep store round trips off the hot
//! path: realms (by subdomain and id; dropped on every "drop everything" invalidation) and the
//! callers' own profiles for `GET /users/me`, each keyed by the generation of the key entry it
//! was read under, so it dies with that entry (a rename, role change or new bot owner writes an
//! invalidation for every digest of the user: account key and named keys).
//!
//! Entries are small on purpose (`quick_cache`, S3-FIFO, no per-entry timers; the principal
//! is stored inline with its load time, and expiry is checked on read): `bench/key_memory.py`
//! measures the bytes per cached key.

use crate::auth::{KeyGrant, Principal};
use crate::{AppError, Result};
use quick_cache::sync::Cache;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tessera_core::{BotType, KeyDigest, Role, UserId};
use tessera_store::{RealmRow, Store};

/// Positive entries live at most this long even without an invalidation: the bound on how
/// long a revoked key could outlive a lost notification (every other path evicts at once).
const POSITIVE_TTL: Duration = Duration::from_secs(30);
/// Negative entries (unknown keys) are short-lived: a hammering client stays cheap, and a new
/// key is never refused for long even if an eviction were missed.
const NEGATIVE_TTL: Duration = Duration::from_secs(30);
/// On SQLite, look for invalidation rows at least this often even when the write-ahead log
/// looks unchanged (its timestamps are coarse, and a reset log can keep its size).
const POLL_BOUND: Duration = Duration::from_secs(1);

/// Cached realms, by subdomain and by id, each with the time it was read.
#[derive(Default)]
struct Realms {
    by_string_id: HashMap<String, (RealmRow, Instant)>,
    by_id: HashMap<i64, (RealmRow, Instant)>,
}

/// What `stat` said of the SQLite write-ahead log at the last poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WalStamp {
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

/// The SQLite write-ahead log, held open so that looking at it is one `fstat` (no path walk).
struct WalWatch {
    path: std::path::PathBuf,
    file: Mutex<Option<std::fs::File>>,
}

impl WalWatch {
    fn stamp(&self) -> Option<WalStamp> {
        use std::os::unix::fs::MetadataExt;
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        for _ in 0..2 {
            if file.is_none() {
                *file = std::fs::File::open(&self.path).ok();
            }
            let m = file.as_ref()?.metadata().ok()?;
            // Deleted (the last connection closed it) and perhaps made anew: open it again.
            if m.nlink() == 0 {
                *file = None;
                continue;
            }
            return Some(WalStamp {
                ino: m.ino(),
                len: m.len(),
                mtime: (m.mtime(), m.mtime_nsec()),
                ctime: (m.ctime(), m.ctime_nsec()),
            });
        }
        None
    }
}

/// The cache's key for a digest: its first 128 bits. The digest is already a keyed hash, so a
/// clash between two keys' prefixes (2⁻¹²⁸) is not a concern, and half the bytes per entry are
/// saved.
type CacheKey = u128;

fn cache_key(digest: &[u8]) -> CacheKey {
    let mut prefix = [0u8; 16];
    if let Some(head) = digest.get(..16) {
        prefix.copy_from_slice(head);
    }
    u128::from_le_bytes(prefix)
}

/// Seconds since this cache was made (a compact load time for entries).
fn secs_since(epoch: Instant) -> u32 {
    u32::try_from(epoch.elapsed().as_secs()).unwrap_or(u32::MAX)
}

/// A cached principal, packed (boxed strings, one byte per enum and flag), and when it was
/// loaded: 72 bytes inline plus the email's bytes. The account key's entry carries no grant;
/// any other key's grant (id, kind, scope, expiry, allow-list) is boxed beside it.
#[derive(Clone)]
struct Entry {
    user_id: i64,
    realm_id: i64,
    generation: u64,
    realm_string_id: Box<str>,
    delivery_email: Box<str>,
    /// `None`: the plain account key ([`KeyGrant::ACCOUNT`]).
    grant: Option<Box<KeyGrant>>,
    loaded: u32,
    role: Role,
    bot_type: Option<BotType>,
    is_active: bool,
    realm_deactivated: bool,
}

impl Entry {
    fn new(p: &Principal, loaded: u32) -> Entry {
        Entry {
            user_id: p.user_id.0,
            realm_id: p.realm_id,
            generation: p.generation,
            realm_string_id: p.realm_string_id.as_str().into(),
            delivery_email: p.delivery_email.as_str().into(),
            grant: (!p.grant.is_plain_account()).then(|| Box::new(p.grant.clone())),
            loaded,
            role: p.role,
            bot_type: p.bot_type,
            is_active: p.is_active,
            realm_deactivated: p.realm_deactivated,
        }
    }

    fn principal(&self) -> Principal {
        Principal {
            user_id: UserId(self.user_id),
            realm_id: self.realm_id,
            realm_string_id: self.realm_string_id.to_string(),
            delivery_email: self.delivery_email.to_string(),
            role: self.role,
            is_active: self.is_active,
            realm_deactivated: self.realm_deactivated,
            bot_type: self.bot_type,
            generation: self.generation,
            grant: self.grant.as_deref().cloned().unwrap_or(KeyGrant::ACCOUNT),
        }
    }
}

/// Cache of digest → principal, with negative caching.
#[derive(Clone)]
pub struct KeyCache {
    store: Store,
    epoch: Instant,
    positive: Arc<Cache<CacheKey, Entry>>,
    /// Unknown digests, with when they were looked up.
    negative: Arc<Cache<CacheKey, u32>>,
    /// generation of the key entry it was read under → the user's object as JSON text, for
    /// `GET /users/me`. Keyed by entry, not user, so an account used with several keys (named
    /// keys) keeps one profile per key instead of each key overwriting the others'; a
    /// profile whose entry is gone is never read again and ages out with the cache.
    profiles: Arc<Cache<u64, Arc<str>>>,
    generation: Arc<std::sync::atomic::AtomicU64>,
    /// Newest `key_invalidations` id applied (SQLite polling).
    seen: Arc<AtomicI64>,
    /// Set once a PostgreSQL listener is running, so hits need no polling.
    listening: Arc<std::sync::atomic::AtomicBool>,
    /// The SQLite write-ahead log, and what it looked like when last polled.
    wal: Option<Arc<WalWatch>>,
    last_poll: Arc<Mutex<Option<(WalStamp, Instant)>>>,
    realms: Arc<RwLock<Realms>>,
    /// Queries of `key_invalidations` made (tests check that cache hits skip them).
    polls: Arc<std::sync::atomic::AtomicU64>,
    hits: Option<prometheus::IntCounter>,
    misses: Option<prometheus::IntCounter>,
}

impl KeyCache {
    pub(crate) fn new(store: Store, capacity: u64) -> KeyCache {
        let wal = store.sqlite_wal_file().map(|path| {
            Arc::new(WalWatch {
                path,
                file: Mutex::new(None),
            })
        });
        let capacity = usize::try_from(capacity.max(1)).unwrap_or(usize::MAX);
        KeyCache {
            store,
            epoch: Instant::now(),
            positive: Arc::new(Cache::new(capacity)),
            negative: Arc::new(Cache::new(capacity)),
            profiles: Arc::new(Cache::new(capacity)),
            generation: Arc::new(std::sync::atomic::AtomicU64::new(1)),
            seen: Arc::new(AtomicI64::new(-1)),
            listening: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            wal,
            last_poll: Arc::new(Mutex::new(None)),
            realms: Arc::new(RwLock::new(Realms::default())),
            polls: Arc::new(std::sync::atomic::AtomicU64::new(0)),
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
        let now = secs_since(self.epoch);
        let key = cache_key(&digest.0);
        if let Some(e) = self.positive.get(&key) {
            if u64::from(now.saturating_sub(e.loaded)) < POSITIVE_TTL.as_secs() {
                self.hits.as_ref().inspect(|c| c.inc());
                return Ok(Some(e.principal()));
            }
            self.positive.remove(&key);
        }
        if let Some(at) = self.negative.get(&key) {
            if u64::from(now.saturating_sub(at)) < NEGATIVE_TTL.as_secs() {
                self.hits.as_ref().inspect(|c| c.inc());
                return Ok(None);
            }
            self.negative.remove(&key);
        }
        self.misses.as_ref().inspect(|c| c.inc());
        match self.store.auth_by_digest(&digest.0).await? {
            Some(row) => {
                let mut p = Principal::from_row(&row)
                    .ok_or_else(|| AppError::Invariant("bad role or bot type in store".into()))?;
                p.generation = self.generation.fetch_add(1, Ordering::Relaxed);
                self.positive.insert(key, Entry::new(&p, now));
                Ok(Some(p))
            }
            None => {
                self.negative.insert(key, now);
                Ok(None)
            }
        }
    }

    /// The caller's cached user object, if it was read under this same key entry.
    pub(crate) fn profile(&self, who: &Principal) -> Option<Arc<str>> {
        if who.generation == 0 {
            return None;
        }
        self.profiles.get(&who.generation)
    }

    /// Keep the caller's user object for as long as the key entry it was read under lives.
    pub(crate) fn remember_profile(&self, who: &Principal, json: Arc<str>) {
        if who.generation != 0 {
            self.profiles.insert(who.generation, json);
        }
    }

    /// Drop a digest's entries (positive and negative).
    pub async fn evict(&self, digest: &[u8]) {
        if digest.len() == 32 {
            let key = cache_key(digest);
            self.positive.remove(&key);
            self.negative.remove(&key);
        }
    }

    /// Drop everything (keys, profiles and realms).
    pub fn evict_all(&self) {
        self.positive.clear();
        self.negative.clear();
        self.profiles.clear();
        *self.realms.write().unwrap_or_else(|p| p.into_inner()) = Realms::default();
    }

    /// The realm served at `string_id`, from the cache when it is fresh.
    pub async fn realm_by_string_id(&self, string_id: &str) -> Result<Option<RealmRow>> {
        self.sync().await?;
        if let Some((row, at)) = self.realms_read().by_string_id.get(string_id)
            && at.elapsed() < POSITIVE_TTL
        {
            return Ok(Some(row.clone()));
        }
        let row = self.store.realm_by_string_id(string_id).await?;
        if let Some(row) = &row {
            self.remember_realm(row.clone());
        }
        Ok(row)
    }

    /// The realm with this id, from the cache when it is fresh.
    pub async fn realm_by_id(&self, id: i64) -> Result<RealmRow> {
        self.sync().await?;
        if let Some((row, at)) = self.realms_read().by_id.get(&id)
            && at.elapsed() < POSITIVE_TTL
        {
            return Ok(row.clone());
        }
        let row = self.store.realm_by_id(id).await?;
        self.remember_realm(row.clone());
        Ok(row)
    }

    fn realms_read(&self) -> std::sync::RwLockReadGuard<'_, Realms> {
        self.realms.read().unwrap_or_else(|p| p.into_inner())
    }

    fn remember_realm(&self, row: RealmRow) {
        let now = Instant::now();
        let mut realms = self.realms.write().unwrap_or_else(|p| p.into_inner());
        realms
            .by_string_id
            .insert(row.string_id.clone(), (row.clone(), now));
        realms.by_id.insert(row.id, (row, now));
    }

    /// Whether a poll can be skipped: the SQLite log is unchanged since a recent poll.
    fn unchanged_since_last_poll(&self, stamp: Option<WalStamp>) -> bool {
        let Some(stamp) = stamp else {
            return false;
        };
        let last = self.last_poll.lock().unwrap_or_else(|p| p.into_inner());
        matches!(*last, Some((s, at)) if s == stamp && at.elapsed() < POLL_BOUND)
    }

    /// Apply invalidations written since the last look (polling mode).
    async fn sync(&self) -> Result<()> {
        if self.listening.load(Ordering::Acquire) {
            return Ok(());
        }
        // Stat before querying: a commit after this point changes the log and is seen by the
        // next request's stat.
        let stamp = self.wal.as_deref().and_then(WalWatch::stamp);
        if self.unchanged_since_last_poll(stamp) {
            return Ok(());
        }
        self.poll().await?;
        if let Some(stamp) = stamp {
            *self.last_poll.lock().unwrap_or_else(|p| p.into_inner()) =
                Some((stamp, Instant::now()));
        }
        Ok(())
    }

    /// How many times this cache has queried `key_invalidations`.
    pub fn polls(&self) -> u64 {
        self.polls.load(Ordering::Relaxed)
    }

    async fn poll(&self) -> Result<()> {
        self.polls.fetch_add(1, Ordering::Relaxed);
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
        let mut listener = match self.store.listen(tessera_store::NOTIFY_CHANNEL).await {
            Ok(Some(l)) => l,
            Ok(None) => return false,
            Err(e) => {
                tracing::warn!(error = %e, "could not LISTEN for key invalidations; polling instead");
                return false;
            }
        };
        self.listening.store(true, Ordering::Release);
        let cache = self.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(250);
            loop {
                match listener.try_recv().await {
                    Ok(Some(n)) => {
                        if !cache.listening.load(Ordering::Acquire) {
                            // Listening again after an outage: catch up on what was written
                            // while polling covered, then trust notifications alone.
                            if cache.poll().await.is_err() {
                                cache.evict_all();
                            }
                            cache.listening.store(true, Ordering::Release);
                            tracing::info!("key invalidation listener is back");
                        }
                        backoff = Duration::from_millis(250);
                        match tessera_store::parse_payload(n.payload()) {
                            Some(d) => cache.evict(&d.0).await,
                            None => cache.evict_all(),
                        }
                    }
                    // The connection dropped and was re-established: anything sent meanwhile
                    // is lost, so forget everything.
                    Ok(None) => cache.evict_all(),
                    // The database is away. Forget everything (fail closed: every key is
                    // looked up again, and refused with a 503 while the store cannot answer),
                    // poll on each request until the listener reconnects, and retry.
                    Err(e) => {
                        if cache.listening.swap(false, Ordering::AcqRel) {
                            tracing::warn!(error = %e, "key invalidation listener lost; polling until it reconnects");
                        }
                        cache.evict_all();
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            }
        });
        true
    }
}
