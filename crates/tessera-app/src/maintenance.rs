//! What the binary does around serving: the health check, the site URL it records, the
//! periodic pruning of expired rows, shutdown.

use crate::{App, Result};

impl App {
    /// Liveness of the store (`tessera healthcheck`).
    pub async fn ping_store(&self) -> Result<()> {
        Ok(self.store().ping().await?)
    }

    /// Remember the site URL the server was started with (`server_meta`).
    pub async fn record_site_url(&self, url: &str) -> Result<()> {
        Ok(self.store().meta_set("site_url", url).await?)
    }

    /// Drop what has expired: key invalidations and event notices older than an hour,
    /// expired sessions, rate-limit logs older than a day. Each failure is logged.
    pub async fn prune_expired(&self) {
        let now = self.now();
        let hour_ago = now - 3_600_000_000;
        if let Err(e) = self.store().prune_invalidations(hour_ago).await {
            tracing::warn!(error = %e, "pruning key invalidations failed");
        }
        if let Err(e) = self.store().prune_sessions(now).await {
            tracing::warn!(error = %e, "pruning expired sessions failed");
        }
        if let Err(e) = self.store().prune_rate_limits(now - 86_400_000_000).await {
            tracing::warn!(error = %e, "pruning rate-limit logs failed");
        }
        if self.store().engine() == tessera_store::Engine::Postgres
            && let Err(e) = self.store().prune_notices(hour_ago).await
        {
            tracing::warn!(error = %e, "pruning event notices failed");
        }
    }

    /// Which engine the store runs on.
    pub fn engine(&self) -> tessera_store::Engine {
        self.store().engine()
    }

    /// Close the store's connections (shutdown).
    pub async fn close_store(&self) {
        self.store().close().await;
    }
}
