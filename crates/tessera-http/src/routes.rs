//! Every route, by where Zulip mounts it: under both `/api/v1/` and `/json/`, under one of
//! them, and the web pages.

use crate::fallback::only;
use crate::openapi::openapi_document;
use crate::*;
use axum::Router;
use axum::routing::{get, patch, post};
use tessera_app::App;
use tessera_core::KeyScope;

/// Endpoints Zulip mounts under both `/api/v1/` and `/json/`.
pub(crate) fn shared_routes() -> Router<App> {
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
            "/bots/{bot_id}/api_keys",
            get(api_keys::get_bot_keys)
                .post(api_keys::post_bot_key)
                .fallback(only(&["GET", "POST"])),
        )
        .route(
            "/bots/{bot_id}/api_keys/{key_id}",
            axum::routing::delete(api_keys::delete_bot_key).fallback(only(&["DELETE"])),
        )
        .route(
            "/users/me/api_keys",
            get(api_keys::get_own_keys)
                .post(api_keys::post_own_key)
                .fallback(only(&["GET", "POST"])),
        )
        .route(
            "/users/me/api_keys/{key_id}",
            axum::routing::delete(api_keys::delete_own_key).fallback(only(&["DELETE"])),
        )
        .route(
            "/bots/{bot_id}/zuliprc",
            get(bots::get_bot_zuliprc).fallback(only(&["GET"])),
        )
        .route(
            "/messages",
            get(messages::get_messages)
                .post(messages::post_messages)
                .fallback(only(&["GET", "POST"])),
        )
        .route(
            "/messages/flags",
            post(messages::post_flags).fallback(only(&["POST"])),
        )
        .route(
            "/messages/flags/narrow",
            post(messages::post_flags_narrow).fallback(only(&["POST"])),
        )
        .route(
            "/messages/render",
            post(messages::post_render).fallback(only(&["POST"])),
        )
        .route(
            "/messages/{message_id}/history",
            get(messages::get_message_history).fallback(only(&["GET"])),
        )
        .route(
            "/messages/{message_id}",
            get(messages::get_message)
                .patch(messages::patch_message)
                .delete(messages::delete_message)
                .fallback(only(&["GET", "PATCH", "DELETE"])),
        )
        .route(
            "/messages/{message_id}/reactions",
            post(messages::reaction::<true>)
                .delete(messages::reaction::<false>)
                .fallback(only(&["POST", "DELETE"])),
        )
        .route(
            "/streams",
            get(streams::get_streams).fallback(only(&["GET"])),
        )
        .route(
            "/get_stream_id",
            get(streams::get_stream_id).fallback(only(&["GET"])),
        )
        .route(
            "/users/me/subscriptions",
            get(streams::get_subscriptions)
                .post(streams::post_subscriptions)
                .delete(streams::delete_subscriptions)
                .patch(subscriptions::patch_subscriptions)
                .fallback(only(&["GET", "POST", "PATCH", "DELETE"])),
        )
        .route(
            "/register",
            post(events::post_register).fallback(only(&["POST"])),
        )
        .route(
            "/events",
            get(events::get_events)
                .delete(events::delete_events)
                .fallback(only(&["GET", "DELETE"])),
        )
        .route("/users", get(users::get_users).fallback(only(&["GET"])))
        .route(
            "/users/{user_id}",
            get(users::get_user).fallback(only(&["GET"])),
        )
        .route(
            "/users/me/presence",
            post(users::post_presence).fallback(only(&["POST"])),
        )
        .route(
            "/settings",
            patch(settings::patch_settings).fallback(only(&["PATCH"])),
        )
        .route(
            "/realm",
            patch(realm::patch_realm).fallback(only(&["PATCH"])),
        )
        .route(
            "/realm/presence",
            get(users::get_realm_presence).fallback(only(&["GET"])),
        )
        .route(
            "/users/{user_id}/presence",
            get(users::get_user_presence).fallback(only(&["GET"])),
        )
        .route(
            "/realm/emoji",
            get(realm::get_realm_emoji).fallback(only(&["GET"])),
        )
        .route(
            "/mark_all_as_read",
            post(messages::post_mark_all_as_read).fallback(only(&["POST"])),
        )
        .route(
            "/mark_stream_as_read",
            post(messages::post_mark_stream_as_read).fallback(only(&["POST"])),
        )
        .route(
            "/mark_topic_as_read",
            post(messages::post_mark_topic_as_read).fallback(only(&["POST"])),
        )
        .route(
            "/typing",
            post(typing::post_typing).fallback(only(&["POST"])),
        )
        .route(
            "/user_groups",
            get(user_groups::get_user_groups).fallback(only(&["GET"])),
        )
        .route(
            "/users/me/alert_words",
            get(alert_words::get_alert_words).fallback(only(&["GET"])),
        )
        .route(
            "/streams/{stream_id}",
            get(streams::get_stream)
                .patch(streams::patch_stream)
                .delete(streams::delete_stream)
                .fallback(only(&["GET", "PATCH", "DELETE"])),
        )
        .route(
            "/streams/{stream_id}/members",
            get(streams::get_stream_members).fallback(only(&["GET"])),
        )
        .route(
            "/users/me/{stream_id}/topics",
            get(streams::get_stream_topics).fallback(only(&["GET"])),
        )
        .route(
            "/drafts",
            get(drafts::get_drafts)
                .post(drafts::post_drafts)
                .fallback(only(&["GET", "POST"])),
        )
        .route(
            "/drafts/{draft_id}",
            patch(drafts::patch_draft)
                .delete(drafts::delete_draft)
                .fallback(only(&["PATCH", "DELETE"])),
        )
        .route(
            "/users/me/status",
            post(user_status::post_status).fallback(only(&["POST"])),
        )
        .route(
            "/users/{user_id}/status",
            get(user_status::get_status).fallback(only(&["GET"])),
        )
        .route(
            "/user_topics",
            post(user_topics::post_user_topics).fallback(only(&["POST"])),
        )
        .route(
            "/users/me/subscriptions/muted_topics",
            patch(user_topics::patch_muted_topics).fallback(only(&["PATCH"])),
        )
        .route(
            "/users/{user_id}/subscriptions/{stream_id}",
            get(subscriptions::get_subscription_status).fallback(only(&["GET"])),
        )
        .route(
            "/users/me/subscriptions/properties",
            post(subscriptions::post_subscription_properties).fallback(only(&["POST"])),
        )
        .route(
            "/user_uploads",
            post(user_uploads::post_user_uploads).fallback(only(&["POST"])),
        )
        .route(
            "/user_uploads/{realm_id_str}/{*filename}",
            get(user_uploads::get_temporary_url).fallback(only(&["GET"])),
        )
        .route(
            "/bot_storage",
            get(bot_storage::get_bot_storage)
                .put(bot_storage::put_bot_storage)
                .delete(bot_storage::delete_bot_storage)
                .fallback(only(&["GET", "PUT", "DELETE"])),
        )
}

