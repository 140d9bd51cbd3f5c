//! tessera's HTTP layer: Zulip's wire on top of the use-cases. Routes are declared once and
//! mounted under `/api/v1` and `/json` where Zulip has both.

mod alert_words;
mod api_keys;
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
mod secret_scanning;
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
use middleware::{log_internal_errors, loggable_path, rate_limit_headers, real_client_addr};
use routes::{api_only_routes, json_only_routes, shared_routes, web_routes};
use std::time::Duration;
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
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            real_client_addr,
        ))
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

/// What a connection may cost the server: slow or abusive clients are cut off at these bounds.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    /// A request's headers must arrive within this (also an idle keep-alive connection's
    /// wait for its next request): slowloris-style clients are disconnected.
    pub header_timeout: Duration,
    /// A request body must arrive within this (a trickled body is cut off with 408).
    pub body_timeout: Duration,
    /// At most this many connections at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// On shutdown, in-flight requests get this long to finish before connections are dropped.
    pub shutdown_grace: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(60),
            max_connections: 20_000,
            shutdown_grace: Duration::from_secs(15),
        }
    }
}

/// Serve until `shutdown` resolves, then shut down gracefully: stop accepting, answer waiting
/// long polls at once (a heartbeat), let in-flight requests finish within
/// `limits.shutdown_grace`, and return.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    limits: ServeLimits,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use tower::ServiceExt;

    let service = router(app.clone());
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        // Bounded memory per connection: headers and pipelined requests past this are refused.
        .max_buf_size(256 * 1024);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = &mut shutdown => break,
        };
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let body_timeout = limits.body_timeout;
        let svc = service.clone().map_request(
            move |mut req: axum::extract::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(addr));
                // The whole body must arrive by then, however it trickles (`Params` enforces it).
                req.extensions_mut().insert(params::BodyDeadline(
                    tokio::time::Instant::now() + body_timeout,
                ));
                req.map(axum::body::Body::new)
            },
        );
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let header_timeout = limits.header_timeout;
        tokio::spawn(async move {
            // A connection that sends nothing is closed after the header timeout too (hyper
            // starts that clock at the first byte): idle sockets cannot pile up.
            let mut first = [0u8; 1];
            match tokio::time::timeout(header_timeout, stream.peek(&mut first)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return,
            }
            let conn = builder
                .serve_connection_with_upgrades(
                    TokioIo::new(stream),
                    hyper_util::service::TowerToHyperService::new(svc),
                )
                .into_owned();
            let _ = watcher.watch(conn).await;
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("shutting down: no new connections; finishing requests in flight");
    app.events().stop_polls();
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_secs = limits.shutdown_grace.as_secs(),
            "requests still running after the grace period; dropping them"
        );
    }
    Ok(())
}
