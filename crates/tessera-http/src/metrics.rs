//! Prometheus metrics: counting each request by route template, and the `/metrics` endpoint
//! on a listener of its own.

use axum::Router;
use axum::http::header;
use axum::routing::get;
use tessera_app::App;

/// Count the request and its latency by route template (never the concrete path, so ids and
/// tokens in URLs do not become labels).
pub(crate) async fn record_metrics(
    axum::extract::State(app): axum::extract::State<App>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_owned();
    let start = std::time::Instant::now();
    let resp = next.run(req).await;
    let m = app.metrics();
    m.latency
        .with_label_values(&[&route, &method])
        .observe(start.elapsed().as_secs_f64());
    m.requests
        .with_label_values(&[&route, &method, resp.status().as_str()])
        .inc();
    resp
}

/// The metrics endpoint, for a listener of its own (`--metrics-listen`), never the public one.
pub fn metrics_router(app: App) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(
                |axum::extract::State(app): axum::extract::State<App>| async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        app.render_metrics(),
                    )
                },
            ),
        )
        .with_state(app)
}

/// Serve [`metrics_router`] on its own listener until the process ends.
pub async fn serve_metrics(listener: tokio::net::TcpListener, app: App) -> std::io::Result<()> {
    axum::serve(listener, metrics_router(app)).await
}
