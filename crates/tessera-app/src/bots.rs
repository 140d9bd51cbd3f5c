//! Bots: creation, listing, changes, deactivation, and their keys (decisions D2 and D5).

use crate::auth::Principal;
use crate::{App, AppError, Result};
use tessera_core::names::{check_full_name, check_short_name};
use tessera_core::secrets::Purpose;
use tessera_core::{ApiKey, BotType, Email, Role};
use tessera_store::{NewService, UserRow};

/// The embedded bots Zulip ships (`zulip_bots` names accepted as `service_name`).
pub const EMBEDDED_BOTS: &[&str] = &[
    "converter",
    "encrypt",
    "helloworld",
    "virtual_fs",
    "giphy",
    "followup",
];

/// Parameters of `POST /bots` after wire decoding.
#[derive(Debug, Clone, Default)]
pub struct NewBot {
    pub full_name: String,
    pub short_name: String,
    pub bot_type: i64,
    pub payload_url: String,
    pub interface_type: i64,
    pub service_name: Option<String>,
}

/// Parameters of `PATCH /bots/{bot_id}`; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct BotPatch {
    pub full_name: Option<String>,
    pub bot_owner_id: Option<i64>,
    pub role: Option<i64>,
    pub service_payload_url: Option<String>,
    pub service_interface: Option<i64>,
}

/// A bot as listed (never with its key).
#[derive(Debug, Clone)]
pub struct BotView {
    pub user: UserRow,
    /// The owner's email (the API's `bot_owner`) and full name (what the web UI shows).
    pub owner_email: Option<String>,
    pub owner_name: Option<String>,
    pub service_base_url: Option<String>,
    pub service_interface: Option<i64>,
}

fn valid_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// The longest overlap window a bot's replaced key may have (24 hours).
pub const MAX_KEY_OVERLAP_SECS: i64 = 86_400;

impl App {
    /// `POST /bots`: create a bot owned by the caller; returns the bot and its key (the creator
    /// is its owner and may see it, D5).
    pub async fn create_bot(&self, who: &Principal, new: NewBot) -> Result<(UserRow, ApiKey)> {
        who.require_member_or_admin()?;
        let short_name = check_short_name(&new.short_name).map_err(AppError::bad)?;
        // The addresses of tessera's own bots (Welcome Bot, Notification Bot) are taken.
        if matches!(
            short_name.to_lowercase().as_str(),
            "welcome" | "notification"
        ) {
            return Err(AppError::bad("Username already in use"));
        }
        let full_name = check_full_name(&new.full_name).map_err(AppError::bad)?;
        let domain = self.bot_domain(&who.realm_string_id);
        let email = Email::parse(&format!("{short_name}-bot@{domain}"))
            .map_err(|_| AppError::bad("Bad name or username"))?;
        let bot_type =
            BotType::from_i64(new.bot_type).ok_or_else(|| AppError::bad("Invalid bot type"))?;
        if new.interface_type != 1 && new.interface_type != 2 {
            return Err(AppError::bad("Invalid interface type"));
        }
        // Zulip's `check_bot_creation_policy`: 1 everyone, 2 generic bots by administrators
        // only, 3 administrators only.
        if !who.role.is_admin() {
            let policy = self
                .realm_setting(who.realm_id, "bot_creation_policy")
                .await?
                .and_then(|v| v.as_i64())
                .unwrap_or(1);
            if policy == 3 || (policy == 2 && bot_type == BotType::Generic) {
                return Err(AppError::UnauthorizedPrincipal(
                    "Must be an organization administrator".into(),
                ));
            }
        }
        let service_name = new
            .service_name
            .clone()
            .unwrap_or_else(|| short_name.clone());
        if bot_type == BotType::Embedded && !EMBEDDED_BOTS.contains(&service_name.as_str()) {
            return Err(AppError::bad("Invalid embedded bot name."));
        }
        if !new.payload_url.is_empty() && !valid_url(&new.payload_url) {
            return Err(AppError::bad("payload_url is not a URL"));
        }
        let store = self.store();
        if store
            .user_by_email(who.realm_id, email.as_str())
            .await?
            .is_some()
        {
            return Err(AppError::bad("Username already in use"));
        }
        self.check_name_available(who.realm_id, &full_name, None)
            .await?;

        let (mut row, key) = self.new_user_row(who.realm_id, &email, full_name, Role::Member, None);
        row.bot_type = Some(bot_type.as_i64());
        // Bots join no channel (see `onboard`).
        row.default_stream_colors.clear();
        row.bot_owner_id = Some(who.user_id.0);
        if bot_type.has_service() {
            let token = tessera_core::api_key::random_base62(32);
            let secret = self.secret().clone();
            row.service = Some(NewService {
                name: service_name,
                base_url: new.payload_url.clone(),
                interface: new.interface_type,
                seal_token: Box::new(move |id| secret.seal(Purpose::ServiceToken, id, &token)),
            });
        }
        let user = match store
            .create_user(row, Some(who.user_id.0), self.now())
            .await
        {
            Err(tessera_store::StoreError::Conflict(_)) => {
                return Err(AppError::bad("Username already in use"));
            }
            other => other?,
        };
        self.announce_new_user(&user).await?;
        Ok((user, key))
    }

