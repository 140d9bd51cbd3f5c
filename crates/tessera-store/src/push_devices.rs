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
    /// Register (or refresh) a device token for a user.
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
            sqlx::query(
                // Not for a device key revoked meanwhile (signed out while this request ran).
                "INSERT INTO push_devices (user_id, kind, token, ios_app_id, last_updated, api_key_id) \
                 SELECT $1, $2, $3, $4, $5, $6 WHERE $6 IS NULL OR EXISTS \
                 (SELECT 1 FROM api_keys WHERE id = $6 AND revoked_at IS NULL) \
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
            .execute(pool)
            .await?;
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
