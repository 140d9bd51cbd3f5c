//! An organization's API-key policy (tessera's own settings, changed with `PATCH /realm`):
//! whether each app login gets its own key, and the longest lifetime of a new named key.

use crate::{App, Result};

/// What an organization decided about keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct KeyPolicy {
    /// `fetch_api_key` and the mobile hand-off give each login its own device key (on by
    /// default); off: every login gets the account key, as in Zulip.
    pub key_per_login: bool,
    /// The longest lifetime of a new named key, in days (`None`: no limit).
    pub max_lifetime_days: Option<i64>,
}

impl App {
    /// The API-key policy of an organization.
    pub async fn key_policy(&self, realm_id: i64) -> Result<KeyPolicy> {
        let stored = self.stored_realm_settings(realm_id).await?;
        Ok(KeyPolicy {
            key_per_login: stored.flag("api_key_per_login", true),
            max_lifetime_days: stored.limit("max_api_key_lifetime_days", None),
        })
    }
}
