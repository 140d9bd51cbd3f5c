//! `/static/…`: the stylesheet, script and icon, compiled into the binary.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

const FILES: &[(&str, &str, &str)] = &[
    (
        "tessera.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/tessera.css"),
    ),
    (
        "tessera.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/tessera.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../../assets/favicon.svg"),
    ),
];

/// GET /static/{file} — an embedded asset.
pub async fn get_static(Path(file): Path<String>) -> Response {
    let Some((_, content_type, body)) = FILES.iter().find(|(name, _, _)| *name == file) else {
        return crate::fallback::not_found().into_response();
    };
    (
        [
            (header::CONTENT_TYPE, *content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        *body,
    )
        .into_response()
}
