//! Rate limits with Zulip's semantics: each rule is (window seconds, max requests) and an
//! entity is limited while it has `max` recorded requests inside the window; the wait is until
//! the oldest of them leaves it.
//!
//! Written by hand rather than with `governor`: Zulip's limiter is a sliding log, not GCRA, its
//! history must be clearable per key ("a successful login clears the history"), and the exact
//! `retry-after` it reports follows from the log. In-process: with several nodes each node
//! counts on its own (documented in ARCHITECTURE.md as the multi-node follow-up).

use crate::Config;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// What a check found, for `X-RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimitInfo {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the window frees up.
    pub reset_after: f64,
}

/// One sliding-log limiter. Requests inside the same millisecond share one log entry (with a
/// count), so the log of a key holds at most one entry per millisecond of the window however
/// high the limit is.
#[derive(Debug)]
pub struct RateLimiter<K = String> {
    window_micros: i64,
    max: u32,
    log: Mutex<HashMap<K, Log>>,
}

/// A key's history: (time of the first request in a millisecond, requests in it), oldest first.
#[derive(Debug, Default)]
struct Log {
    entries: VecDeque<(i64, u32)>,
    total: u32,
}

impl Log {
    fn oldest(&self, now: i64) -> i64 {
        self.entries.front().map_or(now, |e| e.0)
    }

    fn newest(&self) -> Option<i64> {
        self.entries.back().map(|e| e.0)
    }

    fn push(&mut self, now: i64) {
        match self.entries.back_mut() {
            Some((t, n)) if *t / 1000 == now / 1000 => *n += 1,
            _ => self.entries.push_back((now, 1)),
        }
        self.total += 1;
    }
}

impl<K: std::hash::Hash + Eq> RateLimiter<K> {
    /// A limiter allowing `max` events per `window_secs`.
    pub fn new(window_secs: u64, max: u32) -> RateLimiter<K> {
        RateLimiter {
            window_micros: window_secs as i64 * 1_000_000,
            max,
            log: Mutex::new(HashMap::new()),
        }
    }

    fn with_log<T>(&self, f: impl FnOnce(&mut HashMap<K, Log>) -> T) -> T {
        let mut guard = self
            .log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }

    fn trim(&self, log: &mut Log, now: i64) {
        while let Some(&(t, n)) = log.entries.front()
            && t <= now - self.window_micros
        {
            log.entries.pop_front();
            log.total -= n;
        }
    }

    /// Seconds to wait if `key` is limited now, without recording anything.
    pub fn limited<Q>(&self, key: &Q, now: i64) -> Option<f64>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.with_log(|logs| {
            let log = logs.get_mut(key)?;
            self.trim(log, now);
            self.wait(log, now)
        })
    }

    fn wait(&self, log: &Log, now: i64) -> Option<f64> {
        if log.total >= self.max {
            Some(((log.oldest(now) + self.window_micros - now) as f64 / 1e6).max(0.0))
        } else {
            None
        }
    }

    /// Record an event for `key` unless it is limited; `Err(retry_after)` when limited.
    pub fn hit<Q>(&self, key: &Q, now: i64) -> Result<RateLimitInfo, f64>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.with_log(|logs| {
            // Bound memory: forget idle keys now and then.
            if logs.len() > 100_000 {
                logs.retain(|_, l| l.newest().is_some_and(|t| t > now - self.window_micros));
            }
            let log = match logs.get_mut(key) {
                Some(log) => log,
                None => logs.entry(key.to_owned()).or_default(),
            };
            self.trim(log, now);
            if let Some(wait) = self.wait(log, now) {
                return Err(wait);
            }
            log.push(now);
            Ok(RateLimitInfo {
                limit: self.max,
                remaining: self.max.saturating_sub(log.total),
                reset_after: (log.oldest(now) + self.window_micros - now) as f64 / 1e6,
            })
        })
    }

    /// Forget `key`'s history.
    pub fn clear<Q>(&self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.with_log(|logs| logs.remove(key));
    }
}

impl crate::App {
    /// Count one authenticated request against Zulip's `api_by_user` limit: the numbers for
    /// the `X-RateLimit-*` headers, or how long to wait.
    pub fn hit_api_rate_limit(&self, user_id: i64) -> Result<RateLimitInfo, RateLimitInfo> {
        let limiter = &self.inner.limits.api_by_user;
        let now = self.now();
        limiter.hit(&user_id, now).map_err(|wait| RateLimitInfo {
            limit: limiter.max,
            remaining: 0,
            reset_after: wait,
        })
    }
}

/// A sliding-log limiter whose log lives in the store, so every node counts the same
/// attempts (logins, password resets, emails). Slower than [`RateLimiter`]; used only on paths
/// that already do an Argon2 hash or send an email.
#[derive(Debug)]
pub(crate) struct SharedLimiter {
    domain: &'static str,
    window_micros: i64,
    max: u32,
}

