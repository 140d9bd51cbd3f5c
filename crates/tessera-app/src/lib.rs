//! tessera's use-cases. The HTTP layer and the CLI both call these methods on [`App`], so a
//! script and a Zulip client go through exactly the same rules. Nothing here knows about HTTP:
//! errors are [`AppError`]s and the wire layer decides statuses and codes.

mod accounts;
mod api_keys;
mod auth;
mod bot_storage;
mod bots;
mod clock;
mod config;
mod devices;
mod drafts;
mod error;
mod events;
mod fanout;
mod key_cache;
mod key_policy;
mod leaked_keys;
mod mail;
mod maintenance;
mod messages;
mod metrics;
mod named_keys;
mod password_reset;
mod passwords;
mod presence;
mod push_devices;
mod rate_limit;
mod realm;
mod realms;
pub(crate) mod register;
mod server_settings;
mod sessions;
mod settings;
mod stream_settings;
mod streams;
mod subscription_properties;
mod typing;
mod uploads;
mod user_groups;
mod user_status;
mod user_topics;
mod users;
mod webhooks;

pub use accounts::Bootstrap;
pub use api_keys::FetchedKey;
pub use auth::{AuthFailure, KeyGrant, Principal};
pub use bots::{BotPatch, BotView, MAX_KEY_OVERLAP_SECS, NewBot};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::Config;
pub use devices::{Devices, MAX_DEVICE_KEYS, USE_RECORD_INTERVAL_SECS};
pub use drafts::{Draft, DraftInput};
pub use error::{AppError, Result};
pub use events::{
    EventHub, EventQueue, Notice, QUEUE_IDLE_SECS, QueueError, QueueOptions, queue_narrow,
};
pub use key_cache::KeyCache;
pub use key_policy::KeyPolicy;
pub use mail::{MailConfig, MailTransport, OutboxMail, OutgoingMail, read_outbox};
pub use messages::{
    Anchor, ContentType, Destination, DisplayRecipient, Fetch, FlagsForNarrow, Message,
    MessageType, MessagesPage, NarrowTerm, Outgoing, Reaction, UserRef,
};
pub use metrics::Metrics;
pub use named_keys::{KeyOwner, KeyUse, MAX_KEY_NAME_LENGTH, NamedKeyView, NewKey};
pub use password_reset::RESET_LINK_LIFETIME_SECS;
pub use push_devices::PushService;
pub use rate_limit::{RateLimitInfo, RateLimiter};
pub use realms::RealmInfo;
pub use register::RegisterRequest;
pub use sessions::{NewSession, SESSION_LIFETIME_SECS, SessionCaller};
pub use settings::SettingsRequest;
pub use stream_settings::StreamPatch;
pub use streams::{
    Channel, DEFAULT_STREAM, STREAM_COLORS, SubscribeRequest, SubscribeResult, Subscription,
};
pub use subscription_properties::{SubscriptionData, is_hex_color};
pub use tessera_store::{
    ApiClientRow, AuditRow, Engine, PushDeviceRow, RealmRow, SessionOrigin, SessionRow, Store,
    UserRow,
};
pub use typing::TypingTo;
pub use uploads::{Download, DownloadRefused, TEMPORARY_URL_SECS, Uploaded};
pub use user_groups::{SYSTEM_GROUPS, UserGroup};
pub use user_status::StatusRequest;
pub use user_topics::ChannelRef;
pub use users::{OwnProfile, ProfileData, RealmBot, User, UserKind, iso_minutes};

use std::sync::Arc;
use tessera_core::ServerSecret;

/// Everything a request or a CLI command needs. Cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    secret: ServerSecret,
    config: Config,
    clock: Arc<dyn Clock>,
    key_cache: KeyCache,
    passwords: passwords::PasswordPool,
    limits: rate_limit::Limits,
    mailer: mail::Mailer,
    events: EventHub,
    presence: presence::PresenceBook,
    http: reqwest::Client,
    uses: devices::UseLog,
    /// This process's name in the event fan-out.
    node_id: String,
    metrics: Metrics,
    /// When this process started (seconds): Zulip's `server_generation`.
    started: i64,
}

