//! Creating organizations and people, passwords, deactivation.

use crate::{App, AppError, Result};
use tessera_core::names::check_full_name;
use tessera_core::password::check_password_strength;
use tessera_core::secrets::Purpose;
use tessera_core::{ApiKey, Email, Role};
use tessera_store::{NewUser, StoreError, UserRow};

/// The first organization and its owner, as created by `tessera init` or the first start.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub realm_id: i64,
    pub user_id: i64,
    pub email: String,
    pub realm_url: String,
}

fn default_full_name(email: &Email) -> String {
    let local = email.as_str().split('@').next().unwrap_or("");
    check_full_name(local).unwrap_or_else(|_| "Organization owner".to_owned())
}

impl App {
    /// Build the row for a new user with a fresh key (sealed to the row's id once known).
    pub(crate) fn new_user_row(
        &self,
        realm_id: i64,
        email: &Email,
        full_name: String,
        role: Role,
        password_hash: Option<String>,
    ) -> (NewUser, ApiKey) {
        let key = ApiKey::generate();
        let secret = self.secret().clone();
        let plain = key.expose().to_owned();
        let new = NewUser {
            realm_id,
            email: email.as_str().to_owned(),
            delivery_email: email.as_str().to_owned(),
            full_name,
            role: role.as_i64(),
            bot_type: None,
            bot_owner_id: None,
            password_hash,
            key_digest: self
                .secret()
                .digest(Purpose::ApiKey, key.expose())
                .0
                .to_vec(),
            seal_key: Box::new(move |id| secret.seal(Purpose::ApiKey, id, &plain)),
            service: None,
            timezone: String::new(),
            default_stream_colors: crate::STREAM_COLORS
                .iter()
                .map(|c| (*c).to_owned())
                .collect(),
        };
        (new, key)
    }

    /// Validate and hash a new password.
    pub(crate) async fn hash_new_password(&self, password: &str) -> Result<String> {
        check_password_strength(password).map_err(|e| AppError::bad(e.to_string()))?;
        self.inner.passwords.hash(password.to_owned()).await
    }

