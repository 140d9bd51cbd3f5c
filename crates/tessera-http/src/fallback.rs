//! Responses for what no handler serves: unknown paths (404), wrong methods (405, Zulip's body
//! with `allowed_methods`), `OPTIONS` (204 with `Allow`), and panics (500).

use crate::error::{ApiError, json_body};
use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Zulip's 404 for unknown API paths.
pub fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "BAD_REQUEST", "Not Found")
}

/// Router fallback.
pub async fn fallback() -> Response {
    not_found().into_response()
}

/// The handler for methods a path does not serve: Zulip's 405 with `allowed_methods` (the
/// path's methods in declaration order, `HEAD` appended after `GET`), or 204 with `Allow` for
/// `OPTIONS`. Checked before authentication, as in Zulip's `rest_dispatch`.
pub fn only(
    methods: &'static [&'static str],
) -> impl Fn(Method) -> std::future::Ready<Response> + Clone + Send + Sync + 'static {
    move |method: Method| {
        let mut allowed: Vec<&str> = methods.to_vec();
        if allowed.contains(&"GET") {
            allowed.push("HEAD");
        }
        if method == Method::OPTIONS {
            let mut sorted = allowed.clone();
            sorted.sort_unstable();
            let mut r = StatusCode::NO_CONTENT.into_response();
            if let Ok(v) = HeaderValue::from_str(&sorted.join(", ")) {
                r.headers_mut().insert(header::ALLOW, v);
            }
            return std::future::ready(r);
        }
        let body =
            json!({"result": "error", "msg": "Method Not Allowed", "allowed_methods": allowed});
        let mut r = (StatusCode::METHOD_NOT_ALLOWED, json_body(&body)).into_response();
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Ok(v) = HeaderValue::from_str(&allowed.join(", ")) {
            h.insert(header::ALLOW, v);
        }
        std::future::ready(r)
    }
}

/// A panic becomes Zulip's generic 500 (the server keeps running).
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    tracing::error!("handler panicked");
    let body = json!({"result": "error", "msg": "Internal server error"});
    let mut r = (StatusCode::INTERNAL_SERVER_ERROR, json_body(&body)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}
