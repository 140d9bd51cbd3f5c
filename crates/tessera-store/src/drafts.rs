//! Drafts a user keeps on the server (Zulip's `Draft`).

use crate::{Result, Store, with_pool, with_writer};

/// One stored draft.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DraftRow {
    pub id: i64,
    /// `""`, `"stream"` or `"private"`.
    pub kind: String,
    /// JSON list of ids: the channel, or the direct message's users.
    pub recipients: String,
    pub topic: String,
    pub content: String,
    /// Seconds since the epoch, as Zulip's `timestamp`.
    pub last_edit_time: i64,
}

/// A draft to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDraft {
    pub kind: String,
    pub recipients: String,
    pub topic: String,
    pub content: String,
    pub last_edit_time: i64,
}

impl Store {
    /// Store drafts, all or none; their ids in order.
    pub async fn create_drafts(&self, user_id: i64, drafts: &[NewDraft]) -> Result<Vec<i64>> {
        Ok(with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut ids = Vec::with_capacity(drafts.len());
            for d in drafts {
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO drafts (user_id, kind, recipients, topic, content, last_edit_time) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(user_id)
                .bind(&d.kind)
                .bind(&d.recipients)
                .bind(&d.topic)
                .bind(&d.content)
                .bind(d.last_edit_time)
                .fetch_one(&mut *tx)
                .await?;
                ids.push(id);
            }
            tx.commit().await?;
            ids
        }))
    }

    /// A user's drafts, oldest edit first (Zulip's order).
    pub async fn drafts_of(&self, user_id: i64) -> Result<Vec<DraftRow>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, DraftRow>(
                "SELECT id, kind, recipients, topic, content, last_edit_time FROM drafts \
                 WHERE user_id = $1 ORDER BY last_edit_time, id",
            )
            .bind(user_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Replace one of the user's drafts; `false` if they have no such draft.
    pub async fn update_draft(&self, user_id: i64, id: i64, d: &NewDraft) -> Result<bool> {
        let n = with_writer!(self, pool => {
            sqlx::query(
                "UPDATE drafts SET kind = $1, recipients = $2, topic = $3, content = $4, \
                 last_edit_time = $5 WHERE id = $6 AND user_id = $7",
            )
            .bind(&d.kind)
            .bind(&d.recipients)
            .bind(&d.topic)
            .bind(&d.content)
            .bind(d.last_edit_time)
            .bind(id)
            .bind(user_id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// Delete one of the user's drafts; `false` if they have no such draft.
    pub async fn delete_draft(&self, user_id: i64, id: i64) -> Result<bool> {
        let n = with_writer!(self, pool => {
            sqlx::query("DELETE FROM drafts WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// Delete every draft of a user (when they turn draft synchronization off).
    pub async fn delete_drafts_of(&self, user_id: i64) -> Result<()> {
        with_writer!(self, pool => {
            sqlx::query("DELETE FROM drafts WHERE user_id = $1")
                .bind(user_id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
