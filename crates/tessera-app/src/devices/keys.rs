//! A key per app login: when the organization's policy says so (the default), `fetch_api_key`
//! and the mobile hand-off give each login its own device key — Zulip's 32-character shape and
//! checksum, full scope — instead of the account key. Each is listed in Settings → Devices
//! with its app, first and last use and address; signing one device out revokes that key and
//! its push registrations; a new account key ("Generate new API key", "Log out everywhere")
//! revokes them all.

use crate::{App, Result};
use tessera_core::{ApiKey, KeyKind, KeyScope};
use tessera_store::{NewApiKey, UserRow};

/// The most live device keys an account keeps: a further login revokes the least recently
/// used (an app that logs in again and again cannot grow the table without bound).
pub const MAX_DEVICE_KEYS: i64 = 100;

/// How a device key is named: the app, at most this many characters.
const MAX_DEVICE_NAME: usize = 60;

impl App {
    /// The key an app login gets: a new device key named `app` (made at `address`), or with
    /// the policy off the account key, as Zulip does.
    pub(crate) async fn key_for_login(
        &self,
        user: &UserRow,
        app: &str,
        address: Option<&str>,
    ) -> Result<ApiKey> {
        if !self.key_policy(user.realm_id).await?.key_per_login {
            return self.reveal_api_key(user);
        }
        let name: String = app.chars().take(MAX_DEVICE_NAME).collect();
        let (_, key) = self
            .insert_key(
                NewApiKey {
                    user_id: user.id,
                    kind: KeyKind::Device.as_str(),
                    name: &name,
                    digest: &[],
                    scope: KeyScope::FULL.bits(),
                    expires_at: None,
                    allowed_networks: None,
                    created_address: address,
                    keep_at_most: Some(MAX_DEVICE_KEYS),
                    made_by_key_id: None,
                },
                user.id,
            )
            .await?;
        Ok(key)
    }
}
