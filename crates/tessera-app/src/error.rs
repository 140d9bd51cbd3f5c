//! Use-case errors. No HTTP statuses here: `tessera-http`'s error module is the one place that
//! maps these to Zulip's wire.

use crate::auth::AuthFailure;
use crate::streams::html_escape;
use crate::user_topics::ChannelRef;
use tessera_store::StoreError;

/// Result alias for use-cases.
pub type Result<T> = std::result::Result<T, AppError>;

/// What a use-case can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// An API-key credential was refused.
    #[error("{0}")]
    Auth(AuthFailure),
    /// Username/password refused (`AUTHENTICATION_FAILED`).
    #[error("Your username or password is incorrect")]
    AuthenticationFailed,
    /// Password authentication is off for the realm.
    #[error("Password authentication is disabled in this organization")]
    PasswordAuthDisabled,
    /// The account is deactivated (on a password path: `USER_DEACTIVATED`).
    #[error("Account is deactivated")]
    UserDeactivated,
    /// The realm is deactivated (`REALM_DEACTIVATED`).
    #[error("This organization has been deactivated")]
    RealmDeactivated,
    /// No realm is served at this host.
    #[error("Invalid subdomain")]
    InvalidSubdomain,
    /// Too many attempts; seconds until one is allowed.
    #[error("API usage exceeded rate limit")]
    RateLimited { retry_after: f64 },
    /// A plain Zulip `JsonableError` (400 `BAD_REQUEST`) with this message.
    #[error("{0}")]
    BadRequest(String),
    /// No channel by that name or id (`STREAM_DOES_NOT_EXIST`, with `stream` or `stream_id`).
    #[error("{}", match .0 {
        ChannelRef::Name(n) => format!("Channel '{}' does not exist", html_escape(n)),
        ChannelRef::Id(id) => format!("Channel with ID '{id}' does not exist"),
    })]
    StreamDoesNotExist(ChannelRef),
    /// A narrow term tessera cannot apply (`BAD_NARROW`, with `desc`).
    #[error("Invalid narrow operator: {0}")]
    BadNarrow(String),
    /// A webhook body that is not a JSON object (`INVALID_JSON`).
    #[error("Malformed JSON")]
    InvalidJson,
    /// `REACTION_ALREADY_EXISTS`.
    #[error("Reaction already exists.")]
    ReactionAlreadyExists,
    /// `REACTION_DOES_NOT_EXIST`.
    #[error("Reaction doesn't exist.")]
    ReactionDoesNotExist,
    /// An event queue that does not exist (any more): `BAD_EVENT_QUEUE_ID`.
    #[error("Bad event queue id: {0}")]
    BadEventQueue(String),
    /// The caller's role does not allow this (`UNAUTHORIZED_PRINCIPAL`).
    #[error("{0}")]
    UnauthorizedPrincipal(String),
    /// Zulip's `ResourceNotFoundError`: a 404 with code `BAD_REQUEST` ("Draft does not
    /// exist").
    #[error("{0}")]
    NotFound(String),
    /// A problem with configuration or set-up (CLI, start-up).
    #[error("{0}")]
    Config(String),
    /// The store failed; the cause is kept (logged with its chain, never shown).
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Anything else unexpected (a broken invariant); logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// Shorthand for [`AppError::BadRequest`].
    pub fn bad(msg: impl Into<String>) -> AppError {
        AppError::BadRequest(msg.into())
    }
}
