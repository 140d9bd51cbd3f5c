//! `PATCH /realm`: administrators change the organization's settings (Zulip's `update_realm`).
//! Every value is checked before anything changes; each changed setting is stored with an
//! audit row and announced to the whole organization with a `realm` event.

use crate::{App, AppError, Notice, Principal, Result};
use serde_json::{Map, Value, json};
use tessera_core::Role;
use tessera_core::realm_settings::{self, Kind, RealmSetting};
use tessera_store::SettingChange;

impl App {
    /// `PATCH /realm` with the values as sent. Returns Zulip's answer data: each changed
    /// setting with its new value (`"updated"` for text).
    pub async fn update_realm(
        &self,
        who: &Principal,
        sent: Vec<(&'static RealmSetting, String)>,
    ) -> Result<Map<String, Value>> {
        if !who.role.is_admin() {
            return Err(AppError::UnauthorizedPrincipal(
                "Must be an organization administrator".into(),
            ));
        }
        if sent.iter().any(|(s, _)| s.owner_only) && who.role != Role::Owner {
            return Err(AppError::UnauthorizedPrincipal(
                "Must be an organization owner".into(),
            ));
        }
        let groups = self.realm_groups(who.realm_id).await?;
        let mut checked = Vec::with_capacity(sent.len());
        for (setting, raw) in &sent {
            let value = realm_settings::parse(setting, raw).map_err(AppError::bad)?;
            match setting.kind {
                Kind::Channel => {
                    self.check_announcement_channel(who.realm_id, &value)
                        .await?
                }
                Kind::Group => check_group_setting(setting.name, &value, &groups)?,
                _ => {}
            }
            checked.push((*setting, value));
        }
        let mut current = self.realm_values(who.realm_id, &groups).await?;
        // tessera's own settings are not in `register`'s values.
        let policy = self.key_policy(who.realm_id).await?;
        current.insert(
            "realm_api_key_per_login".into(),
            json!(policy.key_per_login),
        );
        current.insert(
            "realm_max_api_key_lifetime_days".into(),
            json!(policy.max_lifetime_days),
        );
        let changes: Vec<(&RealmSetting, Value)> = checked
            .into_iter()
            .filter(|(s, v)| current.get(&format!("realm_{}", s.name)) != Some(v))
            .collect();
        let mut data = Map::new();
        if changes.is_empty() {
            return Ok(data);
        }
        let rows: Vec<SettingChange> = changes
            .iter()
            .map(|(s, v)| {
                SettingChange::between(s.name, current.get(&format!("realm_{}", s.name)), v)
            })
            .collect();
        self.store()
            .set_realm_settings(who.realm_id, &rows, Some(who.user_id.0), self.now())
            .await?;
        let everyone = self.store().active_user_ids(who.realm_id).await?;
        for (setting, value) in changes {
            if realm_settings::is_tessera_own(setting) {
                data.insert(setting.name.into(), value);
                continue;
            }
            // Zulip: group settings come as `update_dict`, the rest as `update`.
            let event = if setting.kind == Kind::Group {
                json!({"type": "realm", "op": "update_dict", "property": "default",
                       "data": {setting.name: value}})
            } else {
                json!({"type": "realm", "op": "update", "property": setting.name,
                       "value": value})
            };
            self.events()
                .publish(Notice::plain(everyone.clone(), event));
            let answer = if value.is_string() {
                json!("updated")
            } else {
                value
            };
            data.insert(setting.name.into(), answer);
        }
        Ok(data)
    }

    /// The settings an organization changed from Zulip's defaults, read once for a use-case
    /// that needs several of them.
    pub(crate) async fn stored_realm_settings(&self, realm_id: i64) -> Result<StoredSettings> {
        Ok(StoredSettings(
            self.store()
                .realm_settings(realm_id)
                .await?
                .into_iter()
                .filter_map(|(k, v)| serde_json::from_str(&v).ok().map(|v| (k, v)))
                .collect(),
        ))
    }

    /// The value an organization stored for a setting (`None`: Zulip's default applies).
    pub(crate) async fn realm_setting(&self, realm_id: i64, name: &str) -> Result<Option<Value>> {
        Ok(self
            .stored_realm_settings(realm_id)
            .await?
            .get(name)
            .cloned())
    }

    /// An announcement channel setting names one of the organization's channels, or -1.
    async fn check_announcement_channel(&self, realm_id: i64, value: &Value) -> Result<()> {
        let id = value.as_i64().unwrap_or(0);
        if id == -1 {
            return Ok(());
        }
        match self.store().stream_by_id(id).await? {
            Some(s) if s.realm_id == realm_id => Ok(()),
            _ => Err(AppError::bad("Invalid channel ID")),
        }
    }
}

/// An organization's stored settings (those changed from Zulip's defaults).
pub(crate) struct StoredSettings(Vec<(String, Value)>);

impl StoredSettings {
    /// The stored value (`None`: Zulip's default applies).
    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// A boolean setting, `default` when never changed.
    pub(crate) fn flag(&self, name: &str, default: bool) -> bool {
        self.get(name).and_then(Value::as_bool).unwrap_or(default)
    }

    /// An integer setting: the stored value, `default` when never changed, `None` for a
    /// stored `null` (Zulip's "unlimited").
    pub(crate) fn limit(&self, name: &str, default: Option<i64>) -> Option<i64> {
        match self.get(name) {
            None => default,
            Some(Value::Null) => None,
            Some(v) => v.as_i64().or(default),
        }
    }
}

/// Zulip's `access_user_group_for_setting`: the group exists in the organization and is one
/// the setting may take.
fn check_group_setting(
    name: &str,
    value: &Value,
    groups: &crate::user_groups::RealmGroups,
) -> Result<()> {
    let id = value.as_i64().unwrap_or(0);
    let group = groups
        .rows
        .iter()
        .find(|g| g.id == id)
        .ok_or_else(|| AppError::bad("Invalid user group"))?;
    let rules = &crate::register::realm::permission_settings()["realm"][name];
    if rules["require_system_group"] == true && !group.is_system_group {
        return Err(AppError::bad(format!(
            "'{name}' must be a system user group."
        )));
    }
    let refused = match group.name.as_str() {
        "role:internet" => rules["allow_internet_group"] != true,
        "role:owners" => rules["allow_owners_group"] != true,
        "role:nobody" => rules["allow_nobody_group"] != true,
        "role:everyone" => rules["allow_everyone_group"] != true,
        _ => false,
    };
    if refused {
        return Err(AppError::bad(format!(
            "'{name}' setting cannot be set to '{}' group.",
            group.name
        )));
    }
    Ok(())
}
