//! User status (Zulip's `UserStatus`): a short text and an emoji per user.

use crate::{Result, Store, with_pool, with_writer};

/// One user's status.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserStatusRow {
    pub user_id: i64,
    pub status_text: String,
    pub emoji_name: String,
    pub emoji_code: String,
    pub reaction_type: String,
}

/// A change of status: `None` leaves that part as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusChange {
    pub status_text: Option<String>,
    /// (name, code, reaction type); empty name and code clear the emoji.
    pub emoji: Option<(String, String, String)>,
}

impl Store {
    /// Apply a status change and return the stored status.
    pub async fn set_user_status(
        &self,
        user_id: i64,
        change: &StatusChange,
        now: i64,
    ) -> Result<UserStatusRow> {
        let (name, code, kind) = match &change.emoji {
            Some((name, code, kind)) => (Some(name), Some(code), Some(kind)),
            None => (None, None, None),
        };
        Ok(with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO user_status (user_id, updated) VALUES ($1, $2) \
                 ON CONFLICT (user_id) DO NOTHING",
            )
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let row = sqlx::query_as::<_, UserStatusRow>(
                "UPDATE user_status SET status_text = COALESCE($1, status_text), \
                 emoji_name = COALESCE($2, emoji_name), emoji_code = COALESCE($3, emoji_code), \
                 reaction_type = COALESCE($4, reaction_type), updated = $5 WHERE user_id = $6 \
                 RETURNING user_id, status_text, emoji_name, emoji_code, reaction_type",
            )
            .bind(&change.status_text)
            .bind(name)
            .bind(code)
            .bind(kind)
            .bind(now)
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            row
        }))
    }

    /// One user's status, if they ever set one.
    pub async fn user_status(&self, user_id: i64) -> Result<Option<UserStatusRow>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, UserStatusRow>(
                "SELECT user_id, status_text, emoji_name, emoji_code, reaction_type \
                 FROM user_status WHERE user_id = $1",
            )
            .bind(user_id)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// The statuses of a realm's active users (every user who ever set one).
    pub async fn realm_user_statuses(&self, realm_id: i64) -> Result<Vec<UserStatusRow>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, UserStatusRow>(
                "SELECT s.user_id, s.status_text, s.emoji_name, s.emoji_code, s.reaction_type \
                 FROM user_status s JOIN users u ON u.id = s.user_id \
                 WHERE u.realm_id = $1 AND u.is_active \
                 ORDER BY s.user_id",
            )
            .bind(realm_id)
            .fetch_all(pool)
            .await?
        }))
    }
}