/// What a named key needs for a route (its matched path, with or without the `/api/v1` or
/// `/json` prefix, and method): one table for every route, checked in the `Caller`
/// extractor. The account key and web sessions have every group; a route that is not named
/// here needs the `admin` group, and anything that reveals or manages keys a full key.
pub(crate) fn required_scope(method: &axum::http::Method, matched: &str) -> KeyScope {
    use axum::http::Method as M;
    let path = matched
        .strip_prefix("/api/v1")
        .or_else(|| matched.strip_prefix("/json"))
        .unwrap_or(matched);
    let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
    if path.contains("api_key") || path.ends_with("/zuliprc") {
        return KeyScope::FULL;
    }
    let read = *method == M::GET
        || *method == M::HEAD
        || (*method == M::POST && matches!(path, "/register" | "/messages/render"))
        || (*method == M::DELETE && path == "/events");
    if read {
        return KeyScope::READ;
    }
    let send = (*method == M::POST && matches!(path, "/messages" | "/typing" | "/user_uploads"))
        || path == "/messages/{message_id}/reactions"
        || under("/external");
    if send {
        return KeyScope::SEND;
    }
    if under("/messages") || under("/drafts") || path.starts_with("/mark_") {
        return KeyScope::MESSAGES;
    }
    if under("/streams") || under("/users/me/subscriptions") || under("/user_topics") {
        return KeyScope::CHANNELS;
    }
    if under("/settings") || under("/users/me") || under("/bot_storage") {
        return KeyScope::SETTINGS;
    }
    KeyScope::ADMIN
}

