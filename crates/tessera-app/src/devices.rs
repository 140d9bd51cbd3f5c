//! Knowing an account's devices: API clients seen using its key (recorded at most once a
//! minute per client, so the hot path does not write on every request), push registrations,
//! web sessions; signing one session out; "Log out everywhere"; the new-login email; and the
//! mobile/desktop hand-off of a credential through the browser.

use crate::auth::Principal;
use crate::mail::OutgoingMail;
use crate::sessions::{NewSession, SESSION_LIFETIME_SECS, SessionCaller};
use crate::{App, AppError, Result};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tessera_core::Token;
use tessera_core::mobile_auth::{desktop_encrypt, is_valid_otp, otp_encrypt_api_key};
use tessera_core::secrets::Purpose;
use tessera_store::{ApiClientRow, AuditEvent, PushDeviceRow, SessionOrigin, SessionRow, UserRow};

/// How often one client's (or session's) use is written down.
pub const USE_RECORD_INTERVAL_SECS: i64 = 60;
/// Zulip's desktop-flow token lifetime.
pub const DESKTOP_TOKEN_SECS: i64 = 15;

/// A user's clients: (client name, last write).
type ClientUses = Vec<(Box<str>, i64)>;

/// In-memory "last written" times, keyed by (user, client) and by session id.
#[derive(Default)]
pub(crate) struct UseLog {
    /// user → (client name, last write) for each client the user was seen with.
    clients: Mutex<HashMap<i64, ClientUses>>,
    sessions: Mutex<HashMap<i64, i64>>,
    writes: AtomicU64,
}

impl UseLog {
    fn due<K: std::hash::Hash + Eq>(map: &Mutex<HashMap<K, i64>>, key: K, now: i64) -> bool {
        let mut m = map.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() > 200_000 {
            m.retain(|_, t| now - *t < USE_RECORD_INTERVAL_SECS * 1_000_000);
        }
        match m.get(&key) {
            Some(t) if now - *t < USE_RECORD_INTERVAL_SECS * 1_000_000 => false,
            _ => {
                m.insert(key, now);
                true
            }
        }
    }

    /// Whether a client use is due for a write (no allocation when it is not).
    fn client_due(&self, user_id: i64, client: &str, now: i64) -> bool {
        let interval = USE_RECORD_INTERVAL_SECS * 1_000_000;
        let mut m = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() > 200_000 {
            m.retain(|_, seen| {
                seen.retain(|(_, t)| now - *t < interval);
                !seen.is_empty()
            });
        }
        let seen = m.entry(user_id).or_default();
        match seen.iter_mut().find(|(name, _)| &**name == client) {
            Some((_, t)) if now - *t < interval => false,
            Some((_, t)) => {
                *t = now;
                true
            }
            None => {
                seen.push((client.into(), now));
                true
            }
        }
    }
}

/// Everything the Devices section lists.
#[derive(Debug, Clone)]
pub struct Devices {
    pub push: Vec<PushDeviceRow>,
    pub clients: Vec<ApiClientRow>,
    pub sessions: Vec<SessionRow>,
}

impl App {
    /// Note that `user_id`'s key was used by `client` (Zulip's client name). Writes at most
    /// once a minute per (user, client).
    pub async fn note_client_use(&self, user_id: i64, client: &str, ip: Option<std::net::IpAddr>) {
        let now = self.now();
        let log = &self.inner.uses;
        if !log.client_due(user_id, client, now) {
            return;
        }
        log.writes.fetch_add(1, Ordering::Relaxed);
        // The address is formatted only when a write is due.
        let ip = ip.map(|a| a.to_string());
        if let Err(e) = self
            .store()
            .touch_api_client(user_id, client, now, ip.as_deref())
            .await
        {
            tracing::warn!(error = %e, "could not record the API client");
        }
    }

    /// Note that a web session was used (at most one write a minute per session).
    pub async fn note_session_use(&self, session_id: i64, ip: Option<std::net::IpAddr>) {
        let now = self.now();
        let log = &self.inner.uses;
        if !UseLog::due(&log.sessions, session_id, now) {
            return;
        }
        log.writes.fetch_add(1, Ordering::Relaxed);
        let ip = ip.map(|a| a.to_string());
        if let Err(e) = self
            .store()
            .touch_session(session_id, now, ip.as_deref())
            .await
        {
            tracing::warn!(error = %e, "could not record the session's use");
        }
    }

    /// How many use records this process has written (tests check the coalescing).
    pub fn use_record_writes(&self) -> u64 {
        self.inner.uses.writes.load(Ordering::Relaxed)
    }

    /// The Devices section of a user.
    pub async fn devices_of(&self, user_id: i64) -> Result<Devices> {
        Ok(Devices {
            push: self.store().push_devices_for(user_id).await?,
            clients: self.store().api_clients_of(user_id).await?,
            sessions: self.sessions_of(user_id).await?,
        })
    }

    /// Sign out one of your web sessions (not necessarily this one).
    pub async fn sign_out_session(&self, who: &Principal, session_id: i64) -> Result<()> {
        if !self
            .store()
            .delete_session_by_id(who.user_id.0, session_id)
            .await?
        {
            return Err(AppError::bad("No such session"));
        }
        let extra =
            serde_json::json!({"sessions": 1, "reason": "signed out from the devices page"})
                .to_string();
        self.store()
            .audit(
                who.realm_id,
                Some(who.user_id.0),
                Some(who.user_id.0),
                AuditEvent::SessionsEnded,
                self.now(),
                Some(extra),
            )
            .await?;
        Ok(())
    }

