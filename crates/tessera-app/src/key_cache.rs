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

/// The cache's key for a digest: its first 64 bits. Entries also keep the next 64 bits
/// ([`check_of`]) and a lookup must match both, so two keys are confused only if 128 bits of
/// their keyed digests agree (2⁻¹²⁸); splitting them keeps the table's key 8-byte aligned,
/// which a `u128` key (16-byte alignment) padded every slot for.
type CacheKey = u64;

fn cache_key(digest: &[u8]) -> CacheKey {
    half(digest, 0)
}

/// The second 64 bits of a digest, kept in the entry.
fn check_of(digest: &[u8]) -> u64 {
    half(digest, 8)
}

fn half(digest: &[u8], at: usize) -> u64 {
    let mut bytes = [0u8; 8];
    if let Some(part) = digest.get(at..at + 8) {
        bytes.copy_from_slice(part);
    }
    u64::from_le_bytes(bytes)
}

/// Seconds since this cache was made (a compact load time for entries).
fn secs_since(epoch: Instant) -> u32 {
    u32::try_from(epoch.elapsed().as_secs()).unwrap_or(u32::MAX)
}

/// A cached principal, packed, and when it was loaded: 72 bytes inline plus one heap string
/// (the delivery email followed by the realm's subdomain, usually empty). The account key's
/// entry carries no grant; any other key's grant is boxed beside it, compactly.
#[derive(Clone)]
struct Entry {
    /// The digest's second 64 bits (the first are the table's key).
    check: u64,
    user_id: i64,
    realm_id: i64,
    generation: u64,
    /// `delivery_email` then `realm_string_id`, split at `email_len`.
    names: Box<str>,
    /// `None`: the plain account key ([`KeyGrant::ACCOUNT`]).
    grant: Option<Box<CachedGrant>>,
    loaded: u32,
    email_len: u16,
    role: Role,
    bot_type: Option<BotType>,
    is_active: bool,
    realm_deactivated: bool,
}

/// A [`KeyGrant`] as the cache keeps it (sentinels instead of options: 40 bytes).
#[derive(Clone)]
struct CachedGrant {
    /// 0: the account key.
    key_id: i64,
    /// `i64::MAX`: never.
    expires_at: i64,
    /// 0: none.
    retires: i64,
    networks: Option<Arc<tessera_core::Networks>>,
    kind: Option<tessera_core::KeyKind>,
    scope: tessera_core::KeyScope,
}

impl CachedGrant {
    fn of(g: &KeyGrant) -> CachedGrant {
        CachedGrant {
            key_id: g.key_id.unwrap_or(0),
            expires_at: g.expires_at.unwrap_or(i64::MAX),
            retires: g.retires.unwrap_or(0),
            networks: g.networks.clone(),
            kind: g.kind,
            scope: g.scope,
        }
    }

    fn grant(&self) -> KeyGrant {
        KeyGrant {
            key_id: (self.key_id != 0).then_some(self.key_id),
            kind: self.kind,
            scope: self.scope,
            expires_at: (self.expires_at != i64::MAX).then_some(self.expires_at),
            networks: self.networks.clone(),
            retires: (self.retires != 0).then_some(self.retires),
        }
    }
}

impl Entry {
    /// The entry for `p`, or `None` for an email too long to pack (never cached).
    fn new(p: &Principal, check: u64, loaded: u32) -> Option<Entry> {
        let email_len = u16::try_from(p.delivery_email.len()).ok()?;
        Some(Entry {
            check,
            user_id: p.user_id.0,
            realm_id: p.realm_id,
            generation: p.generation,
            names: format!("{}{}", p.delivery_email, p.realm_string_id).into_boxed_str(),
            grant: (!p.grant.is_plain_account()).then(|| Box::new(CachedGrant::of(&p.grant))),
            loaded,
            email_len,
            role: p.role,
            bot_type: p.bot_type,
            is_active: p.is_active,
            realm_deactivated: p.realm_deactivated,
        })
    }

    fn principal(&self) -> Principal {
        let (email, realm) = self
            .names
            .split_at_checked(usize::from(self.email_len))
            .unwrap_or((&self.names, ""));
        Principal {
            user_id: UserId(self.user_id),
            realm_id: self.realm_id,
            realm_string_id: realm.to_owned(),
            delivery_email: email.to_owned(),
            role: self.role,
            is_active: self.is_active,
            realm_deactivated: self.realm_deactivated,
            bot_type: self.bot_type,
            generation: self.generation,
            grant: self
                .grant
                .as_deref()
                .map_or(KeyGrant::ACCOUNT, CachedGrant::grant),
        }
    }
}

