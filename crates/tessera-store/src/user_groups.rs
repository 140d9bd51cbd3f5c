//! User groups. Every organization has Zulip's system groups (`role:everyone`, …), made on
//! first use; their members follow roles, so only the groups themselves are rows.

use crate::{Result, Store, with_writer};

/// A user group as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserGroupRow {
    pub id: i64,
    pub realm_id: i64,
    pub name: String,
    pub description: String,
    pub is_system_group: bool,
    pub date_created: i64,
}

impl Store {
    /// The realm's groups, in id order; the system groups named in `system` (name,
    /// description, in creation order) are made first if any is missing.
    pub async fn user_groups(
        &self,
        realm_id: i64,
        system: &[(&str, &str)],
        now: i64,
    ) -> Result<Vec<UserGroupRow>> {
        let select = "SELECT id, realm_id, name, description, is_system_group, date_created \
                      FROM user_groups WHERE realm_id = $1 ORDER BY id";
        let insert = "INSERT INTO user_groups (realm_id, name, description, is_system_group, \
                      date_created) VALUES ($1, $2, $3, TRUE, $4) \
                      ON CONFLICT (realm_id, name) DO NOTHING";
        Ok(with_writer!(self, pool => {
            let rows = sqlx::query_as::<_, UserGroupRow>(select)
                .bind(realm_id)
                .fetch_all(pool)
                .await?;
            let present = rows.iter().filter(|g| g.is_system_group).count();
            if present >= system.len() {
                rows
            } else {
                let mut tx = pool.begin().await?;
                for (name, description) in system {
                    sqlx::query(insert)
                        .bind(realm_id)
                        .bind(*name)
                        .bind(*description)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                sqlx::query_as::<_, UserGroupRow>(select)
                    .bind(realm_id)
                    .fetch_all(pool)
                    .await?
            }
        }))
    }
}
