//! The new-login email and the login audit row.

use crate::mail::OutgoingMail;
use crate::{App, Result};
use tessera_store::{AuditEvent, UserRow};

impl App {
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
}