/// Endpoints only under `/api/v1/`.
pub(crate) fn api_only_routes() -> Router<App> {
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
            "/secret_scanning/report",
            post(secret_scanning::post_report).fallback(only(&["POST"])),
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
            "/openapi.yaml",
            get(openapi_document).fallback(only(&["GET"])),
        )
        .route(
            "/external/json",
            post(webhooks::post_external_json).fallback(only(&["POST"])),
        )
        .route(
            "/users/me/android_gcm_reg_id",
            post(push_devices::post_fcm)
                .delete(push_devices::delete_fcm)
                .fallback(only(&["POST", "DELETE"])),
        )
}

/// Endpoints only under `/json/`.
pub(crate) fn json_only_routes() -> Router<App> {
    Router::new()
        .route(
            "/fetch_api_key",
            post(fetch_api_key::post_json_fetch_api_key).fallback(only(&["POST"])),
        )
        .route(
            "/users/me/sessions/{session_id}",
            axum::routing::delete(settings::delete_session).fallback(only(&["DELETE"])),
        )
        .route(
            "/users/me/logout_everywhere",
            post(settings::post_logout_everywhere).fallback(only(&["POST"])),
        )
}

/// The web UI's pages (Zulip's paths).
pub(crate) fn web_routes() -> Router<App> {
    use web::{api_docs, assets, emails, login, password_reset, settings};
    Router::new()
        .route(
            "/",
            get(settings::get_settings_root).fallback(only(&["GET"])),
        )
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
            "/accounts/login/subdomain/{token}",
            get(login::get_login_subdomain).fallback(only(&["GET"])),
        )
        .route(
            "/accounts/logout/",
            post(login::post_logout).fallback(only(&["POST"])),
        )
        .route(
            "/settings",
            get(settings::get_settings_root).fallback(only(&["GET"])),
        )
        .route(
            "/settings/",
            get(settings::get_settings_root).fallback(only(&["GET"])),
        )
        .route(
            "/settings/{tab}",
            get(settings::get_settings_tab).fallback(only(&["GET"])),
        )
        .route(
            "/accounts/password/reset/",
            get(password_reset::get_reset)
                .post(password_reset::post_reset)
                .fallback(only(&["GET", "POST"])),
        )
        .route(
            "/accounts/password/strength",
            post(password_reset::post_password_strength).fallback(only(&["POST"])),
        )
        .route(
            "/accounts/password/reset/done/",
            get(password_reset::get_reset_done).fallback(only(&["GET"])),
        )
        .route(
            "/accounts/password/reset/{uid}/{token}/",
            get(password_reset::get_reset_confirm)
                .post(password_reset::post_reset_confirm)
                .fallback(only(&["GET", "POST"])),
        )
        .route(
            "/accounts/password/done/",
            get(password_reset::get_password_done).fallback(only(&["GET"])),
        )
        .route("/emails/", get(emails::get_emails).fallback(only(&["GET"])))
        .route("/api/", get(api_docs::get_index).fallback(only(&["GET"])))
        .route(
            "/api/api-keys",
            get(api_docs::get_api_keys).fallback(only(&["GET"])),
        )
        .route(
            "/api/configuring-python-bindings",
            get(api_docs::get_configuring_python_bindings).fallback(only(&["GET"])),
        )
        .route(
            "/api/fetch-api-key",
            get(api_docs::get_fetch_api_key).fallback(only(&["GET"])),
        )
        .route(
            "/user_uploads/{realm_id_str}/{*filename}",
            get(user_uploads::get_user_upload).fallback(only(&["GET"])),
        )
        .route(
            "/user_uploads/download/{realm_id_str}/{*filename}",
            get(user_uploads::get_user_upload_download).fallback(only(&["GET"])),
        )
        .route(
            "/user_uploads/temporary/{token}/{filename}",
            get(user_uploads::get_temporary_upload).fallback(only(&["GET"])),
        )
        .route(
            "/static/{file}",
            get(assets::get_static).fallback(only(&["GET"])),
        )
}
