//! Presence (`POST /users/me/presence`), kept in memory: it is a few seconds' worth of state
//! that Zulip clients refresh every minute.

use crate::auth::Principal;
use crate::events::Notice;
use crate::{App, AppError, Result};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Mutex;

/// Zulip's `OFFLINE_THRESHOLD_SECS`: a report older than this counts as offline.
const OFFLINE_THRESHOLD_SECS: i64 = 140;

/// One user's last report.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub status: String,
    pub client: String,
    pub timestamp: i64,
}

/// Presence of every user of this process.
#[derive(Default)]
pub(crate) struct PresenceBook {
    seen: Mutex<HashMap<i64, Seen>>,
}

impl PresenceBook {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Seen>> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn entry(s: &Seen) -> Value {
    json!({
        s.client.clone(): {"client": s.client, "status": s.status, "timestamp": s.timestamp, "pushable": false},
        "aggregated": {"client": s.client, "status": s.status, "timestamp": s.timestamp},
    })
}

impl App {
    /// The realm's presences, keyed by email (or by user id with `slim`).
    pub async fn presences(&self, realm_id: i64, slim: bool) -> Result<Value> {
        let users = self.store().users_in_realm(realm_id).await?;
        let seen = self.inner.presence.lock().clone();
        let mut out = Map::new();
        for u in users.iter().filter(|u| u.is_active) {
            if let Some(s) = seen.get(&u.id) {
                let key = if slim {
                    u.id.to_string()
                } else {
                    u.email.clone()
                };
                out.insert(key, entry(s));
            }
        }
        Ok(Value::Object(out))
    }

    /// `GET /users/{user_id_or_email}/presence` (Zulip's `get_presence_backend`): the user's
    /// last report without `client`/`pushable`, `aggregated` `offline` when older than
    /// Zulip's `OFFLINE_THRESHOLD_SECS` (140 s).
    pub async fn user_presence(&self, who: &Principal, id_or_email: &str) -> Result<Value> {
        let target = match id_or_email.parse::<i64>() {
            Ok(id) => self.store().user_by_id(id).await?,
            Err(_) => {
                self.store()
                    .user_by_email(who.realm_id, id_or_email)
                    .await?
            }
        }
        .filter(|u| u.realm_id == who.realm_id)
        .ok_or_else(|| AppError::bad("No such user"))?;
        if target.is_bot {
            return Err(AppError::bad("Presence is not supported for bot users."));
        }
        let seen = self.inner.presence.lock().get(&target.id).cloned();
        let Some(s) = seen else {
            return Err(AppError::bad(format!("No presence data for {id_or_email}")));
        };
        let now = self.now().div_euclid(1_000_000);
        let aggregated = if now - s.timestamp > OFFLINE_THRESHOLD_SECS {
            "offline"
        } else {
            s.status.as_str()
        };
        Ok(json!({
            s.client.clone(): {"status": s.status, "timestamp": s.timestamp},
            "aggregated": {"status": aggregated, "timestamp": s.timestamp},
        }))
    }

    /// `POST /users/me/presence`.
    pub async fn update_presence(
        &self,
        who: &Principal,
        status: &str,
        client: &str,
        ping_only: bool,
        slim: bool,
    ) -> Result<Value> {
        who.require_human()?;
        if status != "active" && status != "idle" {
            return Err(AppError::bad(format!("Invalid status: {status}")));
        }
        let now = self.now();
        let seen = Seen {
            status: status.to_owned(),
            client: client.to_owned(),
            timestamp: now.div_euclid(1_000_000),
        };
        self.inner
            .presence
            .lock()
            .insert(who.user_id.0, seen.clone());
        let users: Vec<i64> = self
            .store()
            .users_in_realm(who.realm_id)
            .await?
            .into_iter()
            .filter(|u| u.is_active && !u.is_bot)
            .map(|u| u.id)
            .collect();
        self.events().publish(Notice::plain(
            users,
            json!({"type": "presence", "user_id": who.user_id.0, "email": who.delivery_email,
                   "server_timestamp": now as f64 / 1e6, "presence": entry(&seen)}),
        ));
        if ping_only {
            return Ok(json!({}));
        }
        Ok(json!({
            "presences": self.presences(who.realm_id, slim).await?,
            "server_timestamp": now as f64 / 1e6,
        }))
    }
}
