//! The audit log, with Zulip's `RealmAuditLog` event numbers.

use crate::{Result, Store, with_pool};

/// Event types, numbered as Zulip's `AuditLogEventType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEvent {
    UserCreated,
    UserDeactivated,
    UserReactivated,
    UserRoleChanged,
    UserPasswordChanged,
    UserFullNameChanged,
    UserApiKeyChanged,
    UserBotOwnerChanged,
    UserSettingChanged,
    RealmCreated,
    /// An organization setting changed (extra: old, new, property).
    RealmPropertyChanged,
    /// tessera's own: a web session signed in (extra: client, IP).
    SessionStarted,
    /// tessera's own: web sessions ended by the user (extra: how many, why).
    SessionsEnded,
    /// tessera's own: "Log out everywhere".
    LoggedOutEverywhere,
    /// tessera's own: an API key was fetched with a password or handed to an app.
    ApiKeyFetched,
    /// tessera's own: a secret scanner reported the account's key published (extra: url,
    /// source, type); the key was replaced.
    ApiKeyLeakReported,
    /// tessera's own: a key beside the account key was created (extra: key_id, kind, name,
    /// scope, expires_at, allowed_networks).
    ApiKeyCreated,
    /// tessera's own: such a key was revoked (extra: key_id, kind, why).
    ApiKeyRevoked,
    /// tessera's own: a key was refused because it was used from outside its allow-list
    /// (extra: key_id, address).
    ApiKeyAddressRefused,
}

impl AuditEvent {
    /// Zulip's number for the event.
    pub fn code(self) -> i64 {
        match self {
            AuditEvent::UserCreated => 101,
            AuditEvent::UserDeactivated => 103,
            AuditEvent::UserReactivated => 104,
            AuditEvent::UserRoleChanged => 105,
            AuditEvent::UserPasswordChanged => 122,
            AuditEvent::UserFullNameChanged => 124,
            AuditEvent::UserApiKeyChanged => 127,
            AuditEvent::UserBotOwnerChanged => 128,
            AuditEvent::UserSettingChanged => 132,
            AuditEvent::RealmCreated => 215,
            AuditEvent::RealmPropertyChanged => 207,
            AuditEvent::SessionStarted => 9001,
            AuditEvent::SessionsEnded => 9002,
            AuditEvent::LoggedOutEverywhere => 9003,
            AuditEvent::ApiKeyFetched => 9004,
            AuditEvent::ApiKeyLeakReported => 9005,
            AuditEvent::ApiKeyCreated => 9006,
            AuditEvent::ApiKeyRevoked => 9007,
            AuditEvent::ApiKeyAddressRefused => 9008,
        }
    }
}

/// One audit row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub realm_id: i64,
    pub acting_user_id: Option<i64>,
    pub modified_user_id: Option<i64>,
    pub event_type: i64,
    pub event_time: i64,
    pub extra_data: Option<String>,
}

/// Insert an audit row inside an open transaction (any engine).
macro_rules! insert_audit {
    ($tx:expr, $realm:expr, $acting:expr, $modified:expr, $event:expr, $now:expr, $extra:expr) => {
        sqlx::query(
            "INSERT INTO audit_log \
             (realm_id, acting_user_id, modified_user_id, event_type, event_time, extra_data) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind($realm)
        .bind($acting)
        .bind($modified)
        .bind($crate::AuditEvent::code($event))
        .bind($now)
        .bind($extra)
        .execute(&mut *$tx)
        .await?
    };
}
pub(crate) use insert_audit;

impl Store {
    /// Audit rows about `user_id`, oldest first.
    pub async fn audit_for_user(&self, user_id: i64) -> Result<Vec<AuditRow>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, AuditRow>(
                "SELECT id, realm_id, acting_user_id, modified_user_id, event_type, event_time, \
                 extra_data FROM audit_log WHERE modified_user_id = $1 ORDER BY id",
            )
            .bind(user_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Audit rows of a realm with this event type, oldest first.
    pub async fn audit_for_realm(&self, realm_id: i64, event: AuditEvent) -> Result<Vec<AuditRow>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, AuditRow>(
                "SELECT id, realm_id, acting_user_id, modified_user_id, event_type, event_time, \
                 extra_data FROM audit_log WHERE realm_id = $1 AND event_type = $2 ORDER BY id",
            )
            .bind(realm_id)
            .bind(event.code())
            .fetch_all(pool)
            .await?
        }))
    }
}
