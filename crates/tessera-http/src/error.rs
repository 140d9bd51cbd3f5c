//! The one place that maps errors to Zulip's wire: status, `code`, `msg`, extra fields and
//! `WWW-Authenticate`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tessera_app::AppError;

/// A Zulip error response.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: Option<&'static str>,
    pub msg: String,
    /// Data fields (`var_name`, `retry-after`, …); boxed to keep `Result`s small.
    pub extra: Box<Map<String, Value>>,
    pub www_authenticate: Option<&'static str>,
    pub retry_after: Option<f64>,
    /// What went wrong behind a 500 (for the log, never the body).
    pub detail: Option<Box<str>>,
}

/// The cause of a 500, carried on the response to the middleware that logs it, once
/// (`lib.rs`'s `log_internal_errors`).
#[derive(Debug, Clone)]
pub struct InternalDetail(pub Box<str>);

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

/// `WWW-Authenticate` for the Basic-auth paths.
pub const BASIC_REALM: &str = "Basic realm=\"zulip\"";
/// `WWW-Authenticate` for session paths (`/json`).
pub const SESSION_REALM: &str = "Session realm=\"zulip\"";
/// What a 503 asks the client to wait, in seconds.
pub const UNAVAILABLE_RETRY_SECS: f64 = 5.0;
/// Zulip's default `UnauthorizedError` message.
pub const NOT_LOGGED_IN: &str = "Not logged in: API authentication or user session required";

