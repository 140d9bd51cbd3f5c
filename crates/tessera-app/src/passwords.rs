//! Argon2 work off the async runtime, at most N at once, so a login flood cannot starve the
//! executor threads or exhaust memory (19 MiB per hash).
//!
//! The hashes run on the pool's own threads, scheduled `SCHED_IDLE` on Linux: they get the
//! CPU only when no request-serving thread wants it, so a storm of password logins slows
//! down the logins, not the authenticated API. (On a machine kept 100% busy by other work,
//! logins wait until it has a moment to spare.)

use crate::{AppError, Result};
use std::sync::Arc;
use tokio::sync::Semaphore;

type Job = Box<dyn FnOnce() + Send>;

/// Start `n` low-priority worker threads that run jobs from one channel; they end when the
/// returned sender is dropped.
fn start_workers(n: usize) -> std::sync::mpsc::Sender<Job> {
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    let rx = Arc::new(std::sync::Mutex::new(rx));
    for i in 0..n {
        let rx = Arc::clone(&rx);
        let spawned = std::thread::Builder::new()
            .name(format!("tessera-argon2-{i}"))
            .spawn(move || {
                lower_priority();
                loop {
                    let job = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    match job {
                        // A panicking job drops its reply channel (the caller gets an error);
                        // the thread lives on.
                        Ok(job) => {
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        }
                        Err(_) => return,
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start a password-hashing thread");
        }
    }
    tx
}

/// Make the calling thread `SCHED_IDLE` (Linux) or the lowest priority elsewhere.
fn lower_priority() {
    use thread_priority::{
        NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id,
    };
    let result = set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Min,
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
    );
    if let Err(e) = result {
        tracing::warn!(error = ?e, "could not lower the password-hashing thread's priority");
    }
}

pub(crate) struct PasswordPool {
    permits: Arc<Semaphore>,
    workers: std::sync::mpsc::Sender<Job>,
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
            workers: start_workers(concurrency.max(1)),
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
            .map_err(AppError::failed("waiting for a password worker"))?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        self.workers
            .send(job)
            .map_err(|_| AppError::Invariant("password workers stopped".into()))?;
        rx.await.map_err(AppError::failed("running a password job"))
    }

    /// How strong a new password looks (the meter of the web pages): on the password workers,
    /// so a flood of these queues behind logins instead of taking the request threads.
    pub async fn strength(
        &self,
        password: String,
    ) -> Result<tessera_core::password::PasswordStrength> {
        self.run(move || tessera_core::password::password_strength(&password))
            .await
    }

    /// Hash a new password.
    pub async fn hash(&self, password: String) -> Result<String> {
        self.run(move || tessera_core::password::hash_password(&password))
            .await?
            .map_err(AppError::failed("hashing a password"))
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
