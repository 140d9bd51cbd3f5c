//! Small key/value facts about the installation (the server-secret check value, the site URL).

use crate::{Result, Store, with_pool, with_writer};

impl Store {
    /// Read a meta value.
    pub async fn meta_get(&self, key: &str) -> Result<Option<String>> {
        let v: Option<(String,)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT value FROM server_meta WHERE key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        Ok(v.map(|(v,)| v))
    }

    /// Set a meta value, replacing any previous one.
    pub async fn meta_set(&self, key: &str, value: &str) -> Result<()> {
        with_writer!(self, pool => {
            sqlx::query(
                "INSERT INTO server_meta (key, value) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(key)
            .bind(value)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}