impl ApiError {
    /// A plain error with a code.
    pub fn new(status: StatusCode, code: &'static str, msg: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: Some(code),
            msg: msg.into(),
            extra: Box::default(),
            www_authenticate: None,
            retry_after: None,
            detail: None,
        }
    }

    /// Zulip's `JsonableError`: 400 `BAD_REQUEST`.
    pub fn bad_request(msg: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", msg)
    }

    /// 401 `UNAUTHORIZED` with a `WWW-Authenticate` challenge (every Basic-auth failure).
    pub fn unauthorized(msg: impl Into<String>, challenge: &'static str) -> ApiError {
        let mut e = ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", msg);
        e.www_authenticate = Some(challenge);
        e
    }

    /// `REQUEST_VARIABLE_MISSING` with `var_name`.
    pub fn missing(var: &str) -> ApiError {
        let mut e = ApiError::new(
            StatusCode::BAD_REQUEST,
            "REQUEST_VARIABLE_MISSING",
            format!("Missing '{var}' argument"),
        );
        e.extra.insert("var_name".into(), json!(var));
        e
    }

    /// An internal error: logged here, shown as Zulip's generic 500 (no `code`).
    pub fn internal(detail: &str) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: None,
            msg: "Internal server error".into(),
            extra: Box::default(),
            www_authenticate: None,
            retry_after: None,
            detail: Some(detail.into()),
        }
    }

    /// The database is away or cannot write just now: 503 with `Retry-After`, nothing
    /// committed, the cause logged (tessera's own code; Zulip has no such answer).
    pub fn unavailable(detail: &str) -> ApiError {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: Some("SERVICE_UNAVAILABLE"),
            msg: "The server cannot reach its database just now. Nothing was changed; try again in a few seconds.".into(),
            extra: Box::default(),
            www_authenticate: None,
            retry_after: Some(UNAVAILABLE_RETRY_SECS),
            detail: Some(detail.into()),
        }
    }

    /// Replace the message.
    pub fn with_msg(mut self, msg: impl Into<String>) -> ApiError {
        self.msg = msg.into();
        self
    }

    /// Add a data field.
    pub fn with(mut self, key: &str, value: Value) -> ApiError {
        self.extra.insert(key.into(), value);
        self
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        use StatusCode as S;
        let msg = e.to_string();
        match e {
            // Outside the Basic path, key failures keep their specific codes (webhooks,
            // `?api_key=`), as Zulip's `InvalidAPIKeyError` and friends do.
            AppError::Auth(f) => {
                use tessera_app::AuthFailure as F;
                match f {
                    F::MalformedKey | F::InvalidKey | F::ExpiredKey => {
                        ApiError::new(S::UNAUTHORIZED, "INVALID_API_KEY", msg)
                    }
                    F::UserDeactivated => ApiError::new(S::UNAUTHORIZED, "USER_DEACTIVATED", msg),
                    F::RealmDeactivated => ApiError::new(S::UNAUTHORIZED, "REALM_DEACTIVATED", msg),
                    F::WrongSubdomain | F::IncomingWebhookBot => ApiError::bad_request(msg),
                }
            }
            AppError::AuthenticationFailed => {
                ApiError::new(S::UNAUTHORIZED, "AUTHENTICATION_FAILED", msg)
            }
            AppError::PasswordAuthDisabled => {
                ApiError::new(S::UNAUTHORIZED, "PASSWORD_AUTH_DISABLED", msg)
            }
            AppError::UserDeactivated => ApiError::new(S::UNAUTHORIZED, "USER_DEACTIVATED", msg),
            AppError::RealmDeactivated => ApiError::new(S::UNAUTHORIZED, "REALM_DEACTIVATED", msg),
            AppError::InvalidSubdomain => ApiError::new(S::NOT_FOUND, "NONEXISTENT_SUBDOMAIN", msg),
            AppError::RateLimited { retry_after } => {
                let mut e = ApiError::new(S::TOO_MANY_REQUESTS, "RATE_LIMIT_HIT", msg);
                e.extra.insert("retry-after".into(), json!(retry_after));
                e.retry_after = Some(retry_after);
                e
            }
            AppError::BadRequest(m) => ApiError::bad_request(m),
            AppError::KeyScope { need } => ApiError::new(S::FORBIDDEN, "API_KEY_SCOPE", msg)
                .with("required_scope", need.to_json()),
            AppError::KeyAddress => ApiError::new(S::FORBIDDEN, "API_KEY_ADDRESS", msg),
            AppError::NotFound(m) => ApiError::new(S::NOT_FOUND, "BAD_REQUEST", m),
            AppError::StreamDoesNotExist(channel) => {
                let e = ApiError::new(S::BAD_REQUEST, "STREAM_DOES_NOT_EXIST", msg);
                match channel {
                    tessera_app::ChannelRef::Name(n) => e.with("stream", json!(n)),
                    tessera_app::ChannelRef::Id(id) => e.with("stream_id", json!(id)),
                }
            }
            AppError::BadNarrow(desc) => {
                ApiError::new(S::BAD_REQUEST, "BAD_NARROW", msg).with("desc", json!(desc))
            }
            AppError::InvalidJson => ApiError::new(S::BAD_REQUEST, "INVALID_JSON", msg),
            AppError::ReactionAlreadyExists => {
                ApiError::new(S::BAD_REQUEST, "REACTION_ALREADY_EXISTS", msg)
            }
            AppError::ReactionDoesNotExist => {
                ApiError::new(S::BAD_REQUEST, "REACTION_DOES_NOT_EXIST", msg)
            }
            AppError::BadEventQueue(id) => {
                ApiError::new(S::BAD_REQUEST, "BAD_EVENT_QUEUE_ID", msg).with("queue_id", json!(id))
            }
            AppError::UnauthorizedPrincipal(m) => {
                ApiError::new(S::BAD_REQUEST, "UNAUTHORIZED_PRINCIPAL", m)
            }
            AppError::Store(tessera_store::StoreError::Unavailable(_)) => {
                ApiError::unavailable(&e.detail())
            }
            AppError::Store(_) | AppError::Failed { .. } | AppError::Invariant(_) => {
                ApiError::internal(&e.detail())
            }
            AppError::Config(m) => ApiError::internal(&m),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("result".into(), json!("error"));
        body.insert("msg".into(), json!(self.msg));
        if let Some(code) = self.code {
            body.insert("code".into(), json!(code));
        }
        body.extend(*self.extra);
        let mut resp = (self.status, json_body(&Value::Object(body))).into_response();
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(challenge) = self.www_authenticate {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            headers.insert(header::RETRY_AFTER, v);
        }
        if let Some(detail) = self.detail {
            resp.extensions_mut().insert(InternalDetail(detail));
        }
        resp
    }
}

/// Zulip serialises with a trailing newline (orjson `OPT_APPEND_NEWLINE`).
pub fn json_body(v: &Value) -> String {
    let mut s = v.to_string();
    s.push('\n');
    s
}

#[cfg(test)]
mod internal_tests {
    use super::*;

    #[test]
    fn a_500_carries_its_cause_to_the_log_and_not_to_the_body() {
        let store = AppError::Store(tessera_store::StoreError::BadUrl("no such database".into()));
        let resp = ApiError::from(store).into_response();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let detail = resp.extensions().get::<InternalDetail>().expect("detail");
        assert!(detail.0.contains("no such database"), "{}", detail.0);
        // Zulip's refusals carry none.
        let refused = ApiError::from(AppError::ReactionDoesNotExist).into_response();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert!(refused.extensions().get::<InternalDetail>().is_none());
    }
}
