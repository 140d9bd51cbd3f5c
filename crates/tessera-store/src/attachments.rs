//! Uploaded files (Zulip's `Attachment`), stored with their bytes in the database so that
//! every node sharing one PostgreSQL serves them, and the messages that link to them.

use crate::{Result, Store, with_pool, with_writer};

/// An uploaded file without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AttachmentRow {
    pub id: i64,
    pub realm_id: i64,
    pub owner_id: i64,
    pub path_id: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub create_time: i64,
}

/// A file to store.
#[derive(Debug, Clone)]
pub struct NewAttachment<'a> {
    pub realm_id: i64,
    pub owner_id: i64,
    pub path_id: &'a str,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub content: &'a [u8],
    pub now: i64,
}

const COLS: &str = "id, realm_id, owner_id, path_id, file_name, content_type, size, create_time";

impl Store {
    /// Store an uploaded file; its id.
    pub async fn insert_attachment(&self, a: &NewAttachment<'_>) -> Result<i64> {
        Ok(with_writer!(self, pool => {
            sqlx::query_as::<_, (i64,)>(
                "INSERT INTO attachments (realm_id, owner_id, path_id, file_name, content_type, \
                 size, create_time, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(a.realm_id)
            .bind(a.owner_id)
            .bind(a.path_id)
            .bind(a.file_name)
            .bind(a.content_type)
            .bind(a.content.len() as i64)
            .bind(a.now)
            .bind(a.content)
            .fetch_one(pool)
            .await?
            .0
        }))
    }

    /// A file by its path (`<realm id>/<random>/<name>`).
    pub async fn attachment_by_path(&self, path_id: &str) -> Result<Option<AttachmentRow>> {
        let sql = format!("SELECT {COLS} FROM attachments WHERE path_id = $1");
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, AttachmentRow>(&sql)
                .bind(path_id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// A file's bytes.
    pub async fn attachment_content(&self, id: i64) -> Result<Vec<u8>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, (Vec<u8>,)>("SELECT content FROM attachments WHERE id = $1")
                .bind(id)
                .fetch_one(pool)
                .await?
                .0
        }))
    }

    /// Link the files a message names (by path) to it, for those the sender uploaded
    /// (Zulip's `claim_attachment`); how many were linked.
    pub async fn claim_attachments(
        &self,
        owner_id: i64,
        message_id: i64,
        path_ids: &[String],
    ) -> Result<u64> {
        let mut n = 0;
        with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            for path in path_ids {
                n += sqlx::query(
                    "INSERT INTO attachment_messages (attachment_id, message_id) \
                     SELECT id, $1 FROM attachments WHERE path_id = $2 AND owner_id = $3 \
                     ON CONFLICT DO NOTHING",
                )
                .bind(message_id)
                .bind(path)
                .bind(owner_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            tx.commit().await?;
        });
        Ok(n)
    }

    /// The messages that link to a file.
    pub async fn attachment_message_ids(&self, attachment_id: i64) -> Result<Vec<i64>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, (i64,)>(
                "SELECT message_id FROM attachment_messages WHERE attachment_id = $1 ORDER BY message_id",
            )
            .bind(attachment_id)
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|(id,)| id)
            .collect()
        }))
    }
}
