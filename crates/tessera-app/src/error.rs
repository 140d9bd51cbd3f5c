//! Use-case errors. No HTTP statuses here: `tessera-http`'s error module is the one place that
//! maps these to Zulip's wire.

use crate::auth::AuthFailure;
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
    /// A 400 with a specific Zulip code and, optionally, one data field.
    #[error("{msg}")]
    Coded {
        code: &'static str,
        msg: String,
        field: Option<Box<(&'static str, serde_json::Value)>>,
    },
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
    /// Anything unexpected; logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// Shorthand for [`AppError::BadRequest`].
    pub fn bad(msg: impl Into<String>) -> AppError {
        AppError::BadRequest(msg.into())
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Internal(e.to_string())
    }
}