    /// Zulip's `check_bot_name_available`: no other active user may have this exact name.
    async fn check_name_available(
        &self,
        realm_id: i64,
        name: &str,
        except: Option<i64>,
    ) -> Result<()> {
        let taken = self
            .store()
            .users_in_realm(realm_id)
            .await?
            .iter()
            .any(|u| u.is_active && u.full_name == name && Some(u.id) != except);
        if taken {
            return Err(AppError::bad("Name is already in use."));
        }
        Ok(())
    }

    /// `GET /bots`: the caller's own active bots, in creation order (Zulip lists only the
    /// caller's, even for administrators).
    pub async fn list_own_bots(&self, who: &Principal) -> Result<Vec<BotView>> {
        who.require_member_or_admin()?;
        let bots = self.store().bots_owned_by(who.user_id.0, true).await?;
        let mut out = Vec::with_capacity(bots.len());
        for bot in bots {
            out.push(self.bot_view(bot).await?);
        }
        Ok(out)
    }

    /// All bots of the caller's realm (administrators), or the caller's own (everyone else):
    /// what the web UI's bot tables show. Never the server's own bots (Welcome Bot,
    /// Notification Bot): Zulip keeps them outside the organization.
    pub async fn list_visible_bots(&self, who: &Principal) -> Result<Vec<BotView>> {
        who.require_member_or_admin()?;
        let rows = if who.role.is_admin() {
            self.store()
                .users_in_realm(who.realm_id)
                .await?
                .into_iter()
                .filter(|u| u.is_bot && !self.is_system_bot(u))
                .collect()
        } else {
            self.store().bots_owned_by(who.user_id.0, false).await?
        };
        let mut out = Vec::with_capacity(rows.len());
        for bot in rows {
            out.push(self.bot_view(bot).await?);
        }
        Ok(out)
    }

    async fn bot_view(&self, user: UserRow) -> Result<BotView> {
        let owner = match user.bot_owner_id {
            Some(id) => self.store().user_by_id(id).await?,
            None => None,
        };
        let (owner_email, owner_name) = match owner {
            Some(o) => (Some(o.email), Some(o.full_name)),
            None => (None, None),
        };
        let service = self.store().service_for(user.id).await?;
        Ok(BotView {
            owner_email,
            owner_name,
            service_base_url: service.as_ref().map(|s| s.base_url.clone()),
            service_interface: service.as_ref().map(|s| s.interface),
            user,
        })
    }

    /// Zulip's `access_bot_by_id`: the bot's owner or a realm administrator.
    pub async fn access_bot(&self, who: &Principal, bot_id: i64) -> Result<UserRow> {
        let bot = self
            .store()
            .user_by_id(bot_id)
            .await?
            // The server's own bots live outside every organization in Zulip: not one of its bots.
            .filter(|u| u.realm_id == who.realm_id && u.is_bot && !self.is_system_bot(u))
            .ok_or_else(|| AppError::bad("No such bot"))?;
        if bot.bot_owner_id != Some(who.user_id.0) && !who.role.is_admin() {
            return Err(AppError::bad("Insufficient permission"));
        }
        Ok(bot)
    }