/// Cache of digest → principal, with negative caching.
#[derive(Clone)]
pub struct KeyCache {
    store: Store,
    epoch: Instant,
    positive: Arc<Cache<CacheKey, Entry>>,
    /// Unknown digests: (their second 64 bits, when they were looked up).
    negative: Arc<Cache<CacheKey, (u64, u32)>>,
    /// generation of the key entry it was read under → the user's object as JSON text, for
    /// `GET /users/me`. Keyed by entry, not user, so an account used with several keys (named
    /// keys) keeps one profile per key instead of each key overwriting the others'; a
    /// profile whose entry is gone is never read again and ages out with the cache.
    profiles: Arc<Cache<u64, Arc<str>>>,
    generation: Arc<std::sync::atomic::AtomicU64>,
    /// Evictions made so far: a lookup that raced one (the store answered before a revocation
    /// committed, the eviction ran before the answer was cached) does not cache its answer.
    evictions: Arc<std::sync::atomic::AtomicU64>,
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
        let positive = Cache::new(capacity);
        let profiles = Cache::new(capacity);
        // Sized for the whole capacity at once: the tables never grow by doubling, which
        // left the halves they outgrew in the allocator's free lists (RSS that no key uses).
        // The reservation is address space only; pages are touched as entries arrive
        // (`bench/key_memory.py`).
        positive.reserve(capacity);
        profiles.reserve(capacity);
        KeyCache {
            store,
            epoch: Instant::now(),
            positive: Arc::new(positive),
            negative: Arc::new(Cache::new(capacity)),
            profiles: Arc::new(profiles),
            generation: Arc::new(std::sync::atomic::AtomicU64::new(1)),
            evictions: Arc::new(std::sync::atomic::AtomicU64::new(0)),
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
        let check = check_of(&digest.0);
        if let Some(e) = self.positive.get(&key)
            && e.check == check
        {
            if u64::from(now.saturating_sub(e.loaded)) < POSITIVE_TTL.as_secs() {
                self.hits.as_ref().inspect(|c| c.inc());
                return Ok(Some(e.principal()));
            }
            self.positive.remove(&key);
        }
        if let Some((at_check, at)) = self.negative.get(&key)
            && at_check == check
        {
            if u64::from(now.saturating_sub(at)) < NEGATIVE_TTL.as_secs() {
                self.hits.as_ref().inspect(|c| c.inc());
                return Ok(None);
            }
            self.negative.remove(&key);
        }
        self.misses.as_ref().inspect(|c| c.inc());
        let evictions = self.evictions.load(Ordering::Acquire);
        let row = self.store.auth_by_digest(&digest.0).await?;
        // An eviction meanwhile may be about this very key: answer this request with what
        // the store said, but do not keep it.
        let keep = self.evictions.load(Ordering::Acquire) == evictions;
        match row {
            Some(row) => {
                let mut p = Principal::from_row(&row)
                    .ok_or_else(|| AppError::Invariant("bad role or bot type in store".into()))?;
                p.generation = self.generation.fetch_add(1, Ordering::Relaxed);
                if keep && let Some(entry) = Entry::new(&p, check, now) {
                    self.positive.insert(key, entry);
                }
                Ok(Some(p))
            }
            None => {
                if keep {
                    self.negative.insert(key, (check, now));
                }
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

    /// Drop a digest's entries (positive and negative; by the table's key, so also another
    /// digest that shares its first 64 bits).
    pub async fn evict(&self, digest: &[u8]) {
        self.evictions.fetch_add(1, Ordering::AcqRel);
        if digest.len() == 32 {
            let key = cache_key(digest);
            self.positive.remove(&key);
            self.negative.remove(&key);
        }
    }

    /// Drop everything (keys, profiles and realms).
    pub fn evict_all(&self) {
        self.evictions.fetch_add(1, Ordering::AcqRel);
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

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::SealedSecret;
    use tessera_store::testing::fresh_store;
    use tessera_store::{Engine, NewUser};

    fn owner(digest: [u8; 32]) -> NewUser {
        NewUser {
            realm_id: 0,
            email: "owner@example.com".into(),
            delivery_email: "owner@example.com".into(),
            full_name: "Owner".into(),
            role: 100,
            bot_type: None,
            bot_owner_id: None,
            password_hash: None,
            key_digest: digest.to_vec(),
            seal_key: Box::new(|_| SealedSecret {
                nonce: vec![0; 24],
                ciphertext: vec![0],
            }),
            service: None,
            timezone: String::new(),
            default_stream_colors: Vec::new(),
        }
    }

    /// Two digests that share the table's key (the first 64 bits) are told apart by the
    /// entry's check, positive and negative: neither is ever served as the other.
    #[tokio::test]
    async fn entries_are_checked_beyond_the_table_key() {
        let mut engines = vec![Engine::Sqlite];
        if std::env::var("TEST_DATABASE_URL").is_ok() {
            engines.push(Engine::Postgres);
        }
        for engine in engines {
            let (store, _guard) = fresh_store(engine).await.unwrap();
            let real = [7u8; 32];
            store
                .bootstrap("", "Org", owner(real), "check", 1)
                .await
                .unwrap();
            let mut twin = real;
            twin[12] ^= 1;
            let cache = KeyCache::new(store, 100);
            let (real, twin) = (KeyDigest(real), KeyDigest(twin));
            assert!(cache.get(&real).await.unwrap().is_some());
            assert!(cache.get(&twin).await.unwrap().is_none(), "{engine:?}");
            // Asked again, the twin is answered by its own negative entry, and that entry does
            // not hide the real key.
            assert!(cache.get(&twin).await.unwrap().is_none());
            let p = cache.get(&real).await.unwrap().unwrap();
            assert_eq!(p.delivery_email, "owner@example.com");
            assert_eq!(p.realm_string_id, "");
            assert_eq!(p.grant, KeyGrant::ACCOUNT);
        }
    }
}
