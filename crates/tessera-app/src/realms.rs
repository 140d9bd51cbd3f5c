//! Realms by Host, realm URLs and bot email domains.

use crate::{App, AppError, Result};
use tessera_store::RealmRow;
use url::Url;

/// A realm with its URL.
#[derive(Debug, Clone)]
pub struct RealmInfo {
    pub row: RealmRow,
    /// `realm_url` / `realm_uri`, no trailing slash.
    pub url: String,
}

impl App {
    /// The subdomain a `Host` header names (Zulip's `get_subdomain`): lower-cased; a host
    /// ending in `.` + the site's host gives the prefix (`www` means the root); anything else
    /// is the root realm `""`.
    pub fn subdomain_for_host(&self, host: Option<&str>) -> String {
        let Some(host) = host else {
            return String::new();
        };
        let host = host.trim().to_lowercase();
        let site = &self.config().site_url;
        let root = site_authority(site);
        let root_host = site.host_str().unwrap_or("").to_lowercase();
        for base in [root.as_str(), root_host.as_str()] {
            if let Some(prefix) = host.strip_suffix(base).and_then(|p| p.strip_suffix('.')) {
                if prefix == "www" || prefix.is_empty() {
                    return String::new();
                }
                return prefix.to_owned();
            }
        }
        String::new()
    }

    /// The realm at `subdomain`, or Zulip's "Invalid subdomain".
    pub async fn realm_for_subdomain(&self, subdomain: &str) -> Result<RealmInfo> {
        let row = self
            .realm_by_string_id(subdomain)
            .await?
            .ok_or(AppError::InvalidSubdomain)?;
        Ok(self.realm_info(row))
    }

    /// The realm at `subdomain` (cached with the keys; see [`crate::KeyCache`]).
    pub async fn realm_by_string_id(&self, subdomain: &str) -> Result<Option<RealmRow>> {
        self.inner.key_cache.realm_by_string_id(subdomain).await
    }

    /// The realm with this id (cached with the keys).
    pub async fn realm_by_id(&self, id: i64) -> Result<RealmRow> {
        self.inner.key_cache.realm_by_id(id).await
    }

    /// A realm row with its URL.
    pub fn realm_info(&self, row: RealmRow) -> RealmInfo {
        let url = self.realm_url(&row.string_id);
        RealmInfo { row, url }
    }

    /// `realm_url` for a subdomain.
    pub fn realm_url(&self, string_id: &str) -> String {
        let site = &self.config().site_url;
        let base = format!("{}://{}", site.scheme(), site_authority(site));
        if string_id.is_empty() {
            base
        } else {
            format!("{}://{}.{}", site.scheme(), string_id, site_authority(site))
        }
    }

    /// The domain of bot emails in a realm: its host when that makes a valid email domain,
    /// otherwise the configured fake domain (Zulip's `get_fake_email_domain`).
    pub fn bot_domain(&self, string_id: &str) -> String {
        let host = self
            .config()
            .site_url
            .host_str()
            .unwrap_or("")
            .to_lowercase();
        let host = if string_id.is_empty() {
            host
        } else {
            format!("{string_id}.{host}")
        };
        if tessera_core::email::valid_domain(&host) {
            host
        } else {
            self.config().fake_email_domain.clone()
        }
    }
}

fn site_authority(site: &Url) -> String {
    let host = site.host_str().unwrap_or("localhost").to_lowercase();
    match site.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    }
}
