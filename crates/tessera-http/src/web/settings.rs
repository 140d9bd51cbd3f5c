//! `/settings/…`: the personal settings pages — Account & privacy (API key, named API keys,
//! password, devices) and the bot tables (Your bots; All bots for administrators) — and the
//! organization's API-key policy (administrators). The pages are rendered here; their
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
    /// A push registration's device key (signing that app out removes the registration).
    pub key_id: Option<i64>,
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

/// One named key of the API keys section (never the key).
pub struct KeyRow {
    pub id: i64,
    pub name: String,
    /// What it may do, in words.
    pub scope: String,
    pub created: String,
    /// "Never", or when.
    pub expires: String,
    /// "Never used", or when, by what, from where.
    pub last_used: String,
    /// Where it may be used from ("" for anywhere).
    pub networks: String,
}

/// One signed-in app (a device key) of the Devices section.
pub struct AppRow {
    pub id: i64,
    pub name: String,
    pub signed_in: String,
    pub signed_in_from: String,
    /// When it was last used ("" for not since it signed in).
    pub last_used: String,
    pub last_ip: String,
    pub push_registrations: usize,
}

/// A scope in words, as the API keys section shows it.
pub fn scope_words(scope: &serde_json::Value) -> String {
    let Ok(scope) = tessera_core::KeyScope::parse(&scope.to_string()) else {
        return scope.to_string();
    };
    match scope {
        s if s == tessera_core::KeyScope::FULL => "Full access".into(),
        s if s == tessera_core::KeyScope::READ => "Read only".into(),
        s if s == tessera_core::KeyScope::SEND => "Send only".into(),
        s => {
            let mut words = s.group_names().join(", ");
            if let Some(first) = words.get_mut(..1) {
                first.make_ascii_uppercase();
            }
            words
        }
    }
}

/// The longest-lifetime choices of the policy tab, the current one selected (also a value
/// set through the API that is not among the presets).
fn lifetime_choices(current: Option<i64>) -> Vec<(String, String, bool)> {
    let mut days: Vec<i64> = vec![7, 30, 90, 180, 365];
    if let Some(d) = current
        && !days.contains(&d)
    {
        days.push(d);
        days.sort_unstable();
    }
    let mut choices = vec![(
        "unlimited".to_owned(),
        "No limit (a key may never expire)".to_owned(),
        current.is_none(),
    )];
    choices.extend(days.into_iter().map(|d| {
        let label = if d == 1 {
            "1 day".to_owned()
        } else {
            format!("{d} days")
        };
        (d.to_string(), label, current == Some(d))
    }));
    choices
}

/// The named keys of an account, as rows.
fn key_rows(keys: &[tessera_app::NamedKeyView]) -> Vec<KeyRow> {
    keys.iter()
        .filter(|k| k.kind == "named")
        .map(|k| KeyRow {
            id: k.id,
            name: k.name.clone(),
            scope: scope_words(&k.scope),
            created: when(k.date_created * 1_000_000),
            expires: k
                .expires
                .map_or("Never".to_owned(), |t| when(t * 1_000_000)),
            last_used: k.last_used.as_ref().map_or("Never used".to_owned(), |u| {
                let from =
                    u.ip.as_deref()
                        .map(|ip| format!(" from {ip}"))
                        .unwrap_or_default();
                format!("{} by {}{from}", when(u.timestamp * 1_000_000), u.client)
            }),
            networks: k
                .allowed_networks
                .as_ref()
                .map(|n| n.join(", "))
                .unwrap_or_default(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    password_rule: String,
    mobile_devices: Vec<DeviceRow>,
    signed_in_apps: Vec<AppRow>,
    named_keys: Vec<KeyRow>,
    /// The organization's API-key policy (the create-key form and the policy tab).
    policy: tessera_app::KeyPolicy,
    /// The policy tab's choices of a longest key lifetime: (value, label, selected).
    lifetime_choices: Vec<(String, String, bool)>,
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

/// GET /settings/{tab} — `account-and-privacy`, `your-bots`, `all-bots` and `api-key-policy`
/// (administrators).
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
        "api-key-policy" if who.role.is_admin() => "api-key-policy",
        "api-key-policy" => return web.redirect(HOME),
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
    let (mut signed_in_apps, mut named_keys) = (Vec::new(), Vec::new());
    let policy = match web.app.key_policy(who.realm_id).await {
        Ok(p) => p,
        Err(e) => return web.failure(&e).await,
    };
    if tab == "account-and-privacy" {
        let devices = match web.app.devices_of(user.id).await {
            Ok(d) => d,
            Err(e) => return web.failure(&e).await,
        };
        match web.app.list_named_keys(&user).await {
            Ok(keys) => named_keys = key_rows(&keys),
            Err(e) => return web.failure(&e).await,
        }
        signed_in_apps = devices
            .apps
            .iter()
            .map(|k| AppRow {
                id: k.id,
                name: k.name.clone(),
                signed_in: when(k.created_at),
                signed_in_from: k.created_address.clone().unwrap_or_default(),
                last_used: k.last_used_at.map(when).unwrap_or_default(),
                last_ip: k.last_address.clone().unwrap_or_default(),
                push_registrations: devices
                    .push
                    .iter()
                    .filter(|p| p.api_key_id == Some(k.id))
                    .count(),
            })
            .collect();
        mobile_devices = devices
            .push
            .iter()
            .map(|p| DeviceRow {
                id: p.id,
                key_id: p.api_key_id,
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
                key_id: None,
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
                key_id: None,
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
        signed_in_apps,
        named_keys,
        lifetime_choices: lifetime_choices(policy.max_lifetime_days),
        policy,
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
