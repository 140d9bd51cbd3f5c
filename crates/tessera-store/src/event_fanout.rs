//! The event fan-out between nodes: a notice is stored and announced with `pg_notify` on
//! `tessera_events` (payload: its id); every node LISTENs, reads notices of other nodes and
//! delivers them to its own queues. Rows are only needed for a few seconds.

use crate::{Backend, Result, Store, StoreError, with_pool, with_writer};

/// The NOTIFY channel of the event fan-out.
pub const EVENTS_CHANNEL: &str = "tessera_events";

impl Store {
    /// Store a notice from `node` and announce it (PostgreSQL only).
    pub async fn publish_notice(&self, node: &str, payload: &str, now: i64) -> Result<i64> {
        let Backend::Postgres(pool) = &self.backend else {
            return Err(StoreError::BadUrl(
                "the event fan-out needs PostgreSQL".into(),
            ));
        };
        let mut tx = pool.begin().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO event_notices (node, payload, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(node)
        .bind(payload)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(EVENTS_CHANNEL)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A stored notice: (node, payload).
    pub async fn notice(&self, id: i64) -> Result<Option<(String, String)>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, (String, String)>("SELECT node, payload FROM event_notices WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Forget notices older than `before`.
    pub async fn prune_notices(&self, before: i64) -> Result<u64> {
        Ok(with_writer!(self, pool => {
            sqlx::query("DELETE FROM event_notices WHERE created_at < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }
}
