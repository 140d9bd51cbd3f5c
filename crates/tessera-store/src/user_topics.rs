//! Topic visibility per user (Zulip's `UserTopic`): muted, unmuted or followed topics.

use crate::{Result, Store, with_pool, with_writer};

/// One user's policy for one topic.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserTopicRow {
    pub stream_id: i64,
    /// The channel's name (for the legacy `muted_topics` list).
    pub stream_name: String,
    pub topic_name: String,
    pub visibility_policy: i64,
    /// Seconds since the epoch.
    pub last_updated: i64,
}

impl Store {
    /// Set a topic's policy for a user (0 removes the row; a row keeps the spelling of the
    /// topic it was created with); returns the previous policy.
    pub async fn set_user_topic(
        &self,
        user_id: i64,
        stream_id: i64,
        topic: &str,
        policy: i64,
        now_secs: i64,
    ) -> Result<i64> {
        let lower = topic.to_lowercase();
        Ok(with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            // A write first (a no-op update), so that SQLite takes the write lock at the start
            // of the transaction instead of failing to upgrade a read lock under contention.
            let old: Option<(i64,)> = sqlx::query_as(
                "UPDATE user_topics SET last_updated = last_updated \
                 WHERE user_id = $1 AND stream_id = $2 AND topic_lower = $3 \
                 RETURNING visibility_policy",
            )
            .bind(user_id)
            .bind(stream_id)
            .bind(&lower)
            .fetch_optional(&mut *tx)
            .await?;
            let old = old.map_or(0, |(p,)| p);
            if old == policy {
                // Zulip leaves an unchanged row alone (its time and spelling too).
                return Ok(old);
            }
            if policy == 0 {
                sqlx::query(
                    "DELETE FROM user_topics WHERE user_id = $1 AND stream_id = $2 AND topic_lower = $3",
                )
                .bind(user_id)
                .bind(stream_id)
                .bind(&lower)
                .execute(&mut *tx)
                .await?;
            } else {
                sqlx::query(
                    "INSERT INTO user_topics (user_id, stream_id, topic_name, topic_lower, \
                     visibility_policy, last_updated) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (user_id, stream_id, topic_lower) DO UPDATE SET \
                     visibility_policy = $5, last_updated = $6",
                )
                .bind(user_id)
                .bind(stream_id)
                .bind(topic)
                .bind(&lower)
                .bind(policy)
                .bind(now_secs)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            old
        }))
    }

    /// A user's topic policies in channels that still exist, oldest change first.
    pub async fn user_topics_of(&self, user_id: i64) -> Result<Vec<UserTopicRow>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, UserTopicRow>(
                "SELECT t.stream_id, s.name AS stream_name, t.topic_name, t.visibility_policy, \
                 t.last_updated \
                 FROM user_topics t JOIN streams s ON s.id = t.stream_id \
                 WHERE t.user_id = $1 AND NOT s.deactivated ORDER BY t.last_updated, t.topic_lower",
            )
            .bind(user_id)
            .fetch_all(pool)
            .await?
        }))
    }
}
