//! Responses for what no handler serves: unknown paths (404), wrong methods (405, Zulip's body
//! with `allowed_methods`), `OPTIONS` (204 with `Allow`), and panics (500).

use crate::error::{ApiError, json_body};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
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

/// Rewrite axum's bare 405 into Zulip's, and answer `OPTIONS`.
pub async fn method_not_allowed(req: Request, next: Next) -> Response {
    let is_options = req.method() == Method::OPTIONS;
    let resp = next.run(req).await;
    if resp.status() != StatusCode::METHOD_NOT_ALLOWED {
        return resp;
    }
    let allow = resp
        .headers()
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let mut methods: Vec<String> = allow
        .split(',')
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty() && m != "HEAD")
        .collect();
    // Zulip appends HEAD after the methods a path declares when it serves GET.
    if methods.iter().any(|m| m == "GET") {
        methods.push("HEAD".into());
    }
    if is_options {
        let mut sorted = methods.clone();
        sorted.sort();
        let mut r = StatusCode::NO_CONTENT.into_response();
        if let Ok(v) = HeaderValue::from_str(&sorted.join(", ")) {
            r.headers_mut().insert(header::ALLOW, v);
        }
        return r;
    }
    let body = json!({"result": "error", "msg": "Method Not Allowed", "allowed_methods": methods});
    let mut r = (StatusCode::METHOD_NOT_ALLOWED, json_body(&body)).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&methods.join(", ")) {
        h.insert(header::ALLOW, v);
    }
    r
}

/// A panic becomes Zulip's generic 500 (the server keeps running).
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    tracing::error!("handler panicked");
    let body = json!({"result": "error", "msg": "Internal server error"});
    let mut r = (StatusCode::INTERNAL_SERVER_ERROR, json_body(&body)).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}
