//! "Forgot your password?": Zulip's `ZulipPasswordResetForm` and Django's reset views.
//!
//! The request answers the same whatever the address (an email goes out either way: a link for
//! an active account, otherwise a note that there is no active account). The link carries a
//! single-use token stored only as a keyed digest; it expires after Django's
//! `PASSWORD_RESET_TIMEOUT` (3 days) and is spent by any password change. Setting the new
//! password ends every web session of the user.

use crate::mail::OutgoingMail;
use crate::{App, AppError, Result};
use askama::Template;
use base64::Engine as _;
use tessera_core::Token;
use tessera_core::secrets::Purpose;
use tessera_store::{StoreError, UserRow};

/// Django's `PASSWORD_RESET_TIMEOUT` default, which Zulip keeps.
pub const RESET_LINK_LIFETIME_SECS: i64 = 3 * 24 * 3600;

#[derive(Template)]
#[template(path = "mail/password_reset.txt")]
struct ResetMail<'a> {
    email: &'a str,
    realm_url: &'a str,
    reset_url: Option<String>,
    user_deactivated: bool,
}

/// A reset link's two path segments: Django's `uidb64` and the token.
fn encode_uid(user_id: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(user_id.to_string())
}

fn decode_uid(uid: &str) -> Option<i64> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(uid)
        .ok()?;
    std::str::from_utf8(&bytes).ok()?.parse().ok()
}

impl App {
    fn reset_digest(&self, token: &Token) -> Vec<u8> {
        self.secret()
            .digest(Purpose::ResetToken, token.expose())
            .0
            .to_vec()
    }

    /// `POST /accounts/password/reset/`: send the reset email. Rate limited per address
    /// (Zulip's `password_reset_form_by_email`) and per client IP (`sends_email_by_ip`); both
    /// count every request, whether or not the address has an account. Silently does nothing
    /// when the realm has password authentication off or is deactivated, as Zulip.
    pub async fn request_password_reset(
        &self,
        subdomain: &str,
        email: &str,
        client_ip: Option<&str>,
    ) -> Result<()> {
        let realm = self.realm_for_subdomain(subdomain).await?;
        let email = tessera_core::Email::parse(email)
            .map_err(|_| AppError::bad("Enter a valid email address."))?;
        let now = self.now();
        let limits = &self.inner.limits;
        let key = email.as_str().to_lowercase();
        let ip_key = client_ip.unwrap_or("unknown");
        let store = self.store();
        let waits = [
            limits.reset_by_email_hour.limited(store, &key, now).await?,
            limits.reset_by_email_day.limited(store, &key, now).await?,
            limits.emails_by_ip.limited(store, ip_key, now).await?,
        ];
        if let Some(wait) = waits.into_iter().flatten().reduce(f64::max) {
            tracing::warn!("too many password reset attempts");
            return Err(AppError::RateLimited { retry_after: wait });
        }
        limits.reset_by_email_hour.hit(store, &key, now).await?.ok();
        limits.reset_by_email_day.hit(store, &key, now).await?.ok();
        limits.emails_by_ip.hit(store, ip_key, now).await?.ok();
        if !realm.row.password_auth_enabled || realm.row.deactivated {
            return Ok(());
        }
        let user = self
            .store()
            .user_by_email(realm.row.id, email.as_str())
            .await?
            .filter(|u| !u.is_bot);
        let realm_url = self.realm_url(&realm.row.string_id);
        let (reset_url, user_deactivated, to) = match &user {
            Some(u) if u.is_active => {
                let token = Token::generate();
                self.store()
                    .create_reset_token(
                        &self.reset_digest(&token),
                        u.id,
                        now,
                        now + RESET_LINK_LIFETIME_SECS * 1_000_000,
                    )
                    .await?;
                let url = format!(
                    "{realm_url}/accounts/password/reset/{}/{}/",
                    encode_uid(u.id),
                    token.expose()
                );
                (Some(url), false, u.delivery_email.clone())
            }
            Some(u) => (None, true, u.delivery_email.clone()),
            None => (None, false, email.as_str().to_owned()),
        };
        let body = ResetMail {
            email: email.as_str(),
            realm_url: &realm_url,
            reset_url,
            user_deactivated,
        }
        .render()
        .map_err(AppError::failed("rendering the reset mail"))?;
        self.send_mail(OutgoingMail {
            to,
            subject: format!("Password reset request for {}", realm.row.name),
            body,
        })
        .await
    }

    /// The account a reset link is good for (unused, unexpired, active, this realm), else
    /// `None`: the page then says the link is invalid or has already been used.
    pub async fn check_reset_link(
        &self,
        subdomain: &str,
        uid: &str,
        token: &str,
    ) -> Result<Option<UserRow>> {
        let (Some(user_id), Some(token)) = (decode_uid(uid), Token::parse(token)) else {
            return Ok(None);
        };
        let Some(owner) = self
            .store()
            .reset_token_user(&self.reset_digest(&token), self.now())
            .await?
        else {
            return Ok(None);
        };
        if owner != user_id {
            return Ok(None);
        }
        let user = self.user_row(user_id).await?;
        let realm = self.realm_by_id(user.realm_id).await?;
        if !user.is_active || realm.string_id != subdomain || realm.deactivated {
            return Ok(None);
        }
        Ok(Some(user))
    }

    /// Set the new password from a reset link (Django's `SetPasswordForm` with Zulip's
    /// strength check). The token is spent, other outstanding links too, and every session of
    /// the user ends — all in one transaction.
    pub async fn complete_password_reset(
        &self,
        subdomain: &str,
        uid: &str,
        token: &str,
        new_password1: &str,
        new_password2: &str,
        regenerate_api_key: bool,
    ) -> Result<UserRow> {
        let user = self
            .check_reset_link(subdomain, uid, token)
            .await?
            .ok_or_else(|| {
                AppError::bad("Sorry, the link you provided is invalid or has already been used.")
            })?;
        if new_password1 != new_password2 {
            return Err(AppError::bad(
                "The two password fields didn\u{2019}t match.",
            ));
        }
        if new_password1.is_empty() {
            return Err(AppError::bad("This field is required."));
        }
        let hash = self.hash_new_password(new_password1).await?;
        let token = Token::parse(token).ok_or_else(|| AppError::bad("invalid token"))?;
        match self
            .store()
            .reset_password_with_token(&self.reset_digest(&token), &hash, self.now())
            .await
        {
            Ok(_) => {}
            Err(StoreError::NotFound) => {
                return Err(AppError::bad(
                    "Sorry, the link you provided is invalid or has already been used.",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        self.inner
            .limits
            .auth_by_username
            .clear(self.store(), &user.delivery_email)
            .await?;
        if regenerate_api_key {
            self.regenerate_api_key(&user, user.id).await?;
            self.store().clear_api_clients(user.id).await?;
            self.forget_client_uses(user.id);
        }
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_round_trip() {
        assert_eq!(decode_uid(&encode_uid(42)), Some(42));
        assert_eq!(encode_uid(42), "NDI");
        assert_eq!(decode_uid("!!"), None);
        assert_eq!(decode_uid("YWJj"), None);
    }
}
