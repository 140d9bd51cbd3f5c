//! Domain types and crypto for tessera. Nothing here does I/O: no sockets, no files, no clock.
//!
//! Everything that decides whether a credential is well-formed, how a secret is sealed or
//! digested, and how Zulip's wire formats (Basic auth, `zuliprc`) are read and written lives
//! here, so it can be unit-tested, property-tested and fuzzed without a runtime.

pub mod api_key;
pub mod basic_auth;
pub mod email;
pub mod emoji;
pub mod html_diff;
pub mod ids;
pub mod key_limits;
pub mod key_scope;
pub mod markdown;
pub mod mobile_auth;
pub mod names;
pub mod password;
pub mod realm_settings;
pub mod role;
pub mod secret_scanning;
pub mod secrets;
pub mod token;
pub mod uploads;
pub mod user_agent;
pub mod user_settings;
pub mod wire;
pub mod zuliprc;

pub use api_key::{ApiKey, ApiKeyError};
pub use email::Email;
pub use ids::{RealmId, UserId};
pub use key_limits::{KeyKind, Networks};
pub use key_scope::KeyScope;
pub use role::{BotType, Role};
pub use secrets::{KeyDigest, SealedSecret, ServerSecret};
pub use token::Token;
