//! `/settings/…`: the personal settings pages — Account & privacy (API key, password) and the
//! bot tables (Your bots; All bots for administrators). The pages are rendered here; their
//! buttons call the Zulip API (`/json/…`, and `/api/v1/users/me/api_key/regenerate` with the
//! revealed key, as Zulip's web app does) from `assets/tessera.js`.

use super::{Chrome, HOME, Web};
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use tessera_app::BotView;
use tessera_core::{BotType, Role};

/// One row of a bot table.
pub struct BotRow {
    pub id: i64,
    pub full_name: String,
    pub email: String,
    pub bot_type: &'static str,
    pub owner: String,
    pub is_active: bool,
    /// The viewer may see this bot's key and zuliprc (decision D2).
    pub may_reveal: bool,
    /// A generated avatar (a `data:` SVG; nothing is fetched from elsewhere).
    pub avatar: String,
}

/// A default avatar drawn here: the name's first letter on a colour picked by the user id,
/// as an SVG `data:` URL (the pages' CSP allows `data:` images and nothing external).
pub fn default_avatar(user_id: i64, name: &str) -> String {
    const COLOURS: [&str; 8] = [
        "#3d7a5a", "#5b6fb5", "#b55b8c", "#c0803a", "#4a8ba8", "#8a6bb8", "#a85a4a", "#5a8a3d",
    ];
    let initial: String = name
        .chars()
        .find(|c| c.is_alphanumeric())
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_else(|| "?".into());
    let initial = match initial.as_str() {
        "&" => "&amp;".to_owned(),
        "<" => "&lt;".to_owned(),
        _ => initial,
    };
    let colour = COLOURS[user_id.rem_euclid(COLOURS.len() as i64) as usize];
    let svg = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'><rect width='32' height='32' rx='6' fill='{colour}'/><text x='16' y='21.5' font-family='sans-serif' font-size='16' font-weight='600' fill='#fff' text-anchor='middle'>{initial}</text></svg>"
    );
    let encoded: String = form_urlencoded::byte_serialize(svg.as_bytes()).collect();
    format!("data:image/svg+xml,{}", encoded.replace('+', "%20"))
}

/// Zulip's display names of bot types.
pub fn bot_type_name(t: Option<i64>) -> &'static str {
    match t.and_then(BotType::from_i64) {
        Some(BotType::Generic) => "Generic bot",
        Some(BotType::IncomingWebhook) => "Incoming webhook",
        Some(BotType::OutgoingWebhook) => "Outgoing webhook",
        Some(BotType::Embedded) => "Embedded bot",
        None => "Bot",
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Owner => "Owner",
        Role::Admin => "Administrator",
        Role::Moderator => "Moderator",
        Role::Member => "Member",
        Role::Guest => "Guest",
    }
}

/// One row of the Devices section.
pub struct DeviceRow {
    pub id: i64,
    pub name: String,
    pub detail: String,
    pub first_seen: String,
    pub last_seen: String,
    pub ip: String,
    pub current: bool,
}

fn when(micros: i64) -> String {
    tessera_app::iso_minutes(micros)
        .replace('T', " ")
        .replace("+00:00", " UTC")
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    password_rule: String,
    mobile_devices: Vec<DeviceRow>,
    api_clients: Vec<DeviceRow>,
    web_sessions: Vec<DeviceRow>,
    enable_login_emails: bool,
    c: Chrome,
    tab: &'static str,
    full_name: String,
    email: String,
    role: &'static str,
    is_admin: bool,
    can_create_bots: bool,
    bot_domain: String,
    realm_url: String,
    bots: Vec<BotRow>,
    /// "your" or "all".
    bot_scope: &'static str,
}

/// GET /settings (also `/`, `/settings/`) — the default tab.
pub async fn get_settings_root(web: Web) -> Response {
    if web.caller.is_none() {
        return web.login_redirect();
    }
    web.redirect(HOME)
}

