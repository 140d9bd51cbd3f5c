//! Revealing, fetching (with a password) and regenerating API keys.

use crate::auth::Principal;
use crate::{App, AppError, Result};
use tessera_core::secrets::Purpose;
use tessera_core::{ApiKey, Email};
use tessera_store::UserRow;

/// Result of a successful password login for apps.
#[derive(Debug, Clone)]
pub struct FetchedKey {
    pub api_key: ApiKey,
    pub email: String,
    pub user_id: i64,
}

impl App {
    /// Development-only endpoints refuse with Zulip's text outside `--development`.
    pub fn require_development(&self) -> Result<()> {
        if self.config().development {
            Ok(())
        } else {
            Err(AppError::bad("Endpoint not available in production."))
        }
    }

    /// `POST /dev_fetch_api_key`: only with `--development` (else Zulip's
    /// `Endpoint not available in production.`); a key for a username, no password, with
    /// `fetch_api_key`'s realm and account checks: like `fetch_api_key`, the login's own device
    /// key named `app` (or the account key when the policy is off).
    pub async fn dev_fetch_api_key(
        &self,
        subdomain: &str,
        username: &str,
        app: &str,
        client_ip: Option<&str>,
    ) -> Result<FetchedKey> {
        self.require_development()?;
        tessera_core::Email::parse(username).map_err(AppError::bad)?;
        let realm = self.realm_for_subdomain(subdomain).await?;
        let user = self
            .store()
            .user_by_email(realm.row.id, username)
            .await?
            .ok_or(AppError::AuthenticationFailed)?;
        if realm.row.deactivated {
            return Err(AppError::RealmDeactivated);
        }
        if !user.is_active {
            return Err(AppError::UserDeactivated);
        }
        Ok(FetchedKey {
            api_key: self.key_for_login(&user, app, client_ip).await?,
            email: user.delivery_email.clone(),
            user_id: user.id,
        })
    }

    /// Open a user's sealed key. Only for the endpoints whose contract returns the existing key.
    pub fn reveal_api_key(&self, user: &UserRow) -> Result<ApiKey> {
        self.secret()
            .open(Purpose::ApiKey, user.id, &user.sealed_api_key())
            .map(ApiKey::from_trusted)
            .map_err(AppError::failed("opening an API key"))
    }

    /// Whether a key would authenticate now: some account holds it (as its account key or a
    /// live, unexpired named key), and that account and its organization are active. Read from the store, not the key cache, so the answer is
    /// current (`tessera key check`); the answer never says whose key it is.
    pub async fn api_key_is_live(&self, key: &ApiKey) -> Result<bool> {
        let digest = self.secret().digest(Purpose::ApiKey, key.expose());
        Ok(self
            .store()
            .auth_by_digest(&digest.0)
            .await?
            .is_some_and(|r| {
                r.is_active
                    && !r.realm_deactivated
                    && r.key_expires_at.is_none_or(|at| at > self.now())
            }))
    }

    /// `POST /api/v1/fetch_api_key`: username + password → a key for this app login: its own
    /// device key named `app` (tessera's default), or with the organization's
    /// `api_key_per_login` off the existing account key, as in Zulip.
    ///
    /// Order (Zulip's `api_fetch_api_key`, `EmailAuthBackend` and
    /// `get_api_key_fetch_authenticate_failure`): realm, email syntax (not counted), per-IP
    /// failure cap, per-username limit (every attempt counts, before the password is checked),
    /// password auth disabled, account lookup, deactivated realm / user, then the password.
    /// Anything else is the generic "Your username or password is incorrect" — also an address
    /// that exists only in another organization (current Zulip), so accounts elsewhere are not
    /// revealed.
    pub async fn fetch_api_key(
        &self,
        subdomain: &str,
        username: &str,
        password: &str,
        client_ip: Option<&str>,
        app: &str,
    ) -> Result<crate::api_keys::FetchedKey> {
        let user = self
            .password_login(subdomain, username, password, client_ip)
            .await?;
        Ok(FetchedKey {
            api_key: self.key_for_login(&user, app, client_ip).await?,
            email: user.delivery_email.clone(),
            user_id: user.id,
        })
    }

