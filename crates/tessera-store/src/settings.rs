//! Personal and organization settings that differ from Zulip's defaults: one row per changed
//! setting, the value as JSON text. The defaults themselves live in code
//! (`tessera_core::user_settings`, the app's realm state).

use crate::{Result, Store, with_pool};

impl Store {
    /// The personal settings `user_id` changed, as (name, JSON text).
    pub async fn user_settings(&self, user_id: i64) -> Result<Vec<(String, String)>> {
        let sql = "SELECT name, value FROM user_settings WHERE user_id = $1 ORDER BY name";
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, (String, String)>(sql).bind(user_id).fetch_all(pool).await?
        }))
    }

    /// Store personal settings (name, JSON text), all or none.
    pub async fn set_user_settings(&self, user_id: i64, values: &[(String, String)]) -> Result<()> {
        let sql = "INSERT INTO user_settings (user_id, name, value) VALUES ($1, $2, $3) \
                   ON CONFLICT (user_id, name) DO UPDATE SET value = excluded.value";
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for (name, value) in values {
                sqlx::query(sql).bind(user_id).bind(name).bind(value).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The organization settings `realm_id` changed, as (name, JSON text).
    pub async fn realm_settings(&self, realm_id: i64) -> Result<Vec<(String, String)>> {
        let sql = "SELECT name, value FROM realm_settings WHERE realm_id = $1 ORDER BY name";
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, (String, String)>(sql).bind(realm_id).fetch_all(pool).await?
        }))
    }

    /// Store organization settings (name, JSON text), all or none.
    pub async fn set_realm_settings(
        &self,
        realm_id: i64,
        values: &[(String, String)],
    ) -> Result<()> {
        let sql = "INSERT INTO realm_settings (realm_id, name, value) VALUES ($1, $2, $3) \
                   ON CONFLICT (realm_id, name) DO UPDATE SET value = excluded.value";
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for (name, value) in values {
                sqlx::query(sql).bind(realm_id).bind(name).bind(value).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}
