//! User objects as Zulip's API formats them (`format_user_row`).

use crate::{App, Result};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tessera_store::UserRow;

/// How long a user's newest message id is trusted without a delivery seen: the bound when a
/// node missed a notice (its fan-out listener reconnected).
const MAX_ID_TTL: Duration = Duration::from_secs(30);
/// Past this many users the map starts over (it holds only users who called `users/me`).
const MAX_ID_USERS: usize = 1_000_000;

/// What `GET /users/me` answers: the user object as JSON text, and `max_message_id`.
#[derive(Debug, Clone)]
pub struct OwnProfile {
    pub user: std::sync::Arc<str>,
    pub max_message_id: i64,
}

/// Zulip's user object (`format_user_row`), fields in Zulip's order.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub email: String,
    pub user_id: i64,
    pub avatar_version: i64,
    pub is_admin: bool,
    pub is_owner: bool,
    pub is_guest: bool,
    pub role: i64,
    pub is_bot: bool,
    pub full_name: String,
    pub timezone: String,
    /// Left out of `realm_users`/`realm_non_active_users`, where the list says it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
    pub date_joined: String,
    pub delivery_email: String,
    pub avatar_url: String,
    #[serde(flatten)]
    pub kind: UserKind,
    /// Only in `cross_realm_bots`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_system_bot: Option<bool>,
}

/// What a user object carries for a bot, and for a person.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum UserKind {
    Bot {
        bot_type: Option<i64>,
        bot_owner_id: Option<i64>,
    },
    Human {
        profile_data: ProfileData,
    },
}

/// Custom profile field values by field id; tessera has no custom profile fields.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileData {}

/// A bot as `realm_bots` lists it (Zulip's `get_bot_dicts_in_realm`).
#[derive(Debug, Clone, Serialize)]
pub struct RealmBot {
    pub email: String,
    pub user_id: i64,
    pub full_name: String,
    pub bot_type: Option<i64>,
    pub is_active: bool,
    pub default_sending_stream: Option<String>,
    pub default_events_register_stream: Option<String>,
    pub default_all_public_streams: bool,
    pub avatar_url: String,
    /// Outgoing-webhook and embedded-bot services; tessera lists none.
    pub services: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<i64>,
}

/// Each user's newest message id (`max_message_id` of `GET /users/me`), kept current by the
/// deliveries and deletions this node sees (its own and, through the fan-out, other nodes').
#[derive(Default)]
pub(crate) struct MaxMessageIds {
    /// user → (newest id, when it was read from the store; `None` while a read is under way).
    map: Mutex<HashMap<i64, (i64, Option<Instant>)>>,
    /// Moves on every deletion: a store read that raced one is not kept.
    deletions: AtomicU64,
}

impl MaxMessageIds {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, (i64, Option<Instant>)>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A trusted value, or `None`; in the latter case a pending entry now collects deliveries
    /// until [`MaxMessageIds::settle`].
    fn get_or_begin(&self, user: i64) -> (Option<i64>, u64) {
        let deletions = self.deletions.load(Ordering::Acquire);
        let mut map = self.lock();
        match map.get(&user) {
            Some((id, Some(at))) if at.elapsed() < MAX_ID_TTL => (Some(*id), deletions),
            Some((_, None)) => (None, deletions),
            _ => {
                if map.len() >= MAX_ID_USERS {
                    map.clear();
                }
                map.insert(user, (-1, None));
                (None, deletions)
            }
        }
    }

    /// Combine what the store said with deliveries seen meanwhile.
    fn settle(&self, user: i64, from_store: i64, deletions_before: u64) -> i64 {
        let mut map = self.lock();
        let seen = map.get(&user).map_or(-1, |e| e.0);
        let id = from_store.max(seen);
        if self.deletions.load(Ordering::Acquire) == deletions_before {
            map.insert(user, (id, Some(Instant::now())));
        } else {
            map.remove(&user);
        }
        id
    }

