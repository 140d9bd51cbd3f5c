//! Application configuration, validated once and passed down (no globals).

use crate::mail::{MailConfig, MailTransport};
use url::Url;

/// What the use-cases need to know about the deployment.
#[derive(Debug, Clone)]
pub struct Config {
    /// The root realm's URL (`--site-url`), no trailing slash; written into `zuliprc`.
    pub site_url: Url,
    /// Domain for bot emails when the site's host is not a valid email domain (Zulip's
    /// `FAKE_EMAIL_DOMAIN`).
    pub fake_email_domain: String,
    /// Serve `dev_fetch_api_key` (Zulip's development mode).
    pub development: bool,
    /// `authenticate_by_username`: (window seconds, attempts). Zulip: (1800, 5).
    pub auth_by_username: (u64, u32),
    /// Failed `fetch_api_key` attempts per client IP: (window seconds, failures).
    pub auth_failures_by_ip: (u64, u32),
    /// Argon2 hashes allowed to run at once.
    pub password_hash_concurrency: usize,
    /// Entries in the key cache.
    pub key_cache_capacity: u64,
    /// Outgoing email.
    pub mail: MailConfig,
    /// Zulip's `password_reset_form_by_email`: [(3600, 2), (86400, 5)].
    pub reset_by_email: [(u64, u32); 2],
    /// Zulip's `sends_email_by_ip`: (86400, 5).
    pub emails_by_ip: (u64, u32),
    /// Zulip's `api_by_user`: (60, 200) — every authenticated request counts.
    pub api_by_user: (u64, u32),
    /// How long `GET /events` waits before answering with a heartbeat (Zulip: 45–55 s).
    pub event_heartbeat: std::time::Duration,
    /// Public keys that may sign leak reports (`--secret-scanning-keys`); `None`: reports are
    /// refused.
    pub secret_scanning_keys: Option<tessera_core::secret_scanning::PublicKeys>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`--trusted-proxies`); `None`:
    /// the connection's peer is the client.
    pub trusted_proxies: Option<tessera_core::Networks>,
}

impl Config {
    /// Defaults for a site URL.
    pub fn new(site_url: Url) -> Config {
        Config {
            site_url,
            fake_email_domain: "tessera.localhost".into(),
            development: false,
            auth_by_username: (1800, 5),
            auth_failures_by_ip: (600, 100),
            password_hash_concurrency: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            key_cache_capacity: 100_000,
            mail: MailConfig {
                from: "Tessera <noreply@tessera.localhost>".into(),
                transport: MailTransport::Outbox(std::env::temp_dir().join("tessera-outbox")),
            },
            reset_by_email: [(3600, 2), (86400, 5)],
            emails_by_ip: (86400, 5),
            api_by_user: (60, 200),
            event_heartbeat: std::time::Duration::from_secs(50),
            secret_scanning_keys: None,
            trusted_proxies: None,
        }
    }
}
