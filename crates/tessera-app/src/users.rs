//! User objects as Zulip's API formats them (`format_user_row`).

use crate::{App, Result};
use serde_json::{Value, json};
use tessera_store::UserRow;

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

impl App {
    /// The avatar URL of a user without an uploaded avatar (Zulip's Gravatar default).
    pub fn avatar_url(&self, user: &UserRow) -> String {
        let hash = hex::encode(md5::compute(user.email.to_lowercase().as_bytes()).0);
        format!(
            "https://secure.gravatar.com/avatar/{hash}?d=identicon&version={}",
            user.avatar_version
        )
    }

    /// The realm icon URL (Zulip's Gravatar identicon of the realm's string id).
    pub fn realm_icon_url(&self, string_id: &str) -> String {
        let hash = hex::encode(md5::compute(string_id.to_lowercase().as_bytes()).0);
        format!("https://secure.gravatar.com/avatar/{hash}?d=identicon")
    }

    /// Zulip's `format_user_row`: the user object of `GET /users`, `realm_users` and
    /// `realm_user` events.
    pub fn user_dict(&self, user: &UserRow) -> Value {
        let role = user.role;
        let mut v = json!({
            "email": user.email,
            "user_id": user.id,
            "avatar_version": user.avatar_version,
            "is_admin": role == 100 || role == 200,
            "is_owner": role == 100,
            "is_guest": role == 600,
            "role": role,
            "is_bot": user.is_bot,
            "full_name": user.full_name,
            "timezone": user.timezone,
            "is_active": user.is_active,
            "date_joined": iso_minutes(user.date_joined),
            "delivery_email": user.delivery_email,
            "avatar_url": self.avatar_url(user),
        });
        if let Some(map) = v.as_object_mut() {
            if user.is_bot {
                map.insert("bot_type".into(), json!(user.bot_type));
                map.insert("is_system_bot".into(), json!(false));
                map.insert("bot_owner_id".into(), json!(user.bot_owner_id));
            } else {
                map.insert("profile_data".into(), json!({}));
            }
        }
        v
    }

    /// A bot as `realm_bots` and `realm_bot` events carry it — never with its key (D2).
    pub fn realm_bot_dict(&self, bot: &UserRow) -> Value {
        let mut v = json!({
            "email": bot.email,
            "user_id": bot.id,
            "full_name": bot.full_name,
            "bot_type": bot.bot_type,
            "is_active": bot.is_active,
            "default_sending_stream": null,
            "default_events_register_stream": null,
            "default_all_public_streams": false,
            "avatar_url": self.avatar_url(bot),
            "services": [],
        });
        if let (Some(owner), Some(map)) = (bot.bot_owner_id, v.as_object_mut()) {
            map.insert("owner_id".into(), json!(owner));
        }
        v
    }

    /// `GET /users/me`: the caller's own user object (with `delivery_email`) and
    /// `max_message_id`.
    pub async fn own_profile(&self, user: &UserRow) -> Result<Value> {
        let mut v = self.user_dict(user);
        let max = self.store().max_message_id(user.id).await?;
        if let Some(map) = v.as_object_mut() {
            map.insert("max_message_id".into(), json!(max));
        }
        Ok(v)
    }

    /// `GET /users`: everyone in the caller's realm, by id.
    pub async fn list_users(&self, who: &crate::Principal) -> Result<Vec<Value>> {
        Ok(self
            .store()
            .users_in_realm(who.realm_id)
            .await?
            .iter()
            .map(|u| self.user_dict(u))
            .collect())
    }

    /// `GET /users/{id}` and `/users/{email}`: one user of the caller's realm.
    pub async fn get_user(
        &self,
        who: &crate::Principal,
        id: Option<i64>,
        email: Option<&str>,
    ) -> Result<Value> {
        let user = match (id, email) {
            (Some(id), _) => self.store().user_by_id(id).await?,
            (None, Some(e)) => self.store().user_by_email(who.realm_id, e.trim()).await?,
            (None, None) => None,
        }
        .filter(|u| u.realm_id == who.realm_id)
        .ok_or_else(|| crate::AppError::bad("No such user"))?;
        Ok(self.user_dict(&user))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn iso_minutes_format() {
        assert_eq!(
            super::iso_minutes(1_705_314_600_000_000),
            "2024-01-15T10:30+00:00"
        );
    }
}
