//! `PATCH /settings`: a person changes their own settings (Zulip's `json_change_settings`):
//! their name, their password, and the personal settings of `tessera_core::user_settings`.
//! Every value is checked before anything changes; each changed setting is stored with an
//! audit row and announced with Zulip's events.

use crate::{App, AppError, Notice, Principal, Result};
use serde_json::{Value, json};
use tessera_core::user_settings::{self, Legacy, Setting};
use tessera_store::{SettingChange, UserRow};

/// What one `PATCH /settings` asks for.
#[derive(Default)]
pub struct SettingsRequest {
    pub full_name: Option<String>,
    pub old_password: Option<String>,
    pub new_password: Option<String>,
    /// tessera's own option of the password change (zulip#21636).
    pub regenerate_api_key: bool,
    /// Personal settings as sent (booleans and integers JSON-decoded, strings as text).
    pub values: Vec<(&'static Setting, Value)>,
    /// The web session the request came in on (it stays signed in after a password change).
    pub session_id: Option<i64>,
}

impl App {
    /// `PATCH /settings`. Human users only; nothing changes unless every value is valid and,
    /// for a new password, the old one is right.
    pub async fn change_settings(&self, who: &Principal, req: SettingsRequest) -> Result<()> {
        who.require_human()?;
        let me = self.user_row(who.user_id.0).await?;
        let mut checked = Vec::with_capacity(req.values.len());
        for (setting, value) in &req.values {
            let value = user_settings::check(setting, value).map_err(AppError::bad)?;
            checked.push((*setting, value));
        }
        let full_name = match req.full_name.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() && name != me.full_name => {
                Some(tessera_core::names::check_full_name(name).map_err(AppError::bad)?)
            }
            _ => None,
        };
        if let Some(new_password) = req.new_password.as_deref() {
            let old = req.old_password.as_deref().unwrap_or_default();
            self.change_own_password(
                &me,
                req.session_id,
                old,
                new_password,
                req.regenerate_api_key,
            )
            .await?;
        }
        if let Some(name) = full_name {
            self.change_own_full_name(who, &me, &name).await?;
        }
        let current = self.personal_settings(&me).await?;
        let changes: Vec<(&Setting, Value)> = checked
            .into_iter()
            .filter(|(s, v)| current.get(s.name) != Some(v))
            .collect();
        if changes.is_empty() {
            return Ok(());
        }
        let rows: Vec<SettingChange> = changes
            .iter()
            .map(|(s, v)| SettingChange::between(s.name, current.get(s.name), v))
            .collect();
        self.store()
            .set_user_settings(me.id, &rows, me.id, self.now())
            .await?;
        if changes
            .iter()
            .any(|(s, v)| s.name == "enable_drafts_synchronization" && *v == false)
        {
            // Zulip deletes the drafts it may no longer keep, without events.
            self.store().delete_drafts_of(me.id).await?;
        }
        if changes.iter().any(|(s, _)| s.name == "timezone") {
            self.inner.key_cache.evict(&me.api_key_digest).await;
        }
        for (setting, value) in changes {
            self.announce_setting(&me, setting, value).await?;
        }
        Ok(())
    }

    /// A name change from `PATCH /settings`. Ignored (as Zulip does) when the organization
    /// disabled name changes and the caller is not an administrator.
    async fn change_own_full_name(&self, who: &Principal, me: &UserRow, name: &str) -> Result<()> {
        let disabled = self
            .realm_setting(me.realm_id, "name_changes_disabled")
            .await?
            == Some(Value::Bool(true));
        if disabled && !who.role.is_admin() {
            return Ok(());
        }
        self.store()
            .set_full_name(me.id, name, me.id, self.now())
            .await?;
        self.inner.key_cache.evict(&me.api_key_digest).await;
        let everyone = self.store().active_user_ids(me.realm_id).await?;
        self.events().publish(Notice::plain(
            everyone,
            json!({"type": "realm_user", "op": "update",
                   "person": {"user_id": me.id, "full_name": name}}),
        ));
        Ok(())
    }

    /// Zulip's `do_change_user_setting` events: `user_settings` `update`, the legacy event
    /// for queues without the `user_settings_object` capability, and for `timezone` a
    /// `realm_user` update for everyone.
    async fn announce_setting(&self, me: &UserRow, setting: &Setting, value: Value) -> Result<()> {
        let name = setting.name;
        let language = (name == "default_language")
            .then(|| value.as_str().and_then(user_settings::language_name))
            .flatten();
        let mut event = json!({"type": "user_settings", "op": "update",
                               "property": name, "value": value});
        if let Some(language) = language {
            event["language_name"] = json!(language);
        }
        self.events().publish(Notice::plain(vec![me.id], event));
        let legacy = match setting.legacy {
            Some(Legacy::Display) => Some(json!({"type": "update_display_settings",
                "user": me.email, "setting_name": name, "setting": value})),
            Some(Legacy::Notifications) => Some(json!({"type": "update_global_notifications",
                "user": me.email, "notification_name": name, "setting": value})),
            None => None,
        };
        if let Some(mut legacy) = legacy {
            if let Some(language) = language {
                legacy["language_name"] = json!(language);
            }
            self.events().publish(Notice::plain(vec![me.id], legacy));
        }
        if name == "timezone" {
            let everyone = self.store().active_user_ids(me.realm_id).await?;
            self.events().publish(Notice::plain(
                everyone,
                json!({"type": "realm_user", "op": "update",
                       "person": {"user_id": me.id, "timezone": value}}),
            ));
        }
        Ok(())
    }
}