    /// Decision D2: who may see a bot's key — its owner; administrators too for generic bots.
    pub fn may_reveal_bot_key(who: &Principal, bot: &UserRow) -> bool {
        bot.bot_owner_id == Some(who.user_id.0)
            || (who.role.is_admin() && bot.bot_type == Some(BotType::Generic.as_i64()))
    }

    /// `GET /bots/{bot_id}/api_key` (D2).
    pub async fn bot_api_key(&self, who: &Principal, bot_id: i64) -> Result<ApiKey> {
        who.require_member_or_admin()?;
        let bot = self.access_bot(who, bot_id).await?;
        if !Self::may_reveal_bot_key(who, &bot) {
            return Err(AppError::bad("Insufficient permission"));
        }
        self.reveal_api_key(&bot)
    }

    /// `zuliprc` of a bot, under the same rule as its key.
    pub async fn bot_zuliprc(&self, who: &Principal, bot_id: i64) -> Result<String> {
        who.require_member_or_admin()?;
        let bot = self.access_bot(who, bot_id).await?;
        if !Self::may_reveal_bot_key(who, &bot) {
            return Err(AppError::bad("Insufficient permission"));
        }
        self.zuliprc_for(&bot).await
    }

    /// `POST /bots/{bot_id}/api_key/regenerate`: any administrator or the owner may rotate
    /// (D5); the new key is returned only to someone who may see it. With an overlap
    /// (tessera's own, at most [`MAX_KEY_OVERLAP_SECS`]; none by default, the seed's
    /// immediate invalidation), the old key keeps working until the window ends or the new key
    /// is first used, whichever comes first.
    pub async fn regenerate_bot_api_key(
        &self,
        who: &Principal,
        bot_id: i64,
        overlap_secs: i64,
    ) -> Result<Option<ApiKey>> {
        who.require_member_or_admin()?;
        let until = self.overlap_until(overlap_secs)?;
        let bot = self.access_bot(who, bot_id).await?;
        let key = self.rotate_account_key(&bot, who.user_id.0, until).await?;
        Ok(Self::may_reveal_bot_key(who, &bot).then_some(key))
    }

    /// `tessera key regenerate [--overlap-seconds N]`: [`App::regenerate_api_key`], with a
    /// bot's overlap window as in [`App::regenerate_bot_api_key`]; a person's key has none
    /// (the seed: a new key logs the account out at once).
    pub async fn regenerate_api_key_with_overlap(
        &self,
        user: &UserRow,
        acting: i64,
        overlap_secs: i64,
    ) -> Result<ApiKey> {
        let until = self.overlap_until(overlap_secs)?;
        if until.is_some() && !user.is_bot {
            return Err(AppError::bad(
                "Only a bot's old API key can keep working after a new one is generated",
            ));
        }
        self.rotate_account_key(user, acting, until).await
    }

    /// When an overlap of `overlap_secs` from now ends (microseconds), `None` for none.
    fn overlap_until(&self, overlap_secs: i64) -> Result<Option<i64>> {
        if !(0..=MAX_KEY_OVERLAP_SECS).contains(&overlap_secs) {
            return Err(AppError::bad(format!(
                "overlap_seconds must be between 0 and {MAX_KEY_OVERLAP_SECS}"
            )));
        }
        Ok((overlap_secs > 0).then(|| self.now() + overlap_secs * 1_000_000))
    }

    /// A bot's new account key was used for the first time while its previous key was still
    /// in its overlap window: the previous key stops now (audit 9007, acting: nobody). The
    /// new key's cache entry is evicted with it, so it no longer carries the pending retirement.
    pub(crate) async fn retire_previous_key(
        &self,
        who: &Principal,
        previous_id: i64,
        account_digest: &[u8],
    ) -> Result<()> {
        let retired = self
            .store()
            .revoke_api_key(
                who.user_id.0,
                previous_id,
                None,
                "new key used",
                self.now(),
                Some(account_digest),
            )
            .await?;
        let cache = &self.inner.key_cache;
        for digest in &retired {
            cache.evict(digest).await;
        }
        cache.evict(account_digest).await;
        Ok(())
    }

