//! Knowing an account's devices: API clients seen using its key, push registrations, web
//! sessions; signing one session out; "Log out everywhere". The use log, the new-login email
//! and the mobile/desktop hand-offs each have their own file.

mod handoff;
mod keys;
mod login_email;
mod use_log;

pub use keys::MAX_DEVICE_KEYS;
pub use use_log::USE_RECORD_INTERVAL_SECS;
pub(crate) use use_log::UseLog;

use crate::auth::Principal;
use crate::sessions::SessionCaller;
use crate::{App, AppError, Result};
use tessera_store::{ApiClientRow, ApiKeyRow, AuditEvent, PushDeviceRow, SessionRow};

/// Everything the Devices section lists.
#[derive(Debug, Clone)]
pub struct Devices {
    pub push: Vec<PushDeviceRow>,
    /// Apps signed in with their own key (device keys), most recently used first.
    pub apps: Vec<ApiKeyRow>,
    pub clients: Vec<ApiClientRow>,
    pub sessions: Vec<SessionRow>,
}

impl App {
    /// The Devices section of a user.
    pub async fn devices_of(&self, user_id: i64) -> Result<Devices> {
        let mut apps: Vec<ApiKeyRow> = self
            .store()
            .api_keys(user_id, false)
            .await?
            .into_iter()
            .filter(|k| k.kind == tessera_core::KeyKind::Device.as_str())
            .collect();
        apps.sort_by_key(|k| std::cmp::Reverse((k.last_used_at.unwrap_or(k.created_at), k.id)));
        Ok(Devices {
            push: self.store().push_devices_for(user_id).await?,
            apps,
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
}