    /// Check a username and password for a realm, with the rate limits and in the order of
    /// [`App::fetch_api_key`]; shared by the web login form. Returns the account.
    pub async fn password_login(
        &self,
        subdomain: &str,
        username: &str,
        password: &str,
        client_ip: Option<&str>,
    ) -> Result<UserRow> {
        let realm = self.realm_for_subdomain(subdomain).await?;
        let email = Email::parse(username).map_err(AppError::bad)?;
        let now = self.now();
        let limits = &self.inner.limits;
        let store = self.store();
        if let Some(ip) = client_ip
            && let Some(wait) = limits.auth_failures_by_ip.limited(store, ip, now).await?
        {
            return Err(AppError::RateLimited { retry_after: wait });
        }
        limits
            .auth_by_username
            .hit(store, username, now)
            .await?
            .map_err(|wait| AppError::RateLimited { retry_after: wait })?;
        let fail = |e: AppError| async move {
            self.metrics()
                .auth_failures
                .with_label_values(&["password"])
                .inc();
            if let Some(ip) = client_ip {
                limits.auth_failures_by_ip.hit(store, ip, now).await?.ok();
            }
            Err(e)
        };
        let user = self
            .store()
            .user_by_email(realm.row.id, email.as_str())
            .await?;
        // Exactly one Argon2 verification on every path, against a dummy hash when there is no
        // usable account, so timing does not tell the cases apart.
        let phc = user.as_ref().and_then(|u| u.password_hash.clone());
        let password_ok = self
            .inner
            .passwords
            .verify(phc, password.to_owned())
            .await?;
        if !realm.row.password_auth_enabled {
            return fail(AppError::PasswordAuthDisabled).await;
        }
        // Zulip's EmailAuthBackend looks the account up and checks that it and its realm are
        // active before it checks the password.
        let Some(user) = user else {
            return fail(AppError::AuthenticationFailed).await;
        };
        if realm.row.deactivated {
            return fail(AppError::RealmDeactivated).await;
        }
        if !user.is_active {
            return fail(AppError::UserDeactivated).await;
        }
        if !password_ok {
            return fail(AppError::AuthenticationFailed).await;
        }
        limits.auth_by_username.clear(store, username).await?;
        Ok(user)
    }

    /// `POST /json/fetch_api_key`: a signed-in user re-enters their password to see their key.
    pub async fn reveal_own_api_key(
        &self,
        who: &Principal,
        password: &str,
    ) -> Result<(ApiKey, String)> {
        let user = self.confirm_password(who, password).await?;
        Ok((self.reveal_api_key(&user)?, user.delivery_email))
    }

    /// A signed-in user re-enters their password to confirm their identity (revealing the
    /// account key, creating a named key from the web UI): refused when wrong, counted against
    /// the per-username limit; not asked where the organization has no password logins.
    /// Returns the account.
    pub async fn confirm_password(&self, who: &Principal, password: &str) -> Result<UserRow> {
        let realm = self.realm_for_subdomain(&who.realm_string_id).await?;
        let user = self.user_row(who.user_id.0).await?;
        if realm.row.password_auth_enabled {
            // An empty password is a slip, not a guess: refused before it counts.
            if password.is_empty() {
                return Err(AppError::bad(crate::sessions::ENTER_PASSWORD));
            }
            let now = self.now();
            self.inner
                .limits
                .auth_by_username
                .hit(self.store(), &user.delivery_email, now)
                .await?
                .map_err(|wait| AppError::RateLimited { retry_after: wait })?;
            let ok = self
                .inner
                .passwords
                .verify(user.password_hash.clone(), password.to_owned())
                .await?;
            if !ok {
                return Err(AppError::bad("Password is incorrect."));
            }
            self.inner
                .limits
                .auth_by_username
                .clear(self.store(), &user.delivery_email)
                .await?;
        }
        Ok(user)
    }

