//! Push-device registrations (Zulip's legacy `PushDeviceToken`): APNs and FCM tokens.

use crate::{Result, Store, with_pool, with_writer};

/// Which push service a token belongs to (Zulip's `PushDeviceToken.kind`: 1 APNs, 2 FCM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushKind {
    Apns,
    Fcm,
}

impl PushKind {
    fn code(self) -> i64 {
        match self {
            PushKind::Apns => 1,
            PushKind::Fcm => 2,
        }
    }
}

/// One registration.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PushDeviceRow {
    pub id: i64,
    pub user_id: i64,
    pub kind: i64,
    pub token: String,
    pub ios_app_id: Option<String>,
    pub last_updated: i64,
    /// The device key that registered it (signing that device out removes it).
    pub api_key_id: Option<i64>,
}

impl Store {
    /// Register (or refresh) a device token for a user; `api_key_id`: the device key that
    /// registers it (signing that device out removes it). Registered by a device key that is
    /// revoked meanwhile, it registers nothing: the key's row is locked first (a write), so a
    /// sign-out running at the same time either finishes first — and the key is seen revoked —
    /// or waits for this registration and then deletes it.
    pub async fn add_push_device(
        &self,
        user_id: i64,
        kind: PushKind,
        token: &str,
        ios_app_id: Option<&str>,
        api_key_id: Option<i64>,
        now: i64,
    ) -> Result<()> {
        with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            if let Some(key_id) = api_key_id {
                let live: Option<(i64,)> = sqlx::query_as(
                    "UPDATE api_keys SET last_used_at = last_used_at \
                     WHERE id = $1 AND revoked_at IS NULL RETURNING id",
                )
                .bind(key_id)
                .fetch_optional(&mut *tx)
                .await?;
                if live.is_none() {
                    return Ok(());
                }
            }
            sqlx::query(
                "INSERT INTO push_devices (user_id, kind, token, ios_app_id, last_updated, api_key_id) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (user_id, kind, token) \
                 DO UPDATE SET ios_app_id = excluded.ios_app_id, last_updated = excluded.last_updated, \
                 api_key_id = excluded.api_key_id",
            )
            .bind(user_id)
            .bind(kind.code())
            .bind(token)
            .bind(ios_app_id)
            .bind(now)
            .bind(api_key_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Remove one token; `false` if the user had no such token.
    pub async fn remove_push_device(
        &self,
        user_id: i64,
        kind: PushKind,
        token: &str,
    ) -> Result<bool> {
        let n = with_writer!(self, pool => {
            sqlx::query("DELETE FROM push_devices WHERE user_id = $1 AND kind = $2 AND token = $3")
                .bind(user_id)
                .bind(kind.code())
                .bind(token)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// A user's registrations, oldest first.
    pub async fn push_devices_for(&self, user_id: i64) -> Result<Vec<PushDeviceRow>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, PushDeviceRow>(
                "SELECT id, user_id, kind, token, ios_app_id, last_updated, api_key_id FROM push_devices \
                 WHERE user_id = $1 ORDER BY id",
            )
            .bind(user_id)
            .fetch_all(pool)
            .await?
        }))
    }
}
