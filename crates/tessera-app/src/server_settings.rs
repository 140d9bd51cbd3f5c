//! `GET /server_settings` (Zulip's `get_server_settings`): what apps read before logging
//! in, for the organization the request's host names.

use crate::{App, AppError, Result, ZULIP_FEATURE_LEVEL, ZULIP_VERSION};
use serde_json::{Value, json};

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl App {
    /// The settings of the organization at `host` (`Invalid subdomain` for none);
    /// `is_incompatible` for a `ZulipInvalid` user agent, as Zulip's test clients send.
    pub async fn server_settings(&self, host: Option<&str>, user_agent: &str) -> Result<Value> {
        let sub = self.subdomain_for_host(host);
        let realm = self
            .realm_by_string_id(&sub)
            .await?
            .ok_or_else(|| AppError::bad("Invalid subdomain"))?;
        let info = self.realm_info(realm);
        let password = info.row.password_auth_enabled;
        let description = if info.row.description.trim().is_empty() {
            "<p>The coolest place in the universe.</p>".to_owned()
        } else {
            format!("<p>{}</p>", escape_html(info.row.description.trim()))
        };
        Ok(json!({
            "authentication_methods": {
                "password": password,
                "dev": self.config().development,
                "email": password,
                "ldap": false,
                "remoteuser": false,
                "github": false,
                "azuread": false,
                "gitlab": false,
                "apple": false,
                "google": false,
                "saml": false,
                "openid connect": false,
            },
            "zulip_version": ZULIP_VERSION,
            "zulip_merge_base": ZULIP_VERSION,
            "zulip_feature_level": ZULIP_FEATURE_LEVEL,
            "push_notifications_enabled": false,
            "is_incompatible": user_agent.starts_with("ZulipInvalid"),
            "email_auth_enabled": password,
            "require_email_format_usernames": true,
            "realm_url": info.url,
            "realm_name": info.row.name,
            "realm_icon": self.realm_icon_url(&info.row.string_id),
            "realm_description": description,
            "realm_web_public_access_enabled": false,
            "external_authentication_methods": [],
            "realm_uri": info.url,
        }))
    }
}