/// GET /settings/{tab} — `account-and-privacy`, `your-bots`, `all-bots` (administrators).
pub async fn get_settings_tab(web: Web, Path(tab): Path<String>) -> Response {
    let Some(caller) = web.caller.clone() else {
        return web.login_redirect();
    };
    let who = &caller.principal;
    let tab: &'static str = match tab.as_str() {
        "account-and-privacy" => "account-and-privacy",
        "your-bots" => "your-bots",
        "all-bots" if who.role.is_admin() => "all-bots",
        "all-bots" => return web.redirect("/settings/your-bots"),
        _ => {
            let page = super::MessagePage {
                c: web.chrome().await,
                title: "Page not found".into(),
                heading: "404: Page not found".into(),
                message: "There is no settings page at this address.".into(),
                link: Some((HOME.into(), "Go to your settings".into())),
            };
            return web.page_with_status(StatusCode::NOT_FOUND, &page);
        }
    };
    let user = match web.app.user_row(who.user_id.0).await {
        Ok(u) => u,
        Err(e) => return web.failure(&e).await,
    };
    let can_create_bots = who.require_member_or_admin().is_ok();
    let (bots, bot_scope) = match tab {
        "your-bots" | "all-bots" if can_create_bots => {
            let listed = match web.app.list_visible_bots(who).await {
                Ok(b) => b,
                Err(e) => return web.failure(&e).await,
            };
            let all = tab == "all-bots";
            let rows = listed
                .into_iter()
                .filter(|b: &BotView| all || b.user.bot_owner_id == Some(who.user_id.0))
                .map(|b| BotRow {
                    id: b.user.id,
                    may_reveal: tessera_app::App::may_reveal_bot_key(who, &b.user),
                    avatar: default_avatar(b.user.id, &b.user.full_name),
                    full_name: b.user.full_name.clone(),
                    email: b.user.email.clone(),
                    bot_type: bot_type_name(b.user.bot_type),
                    owner: b.owner_name.clone().unwrap_or_default(),
                    is_active: b.user.is_active,
                })
                .collect();
            (rows, if all { "all" } else { "your" })
        }
        _ => (Vec::new(), "your"),
    };
    let (mut mobile_devices, mut api_clients, mut web_sessions) =
        (Vec::new(), Vec::new(), Vec::new());
    if tab == "account-and-privacy" {
        let devices = match web.app.devices_of(user.id).await {
            Ok(d) => d,
            Err(e) => return web.failure(&e).await,
        };
        mobile_devices = devices
            .push
            .iter()
            .map(|p| DeviceRow {
                id: p.id,
                name: if p.kind == 1 {
                    "iOS device (APNs)".into()
                } else {
                    "Android device (FCM)".into()
                },
                detail: format!("token {}…", p.token.chars().take(8).collect::<String>()),
                first_seen: String::new(),
                last_seen: when(p.last_updated),
                ip: String::new(),
                current: false,
            })
            .collect();
        // Browsers are listed as web sessions; "website" is this web UI using the key.
        api_clients = devices
            .clients
            .iter()
            .filter(|c| c.client != "website" && !c.client.starts_with("Web: "))
            .map(|c| DeviceRow {
                id: c.id,
                name: c.client.clone(),
                detail: String::new(),
                first_seen: when(c.first_seen),
                last_seen: when(c.last_seen),
                ip: c.last_ip.clone().unwrap_or_default(),
                current: false,
            })
            .collect();
        web_sessions = devices
            .sessions
            .iter()
            .map(|ses| DeviceRow {
                id: ses.id,
                name: tessera_core::user_agent::describe(ses.user_agent.as_deref().unwrap_or("")),
                detail: String::new(),
                first_seen: when(ses.created_at),
                last_seen: when(ses.last_seen),
                ip: ses.ip.clone().unwrap_or_default(),
                current: ses.id == caller.session_id,
            })
            .collect();
    }
    let page = SettingsPage {
        password_rule: super::password_reset::password_rule(),
        mobile_devices,
        api_clients,
        web_sessions,
        enable_login_emails: user.enable_login_emails,
        c: web.chrome().await,
        tab,
        full_name: user.full_name.clone(),
        email: user.delivery_email.clone(),
        role: role_name(who.role),
        is_admin: who.role.is_admin(),
        can_create_bots,
        bot_domain: web.app.bot_domain(&who.realm_string_id),
        realm_url: web.app.realm_url(&who.realm_string_id),
        bots,
        bot_scope,
    };
    web.page(&page)
}
