//! Users as messages show them: a projection of the user row without its secret columns,
//! looked up by the ids, emails and names a message actually names (never the whole realm).

use crate::{Result, Store, with_pool};

/// A user without password hash or key columns.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PersonRow {
    pub id: i64,
    pub realm_id: i64,
    pub email: String,
    pub delivery_email: String,
    pub full_name: String,
    pub is_active: bool,
    pub is_bot: bool,
    pub bot_type: Option<i64>,
    pub bot_owner_id: Option<i64>,
    pub avatar_version: i64,
}

const COLS: &str = "id, realm_id, email, delivery_email, full_name, is_active, is_bot, bot_type, \
    bot_owner_id, avatar_version";

/// `$first, $first+1, …` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// The users of a realm with these ids (unknown ids are left out).
    pub async fn people_by_ids(&self, realm_id: i64, ids: &[i64]) -> Result<Vec<PersonRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        // The ids are integers formatted here, never client text.
        let sql = format!("SELECT {COLS} FROM users WHERE realm_id = $1 AND id IN ({list})");
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, PersonRow>(&sql).bind(realm_id).fetch_all(pool).await?
        }))
    }

    /// The user of a realm with this email (or, failing that, delivery email),
    /// case-insensitively.
    pub async fn person_by_email(&self, realm_id: i64, email: &str) -> Result<Option<PersonRow>> {
        let email = email.trim().to_lowercase();
        let by_email = format!("SELECT {COLS} FROM users WHERE realm_id = $1 AND email_lower = $2");
        let by_delivery = format!(
            "SELECT {COLS} FROM users WHERE realm_id = $1 AND LOWER(delivery_email) = $2 \
             ORDER BY id LIMIT 1"
        );
        Ok(with_pool!(self, pool => {
            let found = sqlx::query_as::<_, PersonRow>(&by_email)
                .bind(realm_id)
                .bind(&email)
                .fetch_optional(pool)
                .await?;
            match found {
                Some(p) => Some(p),
                None => {
                    sqlx::query_as::<_, PersonRow>(&by_delivery)
                        .bind(realm_id)
                        .bind(&email)
                        .fetch_optional(pool)
                        .await?
                }
            }
        }))
    }

    /// Active users of a realm whose full name is one of `names`, as written or without case
    /// (through the `users_full_name` and `users_full_name_lower` indexes). Both engines'
    /// `LOWER` are asked for (SQLite's folds ASCII only, PostgreSQL's by its locale, which
    /// may differ from Rust's for a few letters), and the names exactly as written, so an
    /// exact mention always resolves; the caller compares.
    pub async fn active_people_by_names(
        &self,
        realm_id: i64,
        names: &[String],
    ) -> Result<Vec<PersonRow>> {
        let mut needles: Vec<String> = Vec::with_capacity(names.len() * 2);
        for n in names {
            for v in [n.to_lowercase(), n.to_ascii_lowercase()] {
                if !needles.contains(&v) {
                    needles.push(v);
                }
            }
        }
        if needles.is_empty() {
            return Ok(Vec::new());
        }
        let mut exact: Vec<&String> = Vec::with_capacity(names.len());
        for n in names {
            if !exact.contains(&n) {
                exact.push(n);
            }
        }
        let sql = format!(
            "SELECT {COLS} FROM users WHERE realm_id = $1 AND is_active \
             AND (LOWER(full_name) IN ({}) OR full_name IN ({})) ORDER BY id",
            placeholders(2, needles.len()),
            placeholders(2 + needles.len(), exact.len())
        );
        Ok(with_pool!(self, pool => {
            let mut q = sqlx::query_as::<_, PersonRow>(&sql).bind(realm_id);
            for n in &needles {
                q = q.bind(n);
            }
            for n in &exact {
                q = q.bind(*n);
            }
            q.fetch_all(pool).await?
        }))
    }
}
