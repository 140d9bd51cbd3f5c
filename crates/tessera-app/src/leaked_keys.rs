//! Leak reports: a secret scanner (GitHub's partner programme, or anything speaking its format)
//! tells tessera where one of its keys was published; every key that some account holds is
//! replaced at once, the owner is told where it leaked, and the answer labels each token.

use crate::mail::OutgoingMail;
use crate::{App, AppError, Result};
use tessera_core::ApiKey;
use tessera_core::secret_scanning::{FoundToken, Label, TokenVerdict, parse_report};
use tessera_core::secrets::Purpose;
use tessera_store::{AuditEvent, UserRow};

impl App {
    /// A signed report: check the signature against the configured public keys (nothing of
    /// an unsigned or badly signed report is read further), then for each token: a tessera
    /// key (shape and checksum, offline) that an account holds is replaced — the account key
    /// is regenerated, which also logs the account's mobile devices out — audited with where
    /// it leaked, and its owner emailed: `true_positive`. Anything else changes nothing:
    /// `false_positive`.
    pub async fn report_leaked_keys(
        &self,
        key_identifier: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<Vec<TokenVerdict>> {
        let keys = self.config().secret_scanning_keys.as_ref().ok_or_else(|| {
            AppError::bad("Secret scanning reports are not configured on this server.")
        })?;
        keys.verify(key_identifier, signature, body)
            .map_err(|e| AppError::bad(e.to_string()))?;
        let found = parse_report(body).map_err(|e| AppError::bad(e.to_string()))?;
        let mut verdicts = Vec::with_capacity(found.len());
        for token in &found {
            let label = match ApiKey::parse(&token.token) {
                Ok(key) if self.replace_leaked_key(&key, token).await? => Label::TruePositive,
                _ => Label::FalsePositive,
            };
            verdicts.push(TokenVerdict::new(token, label));
        }
        Ok(verdicts)
    }

    /// Replace a reported key if an account holds it (also a deactivated one: reactivation
    /// would bring the key back). Returns whether it did.
    async fn replace_leaked_key(&self, key: &ApiKey, found: &FoundToken) -> Result<bool> {
        let digest = self.secret().digest(Purpose::ApiKey, key.expose());
        let Some(row) = self.store().auth_by_digest(&digest.0).await? else {
            return Ok(false);
        };
        let user = self.user_row(row.user_id).await?;
        let kind = row
            .key_kind
            .as_deref()
            .map(tessera_core::KeyKind::from_stored);
        match row.key_id {
            // Any other key (named, device, previous): revoked alone; the account key and
            // the other keys keep working.
            Some(key_id) => {
                self.revoke_named_key(&user, key_id, None, "reported leaked")
                    .await?;
            }
            None => {
                self.regenerate_api_key(&user, user.id).await?;
            }
        }
        let now = self.now();
        let extra = serde_json::json!({
            "url": found.url,
            "source": found.source,
            "type": found.token_type,
            "key_id": row.key_id,
            "kind": kind.map(tessera_core::KeyKind::as_str),
        })
        .to_string();
        self.store()
            .audit(
                user.realm_id,
                None,
                Some(user.id),
                AuditEvent::ApiKeyLeakReported,
                now,
                Some(extra),
            )
            .await?;
        tracing::warn!(user_id = user.id, url = %found.url, "a leaked API key was reported and replaced");
        self.mail_leak_notice(&user, found, kind).await?;
        Ok(true)
    }

    /// Tell a person, or a bot's owner, where the key was found and that it was replaced.
    async fn mail_leak_notice(
        &self,
        user: &UserRow,
        found: &FoundToken,
        kind: Option<tessera_core::KeyKind>,
    ) -> Result<()> {
        let realm = self.realm_by_id(user.realm_id).await?;
        let realm_url = self.realm_url(&realm.string_id);
        let Some(to) = self.key_mail_recipient(user).await? else {
            return Ok(());
        };
        let (whose, subject, next) = if user.is_bot {
            (
                format!(
                    "the API key of your bot {} ({})",
                    user.full_name, user.email
                ),
                format!(
                    "The API key of your bot {} was found in public",
                    user.full_name
                ),
                format!(
                    "Download the bot's new zuliprc from {realm_url}/settings/your-bots and \
                     redeploy it."
                ),
            )
        } else {
            (
                format!("the API key of your account {}", user.delivery_email),
                "Your API key was found in public".to_owned(),
                format!(
                    "Get your new key, or a new zuliprc, from \
                     {realm_url}/settings/account-and-privacy (\"Manage your API key\") and \
                     sign your apps in again."
                ),
            )
        };
        let when = crate::users::iso_minutes(self.now())
            .replace('T', " ")
            .replace("+00:00", "");
        use tessera_core::KeyKind;
        let revoked_alone = "revoked it; the published key no longer works anywhere, and the \
                             account's other keys were not changed";
        let (whose, done, next) = match kind {
            Some(KeyKind::Named) => (
                whose.replacen("the API key", "a named API key", 1),
                revoked_alone,
                "Create a new named key in its place if it is still needed.".to_owned(),
            ),
            Some(KeyKind::Device) => (
                whose.replacen("the API key", "the API key of one signed-in app", 1),
                revoked_alone,
                "That app is signed out; sign it in again.".to_owned(),
            ),
            Some(KeyKind::Previous) => (
                whose.replacen("the API key", "the previous API key", 1),
                revoked_alone,
                "The current key was not changed.".to_owned(),
            ),
            None => (
                whose,
                "replaced it with a new key; the published key no longer works anywhere, and \
                 mobile devices signed in with it were logged out",
                next,
            ),
        };
        let body = format!(
            "Hello {name},\n\n\
             A secret scanner reported that {whose} on {realm_url} was published here:\n\n\
             {url}\n(found in: {source})\n\n\
             Anyone who saw it could have used it, so at {when} (UTC) tessera {done}.\n\n\
             {next}\n\n\
             Remove the key from where it was published, and check the account's recent \
             activity.\n",
            name = to.full_name,
            url = if found.url.is_empty() {
                "(no address given)"
            } else {
                found.url.as_str()
            },
            source = if found.source.is_empty() {
                "unknown"
            } else {
                found.source.as_str()
            },
        );
        self.send_mail(OutgoingMail {
            to: to.delivery_email.clone(),
            subject,
            body,
        })
        .await
    }
}
