//! tessera's own OpenAPI document, compiled in and served.

use axum::http::header;

/// The OpenAPI 3.0 document of every route, compiled in.
pub const OPENAPI_YAML: &str = include_str!("../openapi.yaml");

/// GET /api/v1/openapi.yaml — tessera's OpenAPI document (no authentication).
pub(crate) async fn openapi_document() -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [(header::CONTENT_TYPE, "application/yaml; charset=utf-8")],
        OPENAPI_YAML,
    )
        .into_response()
}