    /// Zulip's `do_regenerate_api_key`: new key (digest + sealed copy), audit 127 by `acting`,
    /// the user's push registrations removed, old digest evicted here and announced to other
    /// processes — all in one transaction, which also revokes every other key of the account
    /// (named, device, previous). The old key is refused on the very next request.
    pub async fn regenerate_api_key(&self, user: &UserRow, acting: i64) -> Result<ApiKey> {
        self.rotate_account_key(user, acting, None).await
    }

    /// [`App::regenerate_api_key`], optionally keeping the old key as a `previous` key until
    /// `keep_previous_until` (microseconds; a bot's overlap window).
    pub(crate) async fn rotate_account_key(
        &self,
        user: &UserRow,
        acting: i64,
        keep_previous_until: Option<i64>,
    ) -> Result<ApiKey> {
        let key = ApiKey::generate();
        let digest = self.secret().digest(Purpose::ApiKey, key.expose());
        let secret = self.secret().clone();
        let plain = key.expose().to_owned();
        let (old, revoked) = self
            .store()
            .rotate_api_key(
                user.id,
                &digest.0,
                Box::new(move |id| secret.seal(Purpose::ApiKey, id, &plain)),
                acting,
                self.now(),
                keep_previous_until,
            )
            .await?;
        let cache = &self.inner.key_cache;
        cache.evict(&old).await;
        cache.evict(&digest.0).await;
        // The account's other keys ended with it (the seed: a new key logs you out of every
        // mobile device).
        for d in &revoked {
            cache.evict(d).await;
        }
        // Clients holding the old key must register again, with the new one — unless the old
        // key keeps working for an overlap window: then the running integration keeps its
        // queue until it is redeployed.
        if keep_previous_until.is_none() {
            self.events()
                .publish(crate::Notice::DropQueues { user: user.id });
        }
        Ok(key)
    }

    /// Zulip's `access_user_by_id` (not for administration): an active user of the caller's
    /// organization, else `No such user` / `User is deactivated`; `allow_bots` false makes a
    /// bot `No such user` too.
    pub(crate) async fn realm_user(
        &self,
        who: &crate::Principal,
        id: i64,
        allow_bots: bool,
    ) -> Result<UserRow> {
        let user = self
            .store()
            .user_by_id(id)
            .await?
            .filter(|u| u.realm_id == who.realm_id && (allow_bots || !u.is_bot))
            .ok_or_else(|| AppError::bad("No such user"))?;
        if !user.is_active {
            return Err(AppError::bad("User is deactivated"));
        }
        Ok(user)
    }

    /// A user row by id, or "No such user".
    pub async fn user_row(&self, id: i64) -> Result<UserRow> {
        self.store()
            .user_by_id(id)
            .await?
            .ok_or_else(|| AppError::bad("No such user"))
    }

    /// The `zuliprc` for a user or bot (the site is its realm's URL; bots of type outgoing
    /// webhook get their service `token`).
    pub async fn zuliprc_for(&self, user: &UserRow) -> Result<String> {
        let key = self.reveal_api_key(user)?;
        let realm = self.realm_by_id(user.realm_id).await?;
        let token = match self.store().service_for(user.id).await? {
            Some(s) if user.bot_type == Some(3) => Some(
                self.secret()
                    .open(Purpose::ServiceToken, user.id, &s.sealed_token())
                    .map_err(AppError::failed("opening a service token"))?,
            ),
            _ => None,
        };
        Ok(tessera_core::zuliprc::render(
            &user.email,
            key.expose(),
            &self.realm_url(&realm.string_id),
            token.as_deref(),
        ))
    }
}