    /// A message with this id reached these users.
    pub(crate) fn delivered(&self, users: impl Iterator<Item = i64>, message_id: i64) {
        let mut map = self.lock();
        if map.is_empty() {
            return;
        }
        for user in users {
            if let Some(e) = map.get_mut(&user) {
                e.0 = e.0.max(message_id);
            }
        }
    }

    /// Messages of these users were deleted: read their newest id again.
    pub(crate) fn forget(&self, users: &[i64]) {
        self.deletions.fetch_add(1, Ordering::AcqRel);
        let mut map = self.lock();
        for user in users {
            map.remove(user);
        }
    }

    /// Trust nothing (a node's fan-out may have missed notices).
    pub(crate) fn clear(&self) {
        self.deletions.fetch_add(1, Ordering::AcqRel);
        self.lock().clear();
    }
}

/// Zulip's `isoformat(timespec="minutes")` of a UTC timestamp: `2024-01-15T10:30+00:00`.
pub fn iso_minutes(micros: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(micros.div_euclid(1_000_000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}+00:00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// Zulip's Gravatar URL for an email (identicon default), with the avatar version.
pub(crate) fn gravatar_url(email: &str, version: i64) -> String {
    let hash = hex::encode(md5::compute(email.to_lowercase().as_bytes()).0);
    format!("https://secure.gravatar.com/avatar/{hash}?d=identicon&version={version}")
}

impl App {
    /// The avatar URL of a user without an uploaded avatar (Zulip's Gravatar default).
    pub fn avatar_url(&self, user: &UserRow) -> String {
        gravatar_url(&user.email, user.avatar_version)
    }

    /// The realm icon URL (Zulip's Gravatar identicon of the realm's string id).
    pub fn realm_icon_url(&self, string_id: &str) -> String {
        let hash = hex::encode(md5::compute(string_id.to_lowercase().as_bytes()).0);
        format!("https://secure.gravatar.com/avatar/{hash}?d=identicon")
    }

    /// Zulip's `format_user_row`: the user object of `GET /users`, `realm_users` and
    /// `realm_user` events.
    pub fn user_object(&self, user: &UserRow) -> User {
        let role = user.role;
        User {
            email: user.email.clone(),
            user_id: user.id,
            avatar_version: user.avatar_version,
            is_admin: role == 100 || role == 200,
            is_owner: role == 100,
            is_guest: role == 600,
            role,
            is_bot: user.is_bot,
            full_name: user.full_name.clone(),
            timezone: user.timezone.clone(),
            is_active: Some(user.is_active),
            date_joined: iso_minutes(user.date_joined),
            delivery_email: user.delivery_email.clone(),
            avatar_url: self.avatar_url(user),
            kind: if user.is_bot {
                UserKind::Bot {
                    bot_type: user.bot_type,
                    bot_owner_id: user.bot_owner_id,
                }
            } else {
                UserKind::Human {
                    profile_data: ProfileData {},
                }
            },
            is_system_bot: None,
        }
    }

    /// Whether `user` is one of the server's own bots (Welcome Bot), which Zulip lists in
    /// `cross_realm_bots` with `is_system_bot`, not among the organization's users.
    pub fn is_system_bot(&self, user: &UserRow) -> bool {
        user.is_bot
            && user.bot_owner_id.is_none()
            && (user.email.starts_with("welcome-bot@")
                || user.email.starts_with("notification-bot@"))
    }

    /// A bot as `realm_bots` and `realm_bot` events carry it — never with its key (D2).
    pub fn realm_bot_object(&self, bot: &UserRow) -> RealmBot {
        RealmBot {
            email: bot.email.clone(),
            user_id: bot.id,
            full_name: bot.full_name.clone(),
            bot_type: bot.bot_type,
            is_active: bot.is_active,
            default_sending_stream: None,
            default_events_register_stream: None,
            default_all_public_streams: false,
            avatar_url: self.avatar_url(bot),
            services: Vec::new(),
            owner_id: bot.bot_owner_id,
        }
    }

    /// `GET /users/me`: the caller's own user object (with `delivery_email`) and
    /// `max_message_id`. Served from memory once warm: the object, as JSON text, is cached
    /// under the key's cache entry (dropped by the same invalidations) and the newest message
    /// id follows deliveries.
    pub async fn own_profile(&self, who: &crate::Principal) -> Result<OwnProfile> {
        let cache = &self.inner.key_cache;
        let user = match cache.profile(who) {
            Some(json) => json,
            None => {
                let row = self
                    .store()
                    .user_by_id(who.user_id.0)
                    .await?
                    .ok_or_else(|| crate::AppError::bad("No such user"))?;
                let json: std::sync::Arc<str> = serde_json::to_string(&self.user_object(&row))
                    .unwrap_or_default()
                    .into();
                cache.remember_profile(who, json.clone());
                json
            }
        };
        let ids = self.events().max_message_ids();
        let max_message_id = match ids.get_or_begin(who.user_id.0) {
            (Some(id), _) => id,
            (None, deletions) => {
                let from_store = self.store().max_message_id(who.user_id.0).await?;
                ids.settle(who.user_id.0, from_store, deletions)
            }
        };
        Ok(OwnProfile {
            user,
            max_message_id,
        })
    }

    /// `GET /users`: everyone in the caller's realm, by id.
    pub async fn list_users(&self, who: &crate::Principal) -> Result<Vec<User>> {
        Ok(self
            .store()
            .users_in_realm(who.realm_id)
            .await?
            .iter()
            .map(|u| self.user_object(u))
            .collect())
    }

    /// `GET /users/{id}` and `/users/{email}`: one user of the caller's realm.
    pub async fn get_user(
        &self,
        who: &crate::Principal,
        id: Option<i64>,
        email: Option<&str>,
    ) -> Result<User> {
        let user = match (id, email) {
            (Some(id), _) => self.store().user_by_id(id).await?,
            (None, Some(e)) => self.store().user_by_email(who.realm_id, e.trim()).await?,
            (None, None) => None,
        }
        .filter(|u| u.realm_id == who.realm_id)
        .ok_or_else(|| crate::AppError::bad("No such user"))?;
        Ok(self.user_object(&user))
    }
}

#[cfg(test)]
mod tests {
    use super::MaxMessageIds;

    #[test]
    fn max_message_ids_race_with_deliveries_and_deletions() {
        let ids = MaxMessageIds::default();
        // A read from the store is under way when message 9 is delivered: the larger wins.
        let (cached, deletions) = ids.get_or_begin(1);
        assert_eq!(cached, None);
        ids.delivered([1, 2].into_iter(), 9);
        assert_eq!(ids.settle(1, 7, deletions), 9);
        assert_eq!(ids.get_or_begin(1).0, Some(9));
        // Later deliveries raise the kept value; users not kept are not added.
        ids.delivered([1, 2].into_iter(), 12);
        assert_eq!(ids.get_or_begin(1).0, Some(12));
        assert_eq!(ids.lock().get(&2), None);
        // A deletion during a read: the answer is served but not kept.
        ids.forget(&[1]);
        let (cached, deletions) = ids.get_or_begin(1);
        assert_eq!(cached, None);
        ids.forget(&[3]);
        assert_eq!(ids.settle(1, 11, deletions), 11);
        assert_eq!(
            ids.get_or_begin(1).0,
            None,
            "not trusted after a racing deletion"
        );
        // A fan-out reconnect forgets everything.
        let (_, deletions) = ids.get_or_begin(4);
        ids.settle(4, 5, deletions);
        ids.clear();
        assert_eq!(ids.get_or_begin(4).0, None);
    }

    #[test]
    fn iso_minutes_format() {
        assert_eq!(
            super::iso_minutes(1_705_314_600_000_000),
            "2024-01-15T10:30+00:00"
        );
    }
}
