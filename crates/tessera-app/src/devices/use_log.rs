//! The use log: API clients and web sessions seen using an account, written down at most once
//! a minute per client (or session) so the hot path does not write on every request.

use crate::App;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// How often one client's (or session's) use is written down.
pub const USE_RECORD_INTERVAL_SECS: i64 = 60;

/// A user's clients: (client name, last write).
type ClientUses = Vec<(Box<str>, i64)>;

/// In-memory "last written" times, keyed by (user, client) and by session id.
#[derive(Default)]
pub(crate) struct UseLog {
    /// user → (client name, last write) for each client the user was seen with.
    clients: Mutex<HashMap<i64, ClientUses>>,
    sessions: Mutex<HashMap<i64, i64>>,
    /// key id (of `api_keys`) → last write.
    keys: Mutex<HashMap<i64, i64>>,
    /// key id → last audit row of a refusal for its address.
    refusals: Mutex<HashMap<i64, i64>>,
    writes: AtomicU64,
}

impl UseLog {
    fn due<K: std::hash::Hash + Eq>(map: &Mutex<HashMap<K, i64>>, key: K, now: i64) -> bool {
        let mut m = map.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() > 200_000 {
            m.retain(|_, t| now - *t < USE_RECORD_INTERVAL_SECS * 1_000_000);
        }
        match m.get(&key) {
            Some(t) if now - *t < USE_RECORD_INTERVAL_SECS * 1_000_000 => false,
            _ => {
                m.insert(key, now);
                true
            }
        }
    }

    /// Whether a client use is due for a write (no allocation when it is not).
    fn client_due(&self, user_id: i64, client: &str, now: i64) -> bool {
        let interval = USE_RECORD_INTERVAL_SECS * 1_000_000;
        let mut m = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() > 200_000 {
            m.retain(|_, seen| {
                seen.retain(|(_, t)| now - *t < interval);
                !seen.is_empty()
            });
        }
        let seen = m.entry(user_id).or_default();
        match seen.iter_mut().find(|(name, _)| &**name == client) {
            Some((_, t)) if now - *t < interval => false,
            Some((_, t)) => {
                *t = now;
                true
            }
            None => {
                seen.push((client.into(), now));
                true
            }
        }
    }
}

impl App {
    /// Note that `user_id`'s key was used by `client` (Zulip's client name). Writes at most
    /// once a minute per (user, client).
    pub async fn note_client_use(&self, user_id: i64, client: &str, ip: Option<std::net::IpAddr>) {
        let now = self.now();
        let log = &self.inner.uses;
        if !log.client_due(user_id, client, now) {
            return;
        }
        log.writes.fetch_add(1, Ordering::Relaxed);
        // The address is formatted only when a write is due.
        let ip = ip.map(|a| a.to_string());
        if let Err(e) = self
            .store()
            .touch_api_client(user_id, client, now, ip.as_deref())
            .await
        {
            tracing::warn!(error = %e, "could not record the API client");
        }
    }

    /// Note that a web session was used (at most one write a minute per session).
    pub async fn note_session_use(&self, session_id: i64, ip: Option<std::net::IpAddr>) {
        let now = self.now();
        let log = &self.inner.uses;
        if !UseLog::due(&log.sessions, session_id, now) {
            return;
        }
        log.writes.fetch_add(1, Ordering::Relaxed);
        let ip = ip.map(|a| a.to_string());
        if let Err(e) = self
            .store()
            .touch_session(session_id, now, ip.as_deref())
            .await
        {
            tracing::warn!(error = %e, "could not record the session's use");
        }
    }

    /// Note that a key of `api_keys` was used (time, client, address; at most one write a
    /// minute per key).
    pub async fn note_key_use(&self, key_id: i64, client: &str, ip: Option<std::net::IpAddr>) {
        let now = self.now();
        let log = &self.inner.uses;
        if !UseLog::due(&log.keys, key_id, now) {
            return;
        }
        log.writes.fetch_add(1, Ordering::Relaxed);
        let ip = ip.map(|a| a.to_string());
        if let Err(e) = self
            .store()
            .note_api_key_use(key_id, client, ip.as_deref(), now)
            .await
        {
            tracing::warn!(error = %e, "could not record the key's use");
        }
    }

    /// Audit a key refused for its address (audit 9008 with the key's id and the address; at
    /// most one row a minute per key, whatever the address, so a client retrying in a loop —
    /// or from ever new addresses — cannot fill the log; every refusal is counted in the
    /// metrics).
    pub(crate) async fn note_refused_address(
        &self,
        who: &crate::Principal,
        ip: Option<std::net::IpAddr>,
    ) {
        let Some(key_id) = who.grant.key_id else {
            return;
        };
        let now = self.now();
        if !UseLog::due(&self.inner.uses.refusals, key_id, now) {
            return;
        }
        tracing::warn!(user_id = %who.user_id, key_id, address = ?ip, "an API key was used from outside its allow-list");
        let extra = serde_json::json!({
            "key_id": key_id,
            "address": ip.map(|a| a.to_string()),
        })
        .to_string();
        if let Err(e) = self
            .store()
            .audit(
                who.realm_id,
                None,
                Some(who.user_id.0),
                tessera_store::AuditEvent::ApiKeyAddressRefused,
                now,
                Some(extra),
            )
            .await
        {
            tracing::warn!(error = %e, "could not audit a refused address");
        }
    }

    /// How many use records this process has written (tests check the coalescing).
    pub fn use_record_writes(&self) -> u64 {
        self.inner.uses.writes.load(Ordering::Relaxed)
    }

    /// Forget the in-memory client uses of a user (their client list was cleared).
    pub(crate) fn forget_client_uses(&self, user_id: i64) {
        self.inner
            .uses
            .clients
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&user_id);
    }
}