/// The Zulip version tessera speaks (decision D1).
pub const ZULIP_VERSION: &str = "10.0";
/// The feature level tessera advertises (decision D1).
pub const ZULIP_FEATURE_LEVEL: i64 = 371;
/// `max_file_upload_size_mib`: Zulip's default `MAX_FILE_UPLOAD_SIZE`.
pub const MAX_FILE_UPLOAD_SIZE_MIB: i64 = 25;

impl App {
    /// Assemble the application over an opened, migrated store.
    pub fn new(
        store: Store,
        secret: ServerSecret,
        config: Config,
        clock: Arc<dyn Clock>,
    ) -> Result<App> {
        let mailer = mail::Mailer::new(&config.mail)?;
        let metrics =
            Metrics::new().map_err(|e| AppError::Config(format!("metrics registry: {e}")))?;
        let key_cache = KeyCache::new(store.clone(), config.key_cache_capacity).with_counters(
            metrics.key_cache_hits.clone(),
            metrics.key_cache_misses.clone(),
        );
        let passwords = passwords::PasswordPool::new(config.password_hash_concurrency)
            .with_gauge(metrics.password_hashes_in_flight.clone());
        let limits = rate_limit::Limits::new(&config);
        Ok(App {
            inner: Arc::new(Inner {
                store,
                secret,
                config,
                clock: clock.clone(),
                key_cache,
                passwords,
                limits,
                mailer,
                events: EventHub::default(),
                presence: presence::PresenceBook::default(),
                http: reqwest::Client::builder()
                    .timeout(std::time::Duration::from_secs(30))
                    .build()
                    .map_err(|e| AppError::Config(format!("HTTP client: {e}")))?,
                uses: devices::UseLog::default(),
                node_id: tessera_core::Token::generate().expose().to_owned(),
                metrics,
                started: clock.now_micros().div_euclid(1_000_000),
            }),
        })
    }

    /// The event queues of this process.
    pub fn events(&self) -> &EventHub {
        &self.inner.events
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// Send one email (SMTP or the outbox).
    pub async fn send_mail(&self, mail: OutgoingMail) -> Result<()> {
        self.inner
            .mailer
            .send(&self.inner.config.mail.from, mail)
            .await
    }

    /// The outbox folder, when mail goes to one rather than to SMTP.
    /// How strong a new password looks, by the rule the server enforces (run on the
    /// password workers: an unauthenticated page asks for it).
    pub async fn password_strength(
        &self,
        password: String,
    ) -> Result<tessera_core::password::PasswordStrength> {
        self.inner.passwords.strength(password).await
    }

    pub fn outbox_dir(&self) -> Option<&std::path::Path> {
        self.inner.mailer.outbox_dir()
    }

    /// The store. Only the use-cases of this crate reach it; handlers and the binary call
    /// `App` methods. The `testing` feature opens it to integration tests (their set-up and
    /// the rows they check).
    #[cfg(feature = "testing")]
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    #[cfg(not(feature = "testing"))]
    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The key cache (the server starts its invalidation listener through it).
    pub fn key_cache(&self) -> &KeyCache {
        &self.inner.key_cache
    }

    /// Microseconds since the Unix epoch, from the injected clock.
    pub fn now(&self) -> i64 {
        self.inner.clock.now_micros()
    }

    pub(crate) fn secret(&self) -> &ServerSecret {
        &self.inner.secret
    }
}

/// Check that `secret` is the one this store was initialised with. A store that was never
/// initialised passes.
pub async fn check_secret(store: &Store, secret: &ServerSecret) -> Result<()> {
    match store.meta_get("secret_check").await? {
        Some(v) if v != secret.check_value() => Err(AppError::Config(
            "the server secret does not match this database (wrong secret file or TESSERA_SECRET?)"
                .into(),
        )),
        _ => Ok(()),
    }
}
