//! Argon2 work off the async runtime, at most N at once, so a login flood cannot starve the
//! executor threads or exhaust memory (19 MiB per hash).

use crate::{AppError, Result};
use std::sync::Arc;
use tokio::sync::Semaphore;

pub(crate) struct PasswordPool {
    permits: Arc<Semaphore>,
    /// A real hash of a random password: verifying against it costs what a real check costs,
    /// so "no such user" and "wrong password" take the same time.
    dummy: tokio::sync::OnceCell<String>,
    /// Verifications run (real or dummy): the timing-equality property tests check.
    verifications: std::sync::atomic::AtomicU64,
    in_flight: Option<prometheus::IntGauge>,
}

impl PasswordPool {
    pub fn new(concurrency: usize) -> PasswordPool {
        PasswordPool {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy: tokio::sync::OnceCell::new(),
            verifications: std::sync::atomic::AtomicU64::new(0),
            in_flight: None,
        }
    }

    /// Report hashes waiting or running in this gauge.
    pub fn with_gauge(mut self, gauge: prometheus::IntGauge) -> PasswordPool {
        self.in_flight = Some(gauge);
        self
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        self.in_flight.as_ref().inspect(|g| g.inc());
        let result = self.run_inner(f).await;
        self.in_flight.as_ref().inspect(|g| g.dec());
        result
    }

    async fn run_inner<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| AppError::Internal("password pool closed".into()))?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| AppError::Internal(format!("password task: {e}")))
    }

    /// Hash a new password.
    pub async fn hash(&self, password: String) -> Result<String> {
        self.run(move || tessera_core::password::hash_password(&password))
            .await?
            .map_err(|e| AppError::Internal(format!("hashing: {e}")))
    }

    /// Verify `password` against `phc`, or against the dummy hash when there is no user (the
    /// answer is then always `false`).
    pub async fn verify(&self, phc: Option<String>, password: String) -> Result<bool> {
        let real = phc.is_some();
        let phc = match phc {
            Some(p) => p,
            None => self.dummy_hash().await?,
        };
        self.verifications
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ok = self
            .run(move || tessera_core::password::verify_password(&phc, &password))
            .await?;
        Ok(ok && real)
    }

    async fn dummy_hash(&self) -> Result<String> {
        self.dummy
            .get_or_try_init(|| async {
                let random = tessera_core::api_key::random_base62(32);
                self.hash(random).await
            })
            .await
            .cloned()
    }
}

impl crate::App {
    /// How many password verifications (each one Argon2 run) this process has done.
    pub fn password_verifications(&self) -> u64 {
        self.inner
            .passwords
            .verifications
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}
