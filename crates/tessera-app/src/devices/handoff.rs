//! Handing a credential to the mobile and desktop apps through the browser: the mobile
//! `zulip://login` redirect with the OTP-encrypted key, and the desktop app's single-use
//! login token.

use crate::sessions::{NewSession, SESSION_LIFETIME_SECS};
use crate::{App, AppError, Result};
use tessera_core::Token;
use tessera_core::mobile_auth::{desktop_encrypt, is_valid_otp, otp_encrypt_api_key};
use tessera_core::secrets::Purpose;
use tessera_store::{SessionOrigin, UserRow};

/// Zulip's desktop-flow token lifetime.
pub const DESKTOP_TOKEN_SECS: i64 = 15;

impl App {
    /// Mobile flow: the `zulip://login?…` redirect carrying the OTP-encrypted key — this
    /// login's own device key (or the account key when the organization's policy is off).
    /// `device` names the phone ("Chrome on Android": the browser that signed in; empty:
    /// unknown).
    pub async fn mobile_flow_redirect(
        &self,
        user: &UserRow,
        otp: &str,
        ip: Option<&str>,
        device: &str,
    ) -> Result<String> {
        if !is_valid_otp(otp) {
            return Err(AppError::bad("Invalid OTP"));
        }
        let name = if device.is_empty() {
            "Zulip mobile app".to_owned()
        } else {
            format!("Zulip mobile app ({device})")
        };
        let key = self.key_for_login(user, &name, ip).await?;
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
