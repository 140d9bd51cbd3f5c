//! Legacy push-device registrations (`/users/me/apns_device_token`,
//! `/users/me/android_gcm_reg_id`). Regenerating a key removes them all (Zulip's
//! `clear_push_device_tokens` without a bouncer).

use crate::auth::Principal;
use crate::{App, AppError, Result};
use tessera_store::PushKind;

/// Which registration endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushService {
    Apns,
    Fcm,
}

impl PushService {
    fn kind(self) -> PushKind {
        match self {
            PushService::Apns => PushKind::Apns,
            PushService::Fcm => PushKind::Fcm,
        }
    }
}

/// Zulip's `validate_token`.
fn validate_token(token: &str, service: PushService) -> Result<()> {
    if token.is_empty() || token.len() > 4096 {
        return Err(AppError::bad("Empty or invalid length token"));
    }
    if service == PushService::Apns {
        // Python's non-strict b64decode ignores characters outside the alphabet, then needs
        // the rest to be correctly padded.
        let filtered: String = token
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
            .collect();
        let unpadded = filtered.trim_end_matches('=');
        if unpadded.contains('=') || !filtered.len().is_multiple_of(4) {
            return Err(AppError::bad("Invalid APNS token"));
        }
    }
    Ok(())
}

impl App {
    /// Register a device token for the caller (humans only). Re-adding is a no-op.
    pub async fn add_push_device(
        &self,
        who: &Principal,
        service: PushService,
        token: &str,
        appid: Option<&str>,
    ) -> Result<()> {
        who.require_human()?;
        if let Some(appid) = appid {
            let ok = !appid.is_empty()
                && appid
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
            if !ok {
                return Err(AppError::bad("appid has invalid format"));
            }
        }
        validate_token(token, service)?;
        self.store()
            .add_push_device(
                who.user_id.0,
                service.kind(),
                token,
                appid,
                // Registered by a device key: signing that device out removes it.
                who.grant
                    .key_id
                    .filter(|_| who.grant.kind == Some(tessera_core::KeyKind::Device)),
                self.now(),
            )
            .await?;
        Ok(())
    }

    /// Remove one of the caller's device tokens.
    pub async fn remove_push_device(
        &self,
        who: &Principal,
        service: PushService,
        token: &str,
    ) -> Result<()> {
        who.require_human()?;
        validate_token(token, service)?;
        if !self
            .store()
            .remove_push_device(who.user_id.0, service.kind(), token)
            .await?
        {
            return Err(AppError::bad("Token does not exist"));
        }
        Ok(())
    }
}
