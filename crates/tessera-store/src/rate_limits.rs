//! Rate-limit logs every node shares: one row per counted attempt.

use crate::{Result, Store, with_pool, with_writer};

impl Store {
    /// Count an attempt for `key` unless it already has `max` attempts after `window_start`:
    /// `None` when counted, `Some(oldest)` (the oldest attempt in the window) when limited.
    pub async fn rate_limit_hit(
        &self,
        key: &str,
        now: i64,
        window_start: i64,
        max: i64,
    ) -> Result<Option<i64>> {
        with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM rate_limit_hits WHERE key = $1 AND at <= $2")
                .bind(key)
                .bind(window_start)
                .execute(&mut *tx)
                .await?;
            let (count, oldest): (i64, Option<i64>) =
                sqlx::query_as("SELECT COUNT(*), MIN(at) FROM rate_limit_hits WHERE key = $1")
                    .bind(key)
                    .fetch_one(&mut *tx)
                    .await?;
            if count >= max {
                tx.commit().await?;
                return Ok(Some(oldest.unwrap_or(now)));
            }
            sqlx::query("INSERT INTO rate_limit_hits (key, at) VALUES ($1, $2)")
                .bind(key)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(None)
        })
    }

    /// Like [`Store::rate_limit_hit`] without counting.
    pub async fn rate_limit_peek(
        &self,
        key: &str,
        window_start: i64,
        max: i64,
    ) -> Result<Option<i64>> {
        let (count, oldest): (i64, Option<i64>) = with_pool!(self, pool => {
            sqlx::query_as("SELECT COUNT(*), MIN(at) FROM rate_limit_hits WHERE key = $1 AND at > $2")
                .bind(key)
                .bind(window_start)
                .fetch_one(pool)
                .await?
        });
        Ok((count >= max).then_some(oldest.unwrap_or(window_start)))
    }

    /// Forget a key's attempts (a successful login clears its history, as in Zulip).
    pub async fn rate_limit_clear(&self, key: &str) -> Result<()> {
        with_writer!(self, pool => {
            sqlx::query("DELETE FROM rate_limit_hits WHERE key = $1")
                .bind(key)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Forget attempts older than `before` (housekeeping).
    pub async fn prune_rate_limits(&self, before: i64) -> Result<u64> {
        Ok(with_writer!(self, pool => {
            sqlx::query("DELETE FROM rate_limit_hits WHERE at < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }
}
