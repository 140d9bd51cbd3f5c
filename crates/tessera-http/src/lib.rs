//! tessera's HTTP layer: Zulip's wire on top of the use-cases. Routes are declared once and
//! mounted under `/api/v1` and `/json` where Zulip has both.

mod alert_words;
mod auth;
mod bot_storage;
mod bots;
mod cookies;
mod csrf;
mod drafts;
mod error;
mod events;
mod fallback;
mod fetch_api_key;
mod messages;
mod metrics;
mod middleware;
mod openapi;
mod params;
mod push_devices;
mod realm;
mod request_info;
mod routes;
mod server_settings;
mod settings;
mod streams;
mod subscriptions;
mod typing;
mod user_groups;
mod user_status;
mod user_topics;
mod user_uploads;
mod users;
mod web;
mod webhooks;

pub use error::ApiError;
pub use metrics::{metrics_router, serve_metrics};
pub use openapi::OPENAPI_YAML;
pub use server_settings::{ZULIP_FEATURE_LEVEL, ZULIP_VERSION};

use axum::Router;
use axum::http::{HeaderName, header};
use middleware::{log_internal_errors, loggable_path, rate_limit_headers};
use routes::{api_only_routes, json_only_routes, shared_routes, web_routes};
use std::net::SocketAddr;
use tessera_app::App;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

/// The whole application router.
pub fn router(app: App) -> Router {
    Router::new()
        .nest("/api/v1", shared_routes().merge(api_only_routes()))
        .nest("/json", shared_routes().merge(json_only_routes()))
        .merge(web_routes())
        .fallback(fallback::fallback)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            csrf::annotate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            rate_limit_headers,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            app.clone(),
            metrics::record_metrics,
        ))
        // Multipart bodies (uploads) may be as large as `Params` lets them be.
        .layer(axum::extract::DefaultBodyLimit::max(
            params::MAX_MULTIPART_BYTES,
        ))
        .layer(axum::middleware::from_fn(log_internal_errors))
        .layer(CatchPanicLayer::custom(fallback::panic_response))
        .layer(
            // One span per request with method and path only: never the query string (webhook
            // URLs carry `api_key=`) and never credentials. Failures are logged once, by
            // `log_internal_errors` (with their cause), not again here.
            TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<_>| {
                    tracing::info_span!("request", method = %req.method(), path = %loggable_path(req.uri().path()))
                })
                .on_failure(()),
        )
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
            HeaderName::from_static("x-csrftoken"),
        ]))
        .with_state(app)
}

/// Serve until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(app).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
