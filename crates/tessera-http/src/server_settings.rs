//! `GET /api/v1/server_settings`: what apps read before logging in. Unauthenticated; Basic
//! credentials sent to it are ignored, as Zulip ignores them (the Python client sends them).

use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde_json::json;
use tessera_app::App;
pub use tessera_app::{ZULIP_FEATURE_LEVEL, ZULIP_VERSION};

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// GET /api/v1/server_settings — realm by Host; unknown subdomain → 400 "Invalid subdomain".
pub async fn get_server_settings(
    State(app): State<App>,
    headers: HeaderMap,
    params: Params,
) -> ApiResult<Response> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let sub = app.subdomain_for_host(host);
    let realm = app
        .realm_by_string_id(&sub)
        .await?
        .ok_or_else(|| ApiError::bad_request("Invalid subdomain"))?;
    let info = app.realm_info(realm);
    let password = info.row.password_auth_enabled;
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let description = if info.row.description.trim().is_empty() {
        "<p>The coolest place in the universe.</p>".to_owned()
    } else {
        format!("<p>{}</p>", escape_html(info.row.description.trim()))
    };
    Ok(params.success(json!({
        "authentication_methods": {
            "password": password,
            "dev": app.config().development,
            "email": password,
            "ldap": false,
            "remoteuser": false,
            "github": false,
            "azuread": false,
            "gitlab": false,
            "apple": false,
            "google": false,
            "saml": false,
            "openid connect": false,
        },
        "zulip_version": ZULIP_VERSION,
        "zulip_merge_base": ZULIP_VERSION,
        "zulip_feature_level": ZULIP_FEATURE_LEVEL,
        "push_notifications_enabled": false,
        "is_incompatible": ua.starts_with("ZulipInvalid"),
        "email_auth_enabled": password,
        "require_email_format_usernames": true,
        "realm_url": info.url,
        "realm_name": info.row.name,
        "realm_icon": app.realm_icon_url(&info.row.string_id),
        "realm_description": description,
        "realm_web_public_access_enabled": false,
        "external_authentication_methods": [],
        "realm_uri": info.url,
    })))
}