    /// Create the default (root) organization and its owner. Refuses if the store was already
    /// initialised; writes everything or nothing.
    pub async fn bootstrap(
        &self,
        org_name: &str,
        email: &str,
        full_name: Option<&str>,
        password: &str,
    ) -> Result<Bootstrap> {
        let org_name = org_name.trim();
        if org_name.is_empty() || org_name.chars().count() > 40 {
            return Err(AppError::bad(
                "Organization name must be 1 to 40 characters.",
            ));
        }
        let email = Email::parse(email).map_err(AppError::bad)?;
        let full_name = match full_name {
            Some(n) => check_full_name(n).map_err(AppError::bad)?,
            None => default_full_name(&email),
        };
        let hash = self.hash_new_password(password).await?;
        let (new, _key) = self.new_user_row(0, &email, full_name, Role::Owner, Some(hash));
        let now = self.now();
        match self
            .store()
            .bootstrap("", org_name, new, &self.secret().check_value(), now)
            .await
        {
            Ok((realm_id, user_id)) => {
                let owner = self.user_row(user_id).await?;
                self.onboard(&owner).await?;
                Ok(Bootstrap {
                    realm_id,
                    user_id,
                    email: email.as_str().to_owned(),
                    realm_url: self.realm_url(""),
                })
            }
            Err(StoreError::Conflict(c)) if c == "initialized" => Err(AppError::Config(
                "this store is already initialised; refusing to create a second organization owner"
                    .into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether `tessera init` (or the first start) has run on this store.
    pub async fn is_initialized(&self) -> Result<bool> {
        Ok(self.store().meta_get("initialized").await?.is_some())
    }

    /// Create a person in a realm (CLI `user create`). `acting` is the creator, if any.
    pub async fn create_user(
        &self,
        realm_id: i64,
        email: &str,
        full_name: &str,
        role: Role,
        password: Option<&str>,
        acting: Option<i64>,
    ) -> Result<UserRow> {
        let email = Email::parse(email).map_err(AppError::bad)?;
        let full_name = check_full_name(full_name).map_err(AppError::bad)?;
        if self
            .store()
            .user_by_email(realm_id, email.as_str())
            .await?
            .is_some()
        {
            return Err(AppError::bad("Email is already in use."));
        }
        let hash = match password {
            Some(p) => Some(self.hash_new_password(p).await?),
            None => None,
        };
        let (new, _key) = self.new_user_row(realm_id, &email, full_name, role, hash);
        let user = match self.store().create_user(new, acting, self.now()).await {
            Err(StoreError::Conflict(_)) => return Err(AppError::bad("Email is already in use.")),
            other => other?,
        };
        self.announce_new_user(&user).await?;
        Ok(user)
    }

    /// After an account is created: `realm_user` (and for bots `realm_bot`) events, then
    /// Zulip's onboarding (default channels; Welcome Bot's message for people).
    pub(crate) async fn announce_new_user(&self, user: &UserRow) -> Result<()> {
        let everyone: Vec<i64> = self
            .store()
            .users_in_realm(user.realm_id)
            .await?
            .iter()
            .filter(|u| u.is_active && u.id != user.id)
            .map(|u| u.id)
            .collect();
        self.events().publish(crate::Notice::plain(
            everyone,
            serde_json::json!({"type": "realm_user", "op": "add", "person": self.user_object(user)}),
        ));
        if user.is_bot {
            let mut watchers: Vec<i64> = self
                .store()
                .users_in_realm(user.realm_id)
                .await?
                .iter()
                .filter(|u| u.is_active && (u.role == 100 || u.role == 200))
                .map(|u| u.id)
                .collect();
            if let Some(owner) = user.bot_owner_id {
                watchers.push(owner);
            }
            self.events().publish(crate::Notice::plain(
                watchers,
                serde_json::json!({"type": "realm_bot", "op": "add", "bot": self.realm_bot_object(user)}),
            ));
        }
        self.onboard(user).await
    }

    /// Find a user of a realm by delivery email, or "No such user".
    pub async fn user_by_email(&self, realm_id: i64, email: &str) -> Result<UserRow> {
        self.store()
            .user_by_email(realm_id, email.trim())
            .await?
            .ok_or_else(|| AppError::bad("No such user"))
    }

    /// Set a user's password (strength-checked; audit 122). Clears the username's
    /// authentication rate-limit history, as Zulip does, spends any outstanding reset link and
    /// ends every web session of the user.
    pub async fn set_password(&self, user: &UserRow, password: &str, acting: i64) -> Result<()> {
        self.replace_password(user, password, acting, None).await
    }

    /// [`App::set_password`], keeping the web session `keep` (the one that made the change).
    pub(crate) async fn replace_password(
        &self,
        user: &UserRow,
        password: &str,
        acting: i64,
        keep: Option<i64>,
    ) -> Result<()> {
        let hash = self.hash_new_password(password).await?;
        self.store()
            .set_password(user.id, &hash, acting, self.now())
            .await?;
        self.inner
            .limits
            .auth_by_username
            .clear(self.store(), &user.delivery_email)
            .await?;
        self.end_sessions(user.id, keep).await?;
        Ok(())
    }

    /// Deactivate a user (audit 103). Their key stops working on the next request; a human's
    /// bots are deactivated with them (Zulip's cascade).
    pub async fn deactivate_user(&self, user: &UserRow, acting: i64) -> Result<bool> {
        if !user.is_bot {
            for bot in self.store().bots_owned_by(user.id, true).await? {
                self.set_active(&bot, false, acting).await?;
            }
        }
        self.set_active(user, false, acting).await
    }

    /// Reactivate a user (audit 104). The same key works again.
    pub async fn reactivate_user(&self, user: &UserRow, acting: i64) -> Result<bool> {
        self.set_active(user, true, acting).await
    }

    async fn set_active(&self, user: &UserRow, active: bool, acting: i64) -> Result<bool> {
        let changed = self
            .store()
            .set_active(user.id, active, acting, self.now())
            .await?;
        self.inner.key_cache.evict(&user.api_key_digest).await;
        if !active {
            // Zulip's `do_deactivate_user` deletes the user's sessions and event queues.
            self.end_sessions(user.id, None).await?;
            self.events()
                .publish(crate::Notice::DropQueues { user: user.id });
        }
        if changed {
            let everyone: Vec<i64> = self
                .store()
                .users_in_realm(user.realm_id)
                .await?
                .iter()
                .filter(|u| u.is_active)
                .map(|u| u.id)
                .collect();
            self.events().publish(crate::Notice::plain(
                everyone.clone(),
                serde_json::json!({"type": "realm_user", "op": "update",
                                   "person": {"user_id": user.id, "is_active": active}}),
            ));
            if user.is_bot {
                self.events().publish(crate::Notice::plain(
                    everyone,
                    serde_json::json!({"type": "realm_bot", "op": "update",
                                       "bot": {"user_id": user.id, "is_active": active}}),
                ));
            }
        }
        Ok(changed)
    }

    /// Change a user's role (audit 105); the cached principal is evicted.
    pub async fn set_role(&self, user: &UserRow, role: Role, acting: i64) -> Result<()> {
        self.store()
            .set_role(user.id, role.as_i64(), acting, self.now())
            .await?;
        self.inner.key_cache.evict(&user.api_key_digest).await;
        Ok(())
    }
}

/// Onboarding and tessera's own bots (Welcome Bot's message to every new person,
/// Notification Bot's channel events).
impl App {
    /// The realm's Welcome Bot (created on first use).
    async fn welcome_bot(&self, realm_id: i64) -> Result<UserRow> {
        self.system_bot(realm_id, "welcome-bot", "Welcome Bot")
            .await
    }

    /// A bot tessera itself speaks as (`welcome-bot@…`, `notification-bot@…`), created on
    /// first use without an owner.
    pub(crate) async fn system_bot(
        &self,
        realm_id: i64,
        local_part: &str,
        full_name: &str,
    ) -> Result<UserRow> {
        let realm = self.realm_by_id(realm_id).await?;
        let email = format!("{local_part}@{}", self.bot_domain(&realm.string_id));
        if let Some(u) = self.store().user_by_email(realm_id, &email).await? {
            if !self.is_system_bot(&u) {
                return Err(AppError::Invariant(format!("{email} is not a system bot")));
            }
            return Ok(u);
        }
        let email = tessera_core::Email::parse(&email).map_err(AppError::bad)?;
        let (mut new, _key) = self.new_user_row(
            realm_id,
            &email,
            full_name.into(),
            tessera_core::Role::Member,
            None,
        );
        new.bot_type = Some(tessera_core::BotType::Generic.as_i64());
        // Bots join no channel (see `onboard`).
        new.default_stream_colors.clear();
        match self.store().create_user(new, None, self.now()).await {
            Ok(u) => Ok(u),
            Err(tessera_store::StoreError::Conflict(_)) => {
                self.user_by_email(realm_id, email.as_str()).await
            }
            Err(e) => Err(e.into()),
        }
    }

    /// What every new person gets: the default channels and Welcome Bot's direct message.
    /// Bots get neither: Zulip's `do_create_user` runs `process_new_human_user` (which adds
    /// the default channels) only when `bot_type is None`.
    pub async fn onboard(&self, user: &UserRow) -> Result<()> {
        if user.is_bot {
            return Ok(());
        }
        for s in self.ensure_default_streams(user.realm_id).await? {
            self.subscribe_user(user.id, &s).await?;
        }
        let bot = self.welcome_bot(user.realm_id).await?;
        let realm_url = self.realm_url(&self.realm_by_id(user.realm_id).await?.string_id);
        let admin_note = if user.role == 100 || user.role == 200 {
            format!(
                " We also have a guide for [Setting up your organization]({realm_url}/help/getting-your-organization-started-with-zulip)."
            )
        } else {
            String::new()
        };
        let content = format!(
            "Hello, and welcome to Zulip!\u{1f44b} This is a direct message from me, Welcome Bot.\n\n\
             If you are new to Zulip, check out our [Getting started guide]({realm_url}/help/getting-started-with-zulip)!{admin_note}\n\n\
             I can also help you get set up! Just click anywhere on this message or press `r` to reply.\n\n\
             Here are a few messages I understand: `apps`, `profile`, `theme`, `channels`, `topics`, `message formatting`, `keyboard shortcuts`, `help`."
        );
        self.send_as_system_bot(
            &bot,
            crate::Destination::DirectIds(vec![user.id]),
            None,
            content,
        )
        .await?;
        Ok(())
    }
}