impl SharedLimiter {
    pub fn new(domain: &'static str, (window_secs, max): (u64, u32)) -> SharedLimiter {
        SharedLimiter {
            domain,
            window_micros: window_secs as i64 * 1_000_000,
            max,
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}:{}", self.domain, key.to_lowercase())
    }

    fn wait(&self, oldest: i64, now: i64) -> f64 {
        ((oldest + self.window_micros - now) as f64 / 1e6).max(0.0)
    }

    /// Record an attempt unless limited: `Err(retry_after)` when limited.
    pub async fn hit(
        &self,
        store: &tessera_store::Store,
        key: &str,
        now: i64,
    ) -> crate::Result<Result<(), f64>> {
        let limited = store
            .rate_limit_hit(
                &self.key(key),
                now,
                now - self.window_micros,
                i64::from(self.max),
            )
            .await?;
        Ok(match limited {
            Some(oldest) => Err(self.wait(oldest, now)),
            None => Ok(()),
        })
    }

    /// Seconds to wait if limited now, without counting.
    pub async fn limited(
        &self,
        store: &tessera_store::Store,
        key: &str,
        now: i64,
    ) -> crate::Result<Option<f64>> {
        Ok(store
            .rate_limit_peek(
                &self.key(key),
                now - self.window_micros,
                i64::from(self.max),
            )
            .await?
            .map(|oldest| self.wait(oldest, now)))
    }

    /// Forget the key's history.
    pub async fn clear(&self, store: &tessera_store::Store, key: &str) -> crate::Result<()> {
        Ok(store.rate_limit_clear(&self.key(key)).await?)
    }
}

/// The limiters the use-cases apply.
#[derive(Debug)]
pub(crate) struct Limits {
    /// Zulip's `authenticate_by_username`, keyed by the username as typed (shared).
    pub auth_by_username: SharedLimiter,
    /// Failed password attempts per client IP (shared).
    pub auth_failures_by_ip: SharedLimiter,
    /// Zulip's `password_reset_form_by_email`, two windows (shared).
    pub reset_by_email_hour: SharedLimiter,
    pub reset_by_email_day: SharedLimiter,
    /// Zulip's `sends_email_by_ip` (shared).
    pub emails_by_ip: SharedLimiter,
    /// Zulip's `api_by_user`.
    pub api_by_user: RateLimiter<i64>,
}

impl Limits {
    pub fn new(config: &Config) -> Limits {
        Limits {
            auth_by_username: SharedLimiter::new("auth_by_username", config.auth_by_username),
            auth_failures_by_ip: SharedLimiter::new(
                "auth_failures_by_ip",
                config.auth_failures_by_ip,
            ),
            reset_by_email_hour: SharedLimiter::new(
                "reset_by_email_hour",
                config.reset_by_email[0],
            ),
            reset_by_email_day: SharedLimiter::new("reset_by_email_day", config.reset_by_email[1]),
            emails_by_ip: SharedLimiter::new("emails_by_ip", config.emails_by_ip),
            api_by_user: RateLimiter::new(config.api_by_user.0, config.api_by_user.1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_log() {
        let l = RateLimiter::new(60, 2);
        let t0 = 1_000_000_000;
        assert_eq!(l.hit("a", t0).map(|i| i.remaining), Ok(1));
        assert_eq!(l.hit("a", t0 + 10_000_000).map(|i| i.remaining), Ok(0));
        let wait = l.hit("a", t0 + 20_000_000).err().unwrap_or_default();
        assert!((wait - 40.0).abs() < 1e-6, "{wait}");
        assert!(l.hit("b", t0).is_ok(), "keys are independent");
        assert!(
            l.hit("a", t0 + 60_000_001).is_ok(),
            "oldest left the window"
        );
        l.clear("a");
        assert_eq!(l.limited("a", t0 + 60_000_002), None);
    }

    #[test]
    fn requests_in_one_millisecond_share_an_entry() {
        let l = RateLimiter::new(60, 1_000_000);
        let t0 = 5_000_000_000;
        for i in 0..10_000 {
            // 10 requests per millisecond for a second.
            assert!(l.hit("a", t0 + i * 100).is_ok());
        }
        let info = l
            .hit("a", t0 + 1_000_000)
            .unwrap_or_else(|_| panic!("limited"));
        assert_eq!(info.remaining, 1_000_000 - 10_001);
        let entries = l.with_log(|logs| logs["a"].entries.len());
        assert_eq!(entries, 1_001, "one entry per millisecond");
        // They leave the window together with their millisecond.
        let small = RateLimiter::new(1, 3);
        assert!(small.hit("k", t0).is_ok());
        assert!(small.hit("k", t0 + 10).is_ok());
        assert!(small.hit("k", t0 + 20).is_ok());
        assert!(small.hit("k", t0 + 30).is_err());
        assert!(small.hit("k", t0 + 1_000_001).is_ok());
    }
}
