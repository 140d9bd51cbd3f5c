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
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

/// `WWW-Authenticate` for the Basic-auth paths.
pub const BASIC_REALM: &str = "Basic realm=\"zulip\"";
/// `WWW-Authenticate` for session paths (`/json`).
pub const SESSION_REALM: &str = "Session realm=\"zulip\"";
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
        tracing::error!(detail, "internal error");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: None,
            msg: "Internal server error".into(),
            extra: Box::default(),
            www_authenticate: None,
            retry_after: None,
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
                    F::MalformedKey | F::InvalidKey => {
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
            AppError::NotFound(m) => ApiError::new(S::NOT_FOUND, "BAD_REQUEST", m),
            AppError::Coded { code, msg, field } => {
                let e = ApiError::new(S::BAD_REQUEST, code, msg);
                match field.map(|f| *f) {
                    Some((k, v)) => e.with(k, v),
                    None => e,
                }
            }
            AppError::BadEventQueue(id) => {
                ApiError::new(S::BAD_REQUEST, "BAD_EVENT_QUEUE_ID", msg).with("queue_id", json!(id))
            }
            AppError::UnauthorizedPrincipal(m) => {
                ApiError::new(S::BAD_REQUEST, "UNAUTHORIZED_PRINCIPAL", m)
            }
            AppError::Config(m) | AppError::Internal(m) => ApiError::internal(&m),
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
        resp
    }
}

/// Zulip serialises with a trailing newline (orjson `OPT_APPEND_NEWLINE`).
pub fn json_body(v: &Value) -> String {
    let mut s = v.to_string();
    s.push('\n');
    s
}
