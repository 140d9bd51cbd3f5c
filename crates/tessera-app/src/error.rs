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
    /// tessera's own: the request's named key lacks an operation group the route needs (403
    /// `API_KEY_SCOPE`, never 401: clients treat a 401 as a logout).
    #[error("This API key's scope does not allow this request (it needs: {}).", need.describe())]
    KeyScope { need: tessera_core::KeyScope },
    /// tessera's own: a key with an allow-list used from elsewhere (403 `API_KEY_ADDRESS`,
    /// never 401).
    #[error("{}", crate::auth::ADDRESS_NOT_ALLOWED)]
    KeyAddress,
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
    /// Something outside the store failed (mail, hashing, a template, opening a sealed
    /// secret, a worker): what was being done, with the cause kept for the log; never shown.
    #[error("{doing}")]
    Failed {
        doing: &'static str,
        #[source]
        cause: Cause,
    },
    /// A broken invariant, with no underlying error to keep; logged, never shown.
    #[error("internal error: {0}")]
    Invariant(String),
}

/// The cause kept by [`AppError::Failed`].
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

impl AppError {
    /// Shorthand for [`AppError::BadRequest`].
    pub fn bad(msg: impl Into<String>) -> AppError {
        AppError::BadRequest(msg.into())
    }

    /// For `map_err`: `doing` failed because of the error it is given.
    pub fn failed<E: Into<Cause>>(doing: &'static str) -> impl FnOnce(E) -> AppError {
        move |e| AppError::Failed {
            doing,
            cause: e.into(),
        }
    }

    /// The error and each of its causes, for the log (`doing: cause: cause's cause`).
    pub fn detail(&self) -> String {
        let mut out = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(s) = source {
            out.push_str(": ");
            out.push_str(&s.to_string());
            source = s.source();
        }
        out
    }
}
