//! Web sessions: signing in with a password, finding the user behind a session cookie,
//! signing out, and ending sessions when a password changes or an account is deactivated.
//! The store keeps only a keyed digest of each session token.

use crate::auth::Principal;
use crate::{App, AppError, Result};
use tessera_core::Token;
use tessera_core::secrets::Purpose;
use tessera_store::{SessionOrigin, SessionRow, UserRow};

/// tessera's answer to an empty password where the signed-in web pages ask for one (Zulip
/// would check it and say the password is wrong, counting the attempt).
pub const ENTER_PASSWORD: &str = "Please enter your password.";

/// Zulip's `SESSION_COOKIE_AGE`: two weeks.
pub const SESSION_LIFETIME_SECS: i64 = 14 * 24 * 3600;

/// A session just opened: the token goes into the cookie and nowhere else.
#[derive(Debug)]
pub struct NewSession {
    pub token: Token,
    pub user: UserRow,
    pub max_age_secs: i64,
}

/// The caller behind a valid session cookie.
#[derive(Debug, Clone)]
pub struct SessionCaller {
    pub principal: Principal,
    pub session_id: i64,
}

impl App {
    fn session_digest(&self, token: &Token) -> Vec<u8> {
        self.secret()
            .digest(Purpose::Session, token.expose())
            .0
            .to_vec()
    }

    /// The login form: check the password exactly as `fetch_api_key` does (same rate limits,
    /// same order, same messages) and open a session.
    pub async fn login(
        &self,
        subdomain: &str,
        username: &str,
        password: &str,
        origin: &SessionOrigin,
    ) -> Result<NewSession> {
        let user = self
            .password_login(subdomain, username, password, origin.ip.as_deref())
            .await?;
        if user.is_bot {
            return Err(AppError::AuthenticationFailed);
        }
        let client = format!(
            "Web: {}",
            tessera_core::user_agent::describe(origin.user_agent.as_deref().unwrap_or(""))
        );
        self.note_login(&user, &client, origin.ip.as_deref(), "web login")
            .await?;
        self.open_session(user, origin, SESSION_LIFETIME_SECS).await
    }

    /// Open a web session for `user`.
    pub(crate) async fn open_session(
        &self,
        user: UserRow,
        origin: &SessionOrigin,
        max_age_secs: i64,
    ) -> Result<NewSession> {
        let token = Token::generate();
        let now = self.now();
        self.store()
            .create_session(
                &self.session_digest(&token),
                user.id,
                now,
                now + max_age_secs * 1_000_000,
                origin,
            )
            .await?;
        Ok(NewSession {
            token,
            user,
            max_age_secs,
        })
    }

    /// The caller behind a session cookie on the realm at `subdomain`. `None` when the cookie
    /// is not a live session of this realm (then the request is simply not signed in);
    /// deactivated accounts and realms are errors, as in Zulip.
    pub async fn session_caller(
        &self,
        subdomain: &str,
        cookie: &str,
    ) -> Result<Option<SessionCaller>> {
        let Some(token) = Token::parse(cookie) else {
            return Ok(None);
        };
        let Some((session_id, row)) = self
            .store()
            .auth_by_session(&self.session_digest(&token), self.now())
            .await?
        else {
            return Ok(None);
        };
        let principal = Principal::from_row(&row)
            .ok_or_else(|| AppError::Invariant("bad role in store".into()))?;
        if principal.realm_string_id != subdomain {
            return Ok(None);
        }
        if principal.realm_deactivated {
            return Err(AppError::RealmDeactivated);
        }
        if !principal.is_active {
            return Err(AppError::UserDeactivated);
        }
        Ok(Some(SessionCaller {
            principal,
            session_id,
        }))
    }

    /// Sign out: forget the session behind this cookie (if any).
    pub async fn logout(&self, cookie: &str) -> Result<()> {
        if let Some(token) = Token::parse(cookie) {
            self.store()
                .delete_session(&self.session_digest(&token))
                .await?;
        }
        Ok(())
    }

    /// End every session of `user_id` except `keep`. Returns how many ended.
    pub async fn end_sessions(&self, user_id: i64, keep: Option<i64>) -> Result<u64> {
        Ok(self.store().delete_sessions_of(user_id, keep).await?)
    }

    /// A user's live sessions.
    pub async fn sessions_of(&self, user_id: i64) -> Result<Vec<SessionRow>> {
        Ok(self.store().sessions_for(user_id, self.now()).await?)
    }

    /// Settings → change password (`PATCH /json/settings` with `old_password` and
    /// `new_password`, Zulip's `json_change_settings`): the old password must be right (rate
    /// limited per user), the new one strong; every other session of the user ends (Django's
    /// session-hash check does that in Zulip), the current one stays.
    /// Called with the session the request came in on, if any (from the API, every web
    /// session ends).
    pub(crate) async fn change_own_password(
        &self,
        user: &UserRow,
        keep_session: Option<i64>,
        old_password: &str,
        new_password: &str,
        regenerate_api_key: bool,
    ) -> Result<()> {
        // An empty password is a slip, not a guess: refused before it counts (issue 16).
        if old_password.is_empty() {
            return Err(AppError::bad(ENTER_PASSWORD));
        }
        let now = self.now();
        let limiter = &self.inner.limits.auth_by_username;
        if let Err(wait) = limiter.hit(self.store(), &user.delivery_email, now).await? {
            return Err(AppError::bad(format!(
                "You're making too many attempts! Try again in {} seconds.",
                wait.ceil() as i64
            )));
        }
        let ok = self
            .inner
            .passwords
            .verify(user.password_hash.clone(), old_password.to_owned())
            .await?;
        if !ok {
            return Err(AppError::bad("Wrong password!"));
        }
        if tessera_core::password::check_password_strength(new_password).is_err() {
            return Err(AppError::bad("New password is too weak!"));
        }
        self.replace_password(user, new_password, user.id, keep_session)
            .await?;
        if regenerate_api_key {
            // Logs out mobile devices and API clients (zulip#21636).
            self.regenerate_api_key(user, user.id).await?;
            self.store().clear_api_clients(user.id).await?;
            self.forget_client_uses(user.id);
        }
        Ok(())
    }
}