    /// `DELETE /bots/{bot_id}`: deactivate (a no-op for an inactive bot, as in Zulip).
    pub async fn deactivate_bot(&self, who: &Principal, bot_id: i64) -> Result<()> {
        let bot = self.access_bot(who, bot_id).await?;
        self.deactivate_user(&bot, who.user_id.0).await?;
        Ok(())
    }

    /// `POST /users/{user_id}/reactivate`: administrators, or a bot's owner for the bot.
    pub async fn reactivate_by(&self, who: &Principal, user_id: i64) -> Result<()> {
        let target = self
            .store()
            .user_by_id(user_id)
            .await?
            .filter(|u| u.realm_id == who.realm_id)
            .ok_or_else(|| AppError::bad("No such user"))?;
        let may =
            who.role.is_admin() || (target.is_bot && target.bot_owner_id == Some(who.user_id.0));
        if !may {
            return Err(AppError::bad("Insufficient permission"));
        }
        if target.is_bot {
            who.require_member_or_admin()?;
            let clash = self
                .store()
                .users_in_realm(who.realm_id)
                .await?
                .iter()
                .any(|u| u.is_active && u.full_name == target.full_name);
            if clash {
                return Err(AppError::bad(format!(
                    "There is already an active bot named \"{}\" in this organization. To reactivate this bot, you must rename or deactivate the other one first.",
                    target.full_name
                )));
            }
        }
        self.reactivate_user(&target, who.user_id.0).await?;
        Ok(())
    }

    /// `PATCH /bots/{bot_id}`. Returns the bot after the change.
    pub async fn patch_bot(
        &self,
        who: &Principal,
        bot_id: i64,
        patch: BotPatch,
    ) -> Result<BotView> {
        who.require_member_or_admin()?;
        let bot = self.access_bot(who, bot_id).await?;
        let now = self.now();
        let actor = who.user_id.0;
        if let Some(name) = &patch.full_name {
            let name = check_full_name(name).map_err(AppError::bad)?;
            if name != bot.full_name {
                self.check_name_available(bot.realm_id, &name, Some(bot.id))
                    .await?;
                self.store()
                    .set_full_name(bot.id, &name, actor, now)
                    .await?;
                self.inner.key_cache.evict(&bot.api_key_digest).await;
            }
        }
        if let Some(role) = patch.role {
            let role = Role::from_i64(role).ok_or_else(|| AppError::bad("Invalid role"))?;
            let involves_owner = role == Role::Owner || bot.role == Role::Owner.as_i64();
            if involves_owner && who.role != Role::Owner {
                return Err(AppError::UnauthorizedPrincipal(
                    "Must be an organization owner".into(),
                ));
            }
            if !who.role.is_admin() {
                return Err(AppError::UnauthorizedPrincipal(
                    "Must be an organization administrator".into(),
                ));
            }
            if role.as_i64() != bot.role {
                self.set_role(&bot, role, actor).await?;
            }
        }
        if let Some(owner_id) = patch.bot_owner_id {
            let owner = self
                .store()
                .user_by_id(owner_id)
                .await?
                .filter(|u| u.realm_id == bot.realm_id)
                .ok_or_else(|| AppError::bad("Failed to change owner, no such user"))?;
            if !owner.is_active {
                return Err(AppError::bad("Failed to change owner, user is deactivated"));
            }
            if owner.is_bot {
                return Err(AppError::bad(
                    "Failed to change owner, bots can't own other bots",
                ));
            }
            if bot.bot_owner_id != Some(owner.id) {
                self.store()
                    .set_bot_owner(bot.id, owner.id, actor, now)
                    .await?;
                self.inner.key_cache.evict(&bot.api_key_digest).await;
            }
        }
        if (patch.service_payload_url.is_some() || patch.service_interface.is_some())
            && let Some(service) = self.store().service_for(bot.id).await?
        {
            let url = patch
                .service_payload_url
                .clone()
                .unwrap_or(service.base_url);
            if !url.is_empty() && !valid_url(&url) {
                return Err(AppError::bad("service_payload_url is not a URL"));
            }
            let interface = patch.service_interface.unwrap_or(service.interface);
            if interface != 1 && interface != 2 {
                return Err(AppError::bad("Invalid interface type"));
            }
            self.store().update_service(bot.id, &url, interface).await?;
        }
        let fresh = self.user_row(bot.id).await?;
        self.bot_view(fresh).await
    }
}
