//! tessera's HTTP layer: Zulip's wire on top of the use-cases. Routes are declared once and
//! mounted under `/api/v1` and `/json` where Zulip has both.

mod auth;
mod bots;
mod csrf;
mod error;
mod fallback;
mod fetch_api_key;
mod params;
mod push_devices;
mod server_settings;
mod settings;
mod users;
mod web;

pub use error::ApiError;
pub use server_settings::{ZULIP_FEATURE_LEVEL, ZULIP_VERSION};

use axum::Router;
use axum::http::{HeaderName, header};
use axum::routing::{get, patch, post};
use fallback::only;
use std::net::SocketAddr;
use tessera_app::App;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

/// Endpoints Zulip mounts under both `/api/v1/` and `/json/`.
fn shared_routes() -> Router<App> {
    Router::new()
        .route(
            "/users/me",
            get(users::get_users_me).fallback(only(&["GET"])),
        )
        .route(
            "/users/{user_id}/reactivate",
            post(users::post_reactivate).fallback(only(&["POST"])),
        )
        .route(
            "/bots",
            get(bots::get_bots)
                .post(bots::post_bots)
                .fallback(only(&["GET", "POST"])),
        )
        .route(
            "/bots/{bot_id}",
            patch(bots::patch_bot)
                .delete(bots::delete_bot)
                .fallback(only(&["PATCH", "DELETE"])),
        )
        .route(
            "/bots/{bot_id}/api_key",
            get(bots::get_bot_api_key).fallback(only(&["GET"])),
        )
        .route(
            "/bots/{bot_id}/api_key/regenerate",
            post(bots::post_regenerate_bot_key).fallback(only(&["POST"])),
        )
        .route(
            "/bots/{bot_id}/zuliprc",
            get(bots::get_bot_zuliprc).fallback(only(&["GET"])),
        )
}

/// Endpoints only under `/api/v1/`.
fn api_only_routes() -> Router<App> {
    Router::new()
        .route(
            "/server_settings",
            get(server_settings::get_server_settings).fallback(only(&["GET"])),
        )
        .route(
            "/fetch_api_key",
            post(fetch_api_key::post_fetch_api_key).fallback(only(&["POST"])),
        )
        .route(
            "/dev_fetch_api_key",
            post(fetch_api_key::post_dev_fetch_api_key).fallback(only(&["POST"])),
        )
        .route(
            "/users/me/api_key/regenerate",
            post(users::post_regenerate_own_key).fallback(only(&["POST"])),
        )
        .route(
            "/users/me/apns_device_token",
            post(push_devices::post_apns)
                .delete(push_devices::delete_apns)
                .fallback(only(&["POST", "DELETE"])),
        )
        .route(
            "/users/me/android_gcm_reg_id",
            post(push_devices::post_fcm)
                .delete(push_devices::delete_fcm)
                .fallback(only(&["POST", "DELETE"])),
        )
}

/// Endpoints only under `/json/`.
fn json_only_routes() -> Router<App> {
    Router::new()
        .route(
            "/fetch_api_key",
            post(fetch_api_key::post_json_fetch_api_key).fallback(only(&["POST"])),
        )
        .route(
            "/settings",
            patch(settings::patch_settings).fallback(only(&["PATCH"])),
        )
}

/// The web UI's pages (Zulip's paths).
fn web_routes() -> Router<App> {
    use web::{assets, emails, login, password_reset, settings};
    Router::new()
        .route("/", get(settings::get_settings_root))
        .route(
            "/login/",
            get(login::get_login)
                .post(login::post_login)
                .fallback(only(&["GET", "POST"])),
        )
        .route(
            "/accounts/login/",
            get(login::get_login)
                .post(login::post_login)
                .fallback(only(&["GET", "POST"])),
        )
        .route(
            "/accounts/logout/",
            post(login::post_logout).fallback(only(&["POST"])),
        )
        .route("/settings", get(settings::get_settings_root))
        .route("/settings/", get(settings::get_settings_root))
        .route("/settings/{tab}", get(settings::get_settings_tab))
        .route(
            "/accounts/password/reset/",
            get(password_reset::get_reset)
                .post(password_reset::post_reset)
                .fallback(only(&["GET", "POST"])),
        )
        .route(
            "/accounts/password/reset/done/",
            get(password_reset::get_reset_done),
        )
        .route(
            "/accounts/password/reset/{uid}/{token}/",
            get(password_reset::get_reset_confirm)
                .post(password_reset::post_reset_confirm)
                .fallback(only(&["GET", "POST"])),
        )
        .route(
            "/accounts/password/done/",
            get(password_reset::get_password_done),
        )
        .route("/emails/", get(emails::get_emails))
        .route("/static/{file}", get(assets::get_static))
}

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
        .layer(CatchPanicLayer::custom(fallback::panic_response))
        .layer(
            // One span per request with method and path only: never the query string (webhook
            // URLs carry `api_key=`) and never credentials.
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
            }),
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