    /// "Log out everywhere": a new API key (which also drops every push registration and
    /// event queue), every other web session ended, the API-client list cleared. Returns the
    /// new key.
    pub async fn log_out_everywhere(&self, caller: &SessionCaller) -> Result<tessera_core::ApiKey> {
        let who = &caller.principal;
        let user = self.user_row(who.user_id.0).await?;
        let key = self.regenerate_api_key(&user, user.id).await?;
        let ended = self.end_sessions(user.id, Some(caller.session_id)).await?;
        self.store().clear_push_devices(user.id).await?;
        self.store().clear_api_clients(user.id).await?;
        self.forget_client_uses(user.id);
        let extra = serde_json::json!({"sessions_ended": ended}).to_string();
        self.store()
            .audit(
                who.realm_id,
                Some(user.id),
                Some(user.id),
                AuditEvent::LoggedOutEverywhere,
                self.now(),
                Some(extra),
            )
            .await?;
        Ok(key)
    }

    pub(crate) fn forget_client_uses(&self, user_id: i64) {
        self.inner
            .uses
            .clients
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&user_id);
    }

    /// After a password login (API or web) or a key hand-off: audit, and the new-login email
    /// when `client` was not seen before and the user wants it.
    pub async fn note_login(
        &self,
        user: &UserRow,
        client: &str,
        ip: Option<&str>,
        how: &str,
    ) -> Result<()> {
        let known = self.store().knows_client(user.id, client).await?;
        let now = self.now();
        self.store()
            .touch_api_client(user.id, client, now, ip)
            .await?;
        let extra = serde_json::json!({"client": client, "ip": ip, "how": how}).to_string();
        let event = if how == "web login" {
            AuditEvent::SessionStarted
        } else {
            AuditEvent::ApiKeyFetched
        };
        self.store()
            .audit(
                user.realm_id,
                Some(user.id),
                Some(user.id),
                event,
                now,
                Some(extra),
            )
            .await?;
        if known || !user.enable_login_emails || user.is_bot {
            return Ok(());
        }
        let realm = self.realm_by_id(user.realm_id).await?;
        let realm_url = self.realm_url(&realm.string_id);
        let when = crate::users::iso_minutes(now)
            .replace('T', " ")
            .replace("+00:00", "");
        let body = format!(
            "Hello {name},\n\n\
             We noticed a new login to your Zulip account {email} on {realm_url}.\n\n\
             Client: {client}\nTime: {when} (UTC)\nIP address: {ip}\nHow: {how}\n\n\
             If this was you, there is nothing to do.\n\n\
             If you don't recognize this login, go to {realm_url}/settings/account-and-privacy#devices_section, \
             choose \"Log out everywhere\" and change your password.\n\n\
             You can turn these emails off on that page.\n",
            name = user.full_name,
            email = user.delivery_email,
            ip = ip.unwrap_or("unknown"),
        );
        self.send_mail(OutgoingMail {
            to: user.delivery_email.clone(),
            subject: format!("New login to your account on {}", realm.name),
            body,
        })
        .await
    }

    /// Mobile flow: the `zulip://login?…` redirect carrying the OTP-encrypted key.
    pub async fn mobile_flow_redirect(
        &self,
        user: &UserRow,
        otp: &str,
        ip: Option<&str>,
    ) -> Result<String> {
        let key = self.reveal_api_key(user)?;
        let encrypted =
            otp_encrypt_api_key(key.expose(), otp).ok_or_else(|| AppError::bad("Invalid OTP"))?;
        let realm = self.realm_by_id(user.realm_id).await?;
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("otp_encrypted_api_key", &encrypted)
            .append_pair("email", &user.delivery_email)
            .append_pair("user_id", &user.id.to_string())
            .append_pair("realm", &self.realm_url(&realm.string_id))
            .finish();
        self.note_login(user, "ZulipMobile", ip, "mobile app login")
            .await?;
        Ok(format!("zulip://login?{query}"))
    }

    /// Desktop flow: a single-use 15-second login token, sealed for the app.
    pub async fn desktop_flow_data(&self, user: &UserRow, otp: &str) -> Result<String> {
        if !is_valid_otp(otp) {
            return Err(AppError::bad("Invalid OTP"));
        }
        let token = Token::generate();
        let digest = self
            .secret()
            .digest(Purpose::Session, &format!("desktop:{}", token.expose()));
        self.store()
            .create_login_token(
                &digest.0,
                user.id,
                self.now() + DESKTOP_TOKEN_SECS * 1_000_000,
            )
            .await?;
        desktop_encrypt(token.expose(), otp).ok_or_else(|| AppError::bad("Invalid OTP"))
    }

    /// `/accounts/login/subdomain/{token}`: spend a desktop token for a web session.
    pub async fn consume_desktop_token(
        &self,
        subdomain: &str,
        token: &str,
        origin: &SessionOrigin,
    ) -> Result<NewSession> {
        if !tessera_core::api_key::has_api_key_format(token) {
            return Err(AppError::bad("Invalid login token"));
        }
        let digest = self
            .secret()
            .digest(Purpose::Session, &format!("desktop:{token}"));
        let user_id = self
            .store()
            .consume_login_token(&digest.0, self.now())
            .await?
            .ok_or_else(|| AppError::bad("The login link is invalid or has expired."))?;
        let user = self.user_row(user_id).await?;
        let realm = self.realm_by_id(user.realm_id).await?;
        if realm.string_id != subdomain {
            return Err(AppError::InvalidSubdomain);
        }
        if !user.is_active || realm.deactivated {
            return Err(AppError::UserDeactivated);
        }
        self.note_login(
            &user,
            "ZulipDesktop",
            origin.ip.as_deref(),
            "desktop app login",
        )
        .await?;
        self.open_session(user, origin, SESSION_LIFETIME_SECS).await
    }
}
