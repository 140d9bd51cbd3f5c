//! Personal and organization settings that differ from Zulip's defaults: one row per changed
//! setting, the value as JSON text. The defaults themselves live in code
//! (`tessera_core::user_settings`, the app's realm state). `timezone` and
//! `enable_login_emails` are columns of the user row; a change to them lands there.

use crate::audit_log::insert_audit;
use crate::invalidations::{insert_invalidation, invalidate_user_keys};
use crate::{AuditEvent, Result, Store, with_pool, with_writer};

/// One setting changed: its name, the old and the new value (JSON text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingChange {
    pub name: String,
    pub old: String,
    pub new: String,
}

impl SettingChange {
    /// The change of setting `name` from `old` (none: never set, stored as JSON `null`) to
    /// `new`, both kept as JSON text.
    pub fn between(name: &str, old: Option<&serde_json::Value>, new: &serde_json::Value) -> Self {
        SettingChange {
            name: name.into(),
            old: old.unwrap_or(&serde_json::Value::Null).to_string(),
            new: new.to_string(),
        }
    }

    fn audit_extra(&self) -> String {
        let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap_or_default();
        serde_json::json!({"1": parse(&self.old), "2": parse(&self.new), "property": self.name})
            .to_string()
    }
}

impl Store {
    /// The personal settings `user_id` changed, as (name, JSON text).
    pub async fn user_settings(&self, user_id: i64) -> Result<Vec<(String, String)>> {
        let sql = "SELECT name, value FROM user_settings WHERE user_id = $1 ORDER BY name";
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, (String, String)>(sql).bind(user_id).fetch_all(pool).await?
        }))
    }

    /// One personal setting of several users, for those who changed it: (user id, JSON text).
    pub async fn user_setting_of(
        &self,
        user_ids: &[i64],
        name: &str,
    ) -> Result<Vec<(i64, String)>> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = user_ids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        // The ids are integers formatted here, never client text.
        let sql = format!(
            "SELECT user_id, value FROM user_settings WHERE name = $1 AND user_id IN ({list})"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, (i64, String)>(&sql).bind(name).fetch_all(pool).await?
        }))
    }

    /// Store personal settings, all or none, with an audit row each (Zulip's
    /// `USER_SETTING_CHANGED`, extra `{"1": old, "2": new, "property": name}`).
    pub async fn set_user_settings(
        &self,
        user_id: i64,
        changes: &[SettingChange],
        acting: i64,
        now: i64,
    ) -> Result<()> {
        let upsert = "INSERT INTO user_settings (user_id, name, value) VALUES ($1, $2, $3) \
                      ON CONFLICT (user_id, name) DO UPDATE SET value = excluded.value";
        let is_pg = self.is_pg();
        with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            // A no-op write first: SQLite then holds the write lock from the start (a read
            // lock upgraded later fails under contention); PostgreSQL locks the row.
            let (realm_id, digest): (i64, Vec<u8>) = sqlx::query_as(
                "UPDATE users SET realm_id = realm_id WHERE id = $1 RETURNING realm_id, api_key_digest",
            )
                    .bind(user_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(crate::StoreError::NotFound)?;
            let mut profile_changed = false;
            for c in changes {
                match c.name.as_str() {
                    "timezone" => {
                        let tz: String = serde_json::from_str(&c.new).unwrap_or_default();
                        sqlx::query("UPDATE users SET timezone = $1 WHERE id = $2")
                            .bind(tz)
                            .bind(user_id)
                            .execute(&mut *tx)
                            .await?;
                        profile_changed = true;
                    }
                    "enable_login_emails" => {
                        sqlx::query("UPDATE users SET enable_login_emails = $1 WHERE id = $2")
                            .bind(c.new == "true")
                            .bind(user_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    _ => {
                        sqlx::query(upsert)
                            .bind(user_id)
                            .bind(&c.name)
                            .bind(&c.new)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                insert_audit!(tx, realm_id, Some(acting), Some(user_id), AuditEvent::UserSettingChanged, now, Some(c.audit_extra()));
            }
            if profile_changed {
                // Cached profiles (`GET /users/me`) live with the key: drop them everywhere.
                invalidate_user_keys!(tx, user_id, digest, now, is_pg);
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

    /// Store organization settings, all or none, with an audit row each (Zulip's
    /// `REALM_PROPERTY_CHANGED`). `name` and `description` are columns of the realm row.
    pub async fn set_realm_settings(
        &self,
        realm_id: i64,
        changes: &[SettingChange],
        acting: Option<i64>,
        now: i64,
    ) -> Result<()> {
        let upsert = "INSERT INTO realm_settings (realm_id, name, value) VALUES ($1, $2, $3) \
                      ON CONFLICT (realm_id, name) DO UPDATE SET value = excluded.value";
        let is_pg = self.is_pg();
        let row_changed = changes
            .iter()
            .any(|c| matches!(c.name.as_str(), "name" | "description"));
        with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            if row_changed {
                // Cached realm rows: drop them on every node.
                insert_invalidation!(tx, None, now, is_pg);
            }
            for c in changes {
                let column = match c.name.as_str() {
                    "name" => Some("UPDATE realms SET name = $1 WHERE id = $2"),
                    "description" => Some("UPDATE realms SET description = $1 WHERE id = $2"),
                    _ => None,
                };
                if let Some(sql) = column {
                    let text: String = serde_json::from_str(&c.new).unwrap_or_default();
                    sqlx::query(sql).bind(text).bind(realm_id).execute(&mut *tx).await?;
                } else {
                    sqlx::query(upsert)
                        .bind(realm_id)
                        .bind(&c.name)
                        .bind(&c.new)
                        .execute(&mut *tx)
                        .await?;
                }
                insert_audit!(tx, realm_id, acting, None::<i64>, AuditEvent::RealmPropertyChanged, now, Some(c.audit_extra()));
            }
            tx.commit().await?;
        });
        Ok(())
    }
}
