//! Organizations (Zulip "realms"). The root host serves the realm whose `string_id` is `""`;
//! `sub.` hosts serve the realm named `sub`.

use crate::invalidations::insert_invalidation;
use crate::{Result, Store, StoreError, with_pool, with_writer};

/// A realm as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RealmRow {
    pub id: i64,
    pub string_id: String,
    pub name: String,
    pub description: String,
    pub deactivated: bool,
    pub password_auth_enabled: bool,
    pub date_created: i64,
}

const REALM_COLUMNS: &str =
    "id, string_id, name, description, deactivated, password_auth_enabled, date_created";

impl Store {
    /// The realm served at subdomain `string_id` (`""` for the root host).
    pub async fn realm_by_string_id(&self, string_id: &str) -> Result<Option<RealmRow>> {
        let sql = format!("SELECT {REALM_COLUMNS} FROM realms WHERE string_id = $1");
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, RealmRow>(&sql).bind(string_id).fetch_optional(pool).await?
        }))
    }

    /// A realm by id.
    pub async fn realm_by_id(&self, id: i64) -> Result<RealmRow> {
        let sql = format!("SELECT {REALM_COLUMNS} FROM realms WHERE id = $1");
        with_pool!(self, pool => {
            sqlx::query_as::<_, RealmRow>(&sql).bind(id).fetch_optional(pool).await?
        })
        .ok_or(StoreError::NotFound)
    }

    /// Every realm, oldest first.
    pub async fn realms(&self) -> Result<Vec<RealmRow>> {
        let sql = format!("SELECT {REALM_COLUMNS} FROM realms ORDER BY id");
        Ok(with_pool!(self, pool => sqlx::query_as::<_, RealmRow>(&sql).fetch_all(pool).await?))
    }

    /// Create a realm (not the first one: see [`Store::bootstrap`]).
    pub async fn create_realm(&self, string_id: &str, name: &str, now: i64) -> Result<RealmRow> {
        let sql = format!(
            "INSERT INTO realms (string_id, name, date_created) VALUES ($1, $2, $3) \
             RETURNING {REALM_COLUMNS}"
        );
        Ok(with_writer!(self, pool => {
            sqlx::query_as::<_, RealmRow>(&sql)
                .bind(string_id)
                .bind(name)
                .bind(now)
                .fetch_one(pool)
                .await?
        }))
    }

    /// Deactivate or reactivate a realm; every cached key is dropped everywhere (all of the
    /// realm's users' keys change state).
    pub async fn set_realm_deactivated(&self, id: i64, deactivated: bool, now: i64) -> Result<()> {
        let is_pg = matches!(self.backend, crate::Backend::Postgres(_));
        with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query("UPDATE realms SET deactivated = $1 WHERE id = $2")
                .bind(deactivated)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            // A NULL digest means "drop everything".
            insert_invalidation!(tx, None, now, is_pg);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Turn password authentication on or off for a realm. Cached realms are dropped
    /// everywhere (the same "drop everything" invalidation as deactivation).
    pub async fn set_realm_password_auth(&self, id: i64, enabled: bool, now: i64) -> Result<()> {
        let is_pg = matches!(self.backend, crate::Backend::Postgres(_));
        with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE realms SET password_auth_enabled = $1 WHERE id = $2")
                .bind(enabled)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            insert_invalidation!(tx, None, now, is_pg);
            tx.commit().await?;
        });
        Ok(())
    }
}
