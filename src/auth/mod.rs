//! The authentication domain: sign-in, sessions, refresh-token rotation with reuse
//! detection, access-token checks and user administration. No HTTP here.
//!
//! Terms, used the same way everywhere in tessera:
//! - a **session** is one sign-in on one device, stored as a row;
//! - its **refresh token** is opaque, lives in an httpOnly cookie, and is replaced on every
//!   use (**rotation**); replaying a replaced one is **reuse** and ends the session;
//! - an **access token** is a short-lived JWT naming the user and the session (`sid`);
//! - a **CSRF token** is a MAC bound to the session (see [`csrf`]).
//!
//! Every operation takes `now` (unix seconds) from its caller; only the HTTP edge and the CLI
//! read the clock, through [`clock::now`].

pub mod cache;
pub mod clock;
pub mod csrf;
pub mod password;
pub mod rules;
pub mod throttle;
pub mod token;
pub mod username;

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::Semaphore;
use tracing::{info, warn};

use crate::config::Config;
use crate::store::{NewSession, Role, SessionRecord, Store, StoreError, ThrottleState, User};
use cache::{Lookup, SessionCache};
use password::{Hasher, Overloaded, Verdict};
use rules::Replay;
use token::{Keys, TokenRejection};

/// Why an authentication operation did not succeed. The HTTP layer maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Wrong password, unknown or disabled user (one answer for all, ASVS §6.3.8).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many failed logins; retry after this many seconds.
    #[error("throttled for {0} s")]
    Throttled(i64),
    /// Every password-hashing slot is busy.
    #[error("password hashing overloaded")]
    Overloaded,
    /// No refresh token was presented.
    #[error("no refresh token")]
    NoRefreshToken,
    /// The refresh token is unknown, expired, revoked or reused.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// No access token was presented.
    #[error("no access token")]
    NoToken,
    /// The access token is malformed, forged, or its session or user is no longer valid.
    #[error("invalid access token")]
    InvalidToken,
    /// The access token expired.
    #[error("access token expired")]
    TokenExpired,
    /// Input that breaks a rule; the message is safe to show.
    #[error("{0}")]
    BadInput(String),
    /// The thing asked for does not exist (or is not the caller's).
    #[error("not found")]
    NotFound,
    /// A username that is taken.
    #[error("username taken")]
    UsernameTaken,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Signing or hashing failed unexpectedly.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<Overloaded> for AuthError {
    fn from(_: Overloaded) -> Self {
        AuthError::Overloaded
    }
}

/// The public view of a user, as in the tutorial's `user` object.
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub role: Role,
}

/// Who made a request, from a verified access token whose session and user are still valid.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: String,
    pub username: String,
    pub role: Role,
    pub session_id: String,
}

/// Where a request came from, recorded on the session.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// What a login or refresh hands back to the client.
#[derive(Debug)]
pub struct Grant {
    pub access_token: String,
    /// The new refresh token and its cookie lifetime; `None` for a grace-window replay, whose
    /// browser already holds the current one.
    pub refresh_token: Option<(String, i64)>,
    pub csrf_token: String,
    pub user: UserView,
    pub session_id: String,
}

/// Background session-cache refreshes running at once, at most: a few per pooled database
/// connection is plenty, and a stalled database then costs a bounded number of tasks.
const MAX_CACHE_REFRESHES: usize = 32;

/// The authentication service: one per process, shared by every request.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    keys: Keys,
    hasher: Hasher,
    cache: SessionCache,
    /// Background session-cache refreshes that may run at once.
    cache_refreshes: Arc<Semaphore>,
    /// Password checks in flight per account (see [`throttle::AttemptGate`]).
    attempts: throttle::AttemptGate,
    /// A hash of a random password with the current parameters: unknown usernames are
    /// verified against it so they cost the same time as a wrong password.
    dummy_hash: String,
    access_ttl: i64,
    idle_ttl: i64,
    absolute_ttl: i64,
    grace: i64,
}

impl Auth {
    /// Builds the service. `secret` is the resolved signing secret.
    pub async fn new(store: Store, config: &Config, secret: &[u8]) -> Result<Auth, AuthError> {
        let hasher = Hasher::new(config.hash_workers, config.hash_queue)
            .map_err(|e| AuthError::Internal(format!("hashing threads: {e}")))?;
        let dummy_password = token::random_secret();
        let dummy_hash = hasher
            .run(move || password::hash_blocking(&dummy_password))
            .await?
            .map_err(AuthError::Internal)?;
        let secs = |d: std::time::Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 4);
        Ok(Auth {
            inner: Arc::new(Inner {
                store,
                keys: Keys::new(secret, &config.issuer, &config.audience)
                    .map_err(|e| AuthError::Internal(e.to_string()))?,
                hasher,
                cache: SessionCache::new(config.session_cache_ttl),
                cache_refreshes: Arc::new(Semaphore::new(MAX_CACHE_REFRESHES)),
                attempts: throttle::AttemptGate::default(),
                dummy_hash,
                access_ttl: secs(config.access_ttl),
                idle_ttl: secs(config.refresh_idle_ttl),
                absolute_ttl: secs(config.refresh_absolute_ttl),
                grace: secs(config.refresh_grace),
            }),
        })
    }

    /// The store behind this service.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The key CSRF tokens are MACed with.
    pub fn csrf_key(&self) -> &[u8] {
        self.inner.keys.csrf_key()
    }

    // ---- sign-in -----------------------------------------------------------------------

    /// Signs a user in with a password and starts a new session.
    pub async fn login(
        &self,
        raw_username: &str,
        password: &str,
        client: &Client,
        now: i64,
    ) -> Result<Grant, AuthError> {
        let inner = &self.inner;
        // The canonical form decides both the account and its throttle key, so look-alikes
        // share one counter with the name they imitate.
        let username = username::canonical(raw_username);
        let account_key = match &username {
            Some(name) => throttle::account_key(name),
            None => throttle::invalid_name_key(raw_username),
        };
        let address_key = client.ip.as_deref().map(throttle::address_key);

        // From here until the failure is recorded, this attempt counts as in flight.
        let _turn = inner.attempts.enter(&account_key).await;
        // The account and both throttle counters come back in one query.
        let state = inner
            .store
            .login_state(username.as_deref(), &account_key, address_key.as_deref())
            .await?;
        check_throttle(state.account, state.address, &account_key, now)?;
        let had_failures = state.account.is_some();

        // A password longer than any tessera accepts cannot match: refuse before hashing.
        let too_long = password.chars().count() > password::MAX_PASSWORD_CHARS;
        let user = state.user.filter(|_| !too_long);

        // Always run exactly one verification, against the dummy hash when there is no
        // usable account, so every failure costs the same time.
        let candidate = user.as_ref().filter(|u| !u.disabled);
        let stored =
            candidate.map_or_else(|| inner.dummy_hash.clone(), |u| u.password_hash.clone());
        let verdict = if too_long {
            Verdict::Mismatch
        } else {
            let password = password.to_string();
            inner
                .hasher
                .run(move || password::verify_blocking(&password, &stored))
                .await?
        };

        let (user, rehash) = match (candidate, verdict) {
            (Some(user), Verdict::Match { rehash }) => (user.clone(), rehash),
            _ => {
                let address = address_key.as_deref().map(|key| (key, state.address));
                self.record_failure(&account_key, address, now).await?;
                let reason = match (&user, candidate) {
                    (None, _) => "unknown user",
                    (Some(_), None) => "user disabled",
                    _ => "wrong password",
                };
                info!(
                    username = username.as_deref().unwrap_or("(invalid)"),
                    reason, "login failed"
                );
                metrics::counter!("tessera_logins_total", "result" => "failure").increment(1);
                return Err(AuthError::InvalidCredentials);
            }
        };

        if had_failures {
            inner.store.clear_throttle(&account_key).await?;
        }
        if rehash {
            self.upgrade_hash(&user, password, now).await;
        }

        let grant = self.start_session(&user, client, now).await?;
        info!(user_id = %user.id, session_id = %grant.session_id, "login succeeded");
        metrics::counter!("tessera_logins_total", "result" => "success").increment(1);
        Ok(grant)
    }

    /// Counts a failed attempt against the account and, for a login, against the client
    /// address: its key and the state read before the attempt (by `Store::login_state`).
    async fn record_failure(
        &self,
        account_key: &str,
        address: Option<(&str, Option<ThrottleState>)>,
        now: i64,
    ) -> Result<(), AuthError> {
        let store = &self.inner.store;
        let failures = store
            .record_failure(account_key, now, throttle::account_block)
            .await?;
        if failures == throttle::ACCOUNT_LOCK_FAILURES {
            warn!(
                key = account_key,
                failures, "account locked after consecutive failed logins"
            );
        }
        if let Some((key, state)) = address {
            // An address's old failures are forgotten after a quiet period.
            if state.is_some_and(|s| now - s.last_failure_at > throttle::ADDRESS_MEMORY_SECONDS) {
                store.clear_throttle(key).await?;
            }
            store
                .record_failure(key, now, throttle::address_block)
                .await?;
        }
        Ok(())
    }

    /// Replaces a bcrypt or outdated hash by a current Argon2id one; failure only logs.
    async fn upgrade_hash(&self, user: &User, password: &str, now: i64) {
        let password = password.to_string();
        let hashed = self
            .inner
            .hasher
            .run(move || password::hash_blocking(&password))
            .await;
        match hashed {
            Ok(Ok(hash)) => match self
                .inner
                .store
                .set_password_hash(&user.id, &hash, now)
                .await
            {
                Ok(()) => info!(user_id = %user.id, "password hash upgraded to argon2id"),
                Err(e) => warn!(user_id = %user.id, error = %e, "password rehash not stored"),
            },
            _ => warn!(user_id = %user.id, "password rehash skipped"),
        }
    }

    async fn start_session(
        &self,
        user: &User,
        client: &Client,
        now: i64,
    ) -> Result<Grant, AuthError> {
        let inner = &self.inner;
        let id = uuid::Uuid::now_v7().to_string();
        let refresh_token = token::new_refresh_token(&id);
        let absolute_expires_at = now + inner.absolute_ttl;
        let session = NewSession {
            id,
            user_id: user.id.clone(),
            refresh_hash: token::refresh_token_hash(&refresh_token),
            now,
            idle_expires_at: rules::idle_expiry(now, inner.idle_ttl, absolute_expires_at),
            absolute_expires_at,
            ip: client.ip.clone(),
            user_agent: client.user_agent.as_ref().map(|ua| truncate(ua, 256)),
        };
        inner.store.create_session(&session).await?;
        let max_age = (session.idle_expires_at - now).max(0);
        let view = UserView {
            id: user.id.clone(),
            username: user.username.clone(),
            role: user.role,
        };
        self.grant(view, &session.id, Some((refresh_token, max_age)), now)
    }

    fn grant(
        &self,
        user: UserView,
        session_id: &str,
        refresh_token: Option<(String, i64)>,
        now: i64,
    ) -> Result<Grant, AuthError> {
        let keys = &self.inner.keys;
        let access_token = keys
            .issue_access_token(
                &user.id,
                session_id,
                &user.username,
                user.role,
                now,
                self.inner.access_ttl,
            )
            .map_err(|e| AuthError::Internal(e.to_string()))?;
        Ok(Grant {
            access_token,
            refresh_token,
            csrf_token: csrf::issue(keys.csrf_key(), session_id),
            user,
            session_id: session_id.to_string(),
        })
    }

    // ---- refresh -----------------------------------------------------------------------

    /// Exchanges a refresh token for a new access token and a new refresh token.
    ///
    /// The current token rotates in one conditional UPDATE. A retired token is either the
    /// immediately previous one within the grace window (a second tab: it gets an access
    /// token for the same session, but no refresh token, so the session never forks) or
    /// reuse, which revokes the whole session (RFC 9700 §4.14.2).
    pub async fn refresh(&self, presented: Option<&str>, now: i64) -> Result<Grant, AuthError> {
        let inner = &self.inner;
        let presented = presented
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::NoRefreshToken)?;
        if !token::looks_like_refresh_token(presented) {
            return Err(AuthError::InvalidRefreshToken);
        }
        let old_hash = token::refresh_token_hash(presented);
        // The session the next token will name: the one this token names, or, for a token
        // of the earlier bare form, the session whose current token it is (once per session:
        // the token issued now has the current form).
        let session_id = match token::refresh_token_session(presented) {
            Some(id) => Some(id.to_string()),
            None => inner
                .store
                .find_session_by_refresh_hash(&old_hash)
                .await?
                .map(|s| s.id),
        };
        let rotated = match &session_id {
            Some(id) => {
                let new_token = token::new_refresh_token(id);
                let new_hash = token::refresh_token_hash(&new_token);
                inner
                    .store
                    .rotate_refresh_token(&old_hash, &new_hash, now, inner.idle_ttl)
                    .await?
                    .map(|rotated| (rotated, new_token))
            }
            None => None,
        };
        if let Some(((session, owner), new_token)) = rotated {
            if owner.disabled {
                self.revoke_session(&session.id, "user unavailable", now)
                    .await?;
                return Err(AuthError::InvalidRefreshToken);
            }
            let user = UserView {
                id: session.user_id.clone(),
                username: owner.username,
                role: owner.role,
            };
            let max_age = rules::cookie_max_age(&session, now);
            info!(user_id = %session.user_id, session_id = %session.id,
                generation = session.generation, "refresh token rotated");
            metrics::counter!("tessera_refreshes_total", "result" => "rotated").increment(1);
            return self.grant(user, &session.id, Some((new_token, max_age)), now);
        }

        let Some((retired, session)) = inner.store.find_retired_token(&old_hash).await? else {
            return Err(AuthError::InvalidRefreshToken);
        };
        if !rules::session_is_live(&session, now) {
            return Err(AuthError::InvalidRefreshToken);
        }
        match rules::classify_replay(&retired, &session, now, inner.grace) {
            Replay::Grace => {
                let user = self.live_user_of(&session, now).await?;
                info!(user_id = %session.user_id, session_id = %session.id,
                    "previous refresh token used within the grace window");
                metrics::counter!("tessera_refreshes_total", "result" => "grace").increment(1);
                self.grant(user, &session.id, None, now)
            }
            Replay::Reuse => {
                self.revoke_session(&session.id, "reuse", now).await?;
                warn!(user_id = %session.user_id, session_id = %session.id,
                    reused_generation = retired.generation, current_generation = session.generation,
                    "refresh token reuse detected; session revoked");
                metrics::counter!("tessera_refreshes_total", "result" => "reuse").increment(1);
                Err(AuthError::InvalidRefreshToken)
            }
        }
    }

    /// The user of a session, if they may still use it (not deleted or disabled).
    async fn live_user_of(&self, session: &SessionRecord, now: i64) -> Result<UserView, AuthError> {
        match self.inner.store.find_user(&session.user_id).await? {
            Some(user) if !user.disabled => Ok(UserView {
                id: user.id,
                username: user.username,
                role: user.role,
            }),
            _ => {
                self.revoke_session(&session.id, "user unavailable", now)
                    .await?;
                Err(AuthError::InvalidRefreshToken)
            }
        }
    }

    /// The live session a refresh token (current, or retired within the grace window) belongs
    /// to, without rotating it. Used by logout and the CSRF bootstrap.
    pub async fn session_of_refresh_token(
        &self,
        presented: &str,
        now: i64,
    ) -> Result<Option<SessionRecord>, AuthError> {
        if !token::looks_like_refresh_token(presented) {
            return Ok(None);
        }
        let hash = token::refresh_token_hash(presented);
        let store = &self.inner.store;
        let session = match store.find_session_by_refresh_hash(&hash).await? {
            Some(session) => Some(session),
            None => store
                .find_retired_token(&hash)
                .await?
                .and_then(|(retired, session)| {
                    (rules::classify_replay(&retired, &session, now, self.inner.grace)
                        == Replay::Grace)
                        .then_some(session)
                }),
        };
        Ok(session.filter(|s| rules::session_is_live(s, now)))
    }

    // ---- access tokens -----------------------------------------------------------------

    /// Authenticates an access token: signature, type, issuer, audience and expiry, then its
    /// session (live) and user (present, enabled, same role) — so logout, revocation, reuse,
    /// disabling, deletion and role changes all end the token at once on this instance and
    /// within the session-cache lifetime (≤ 5 s) on others.
    pub async fn authenticate(
        &self,
        bearer: Option<&str>,
        now: i64,
    ) -> Result<CurrentUser, AuthError> {
        let bearer = bearer.filter(|t| !t.is_empty()).ok_or(AuthError::NoToken)?;
        let claims = self
            .inner
            .keys
            .verify_access_token(bearer, now)
            .map_err(|r| match r {
                TokenRejection::Expired => AuthError::TokenExpired,
                TokenRejection::Invalid => AuthError::InvalidToken,
            })?;

        let inner = &self.inner;
        let auth = match inner.cache.get(&claims.sid) {
            Lookup::Hit(auth) => auth,
            Lookup::HitRefreshAhead(auth, ticket) => {
                // Fetch the next copy off this request's path, if a refresh slot is free
                // (a slow database must not pile up background reads); either way this
                // request uses the copy it has, which is younger than the TTL.
                if let Ok(slot) = inner.cache_refreshes.clone().try_acquire_owned() {
                    let service = self.clone();
                    let session_id = claims.sid.clone();
                    tokio::spawn(async move {
                        let cache = &service.inner.cache;
                        match service.inner.store.session_auth(&session_id).await {
                            Ok(fetched) => cache.put(&session_id, fetched, ticket),
                            Err(e) => {
                                cache.refresh_failed(&session_id);
                                warn!(error = %e, "session cache refresh failed");
                            }
                        }
                        drop(slot);
                    });
                } else {
                    inner.cache.refresh_failed(&claims.sid);
                }
                auth
            }
            Lookup::Miss(ticket) => {
                let fetched = inner.store.session_auth(&claims.sid).await?;
                inner.cache.put(&claims.sid, fetched.clone(), ticket);
                fetched.ok_or(AuthError::InvalidToken)?
            }
        };

        let live = auth.revoked_at.is_none()
            && now < auth.idle_expires_at
            && now < auth.absolute_expires_at
            && !auth.disabled
            && auth.user_id == claims.sub
            && auth.role.as_str() == claims.role;
        if !live {
            return Err(AuthError::InvalidToken);
        }
        Ok(CurrentUser {
            id: auth.user_id,
            username: auth.username,
            role: auth.role,
            session_id: claims.sid,
        })
    }

    // ---- session management ------------------------------------------------------------

    /// Revokes one session by id and forgets it in this instance's cache.
    pub async fn revoke_session(
        &self,
        session_id: &str,
        reason: &str,
        now: i64,
    ) -> Result<bool, AuthError> {
        let revoked = self
            .inner
            .store
            .revoke_session(session_id, reason, now)
            .await?;
        self.inner.cache.forget(session_id);
        if revoked {
            info!(session_id, reason, "session revoked");
            metrics::counter!("tessera_sessions_revoked_total").increment(1);
        }
        Ok(revoked)
    }

    /// Revokes every session of a user except `keep`.
    pub async fn revoke_user_sessions(
        &self,
        user_id: &str,
        keep: Option<&str>,
        reason: &str,
        now: i64,
    ) -> Result<u64, AuthError> {
        let count = self
            .inner
            .store
            .revoke_user_sessions(user_id, keep, reason, now)
            .await?;
        self.inner.cache.forget_all();
        info!(user_id, count, reason, "user's sessions revoked");
        Ok(count)
    }

    /// The caller's live sessions.
    pub async fn list_sessions(
        &self,
        user: &CurrentUser,
        now: i64,
    ) -> Result<Vec<SessionRecord>, AuthError> {
        Ok(self.inner.store.list_live_sessions(&user.id, now).await?)
    }

    /// Revokes one of the caller's own sessions; `NotFound` for anyone else's.
    pub async fn revoke_own_session(
        &self,
        user: &CurrentUser,
        session_id: &str,
        now: i64,
    ) -> Result<(), AuthError> {
        match self.inner.store.find_session(session_id).await? {
            Some(s) if s.user_id == user.id && s.revoked_at.is_none() => {
                self.revoke_session(session_id, "revoked by user", now)
                    .await?;
                Ok(())
            }
            _ => Err(AuthError::NotFound),
        }
    }

    /// Changes the caller's password after checking the current one, and ends their other
    /// sessions (ASVS §7.4.3).
    pub async fn change_password(
        &self,
        user: &CurrentUser,
        current: &str,
        new: &str,
        now: i64,
    ) -> Result<(), AuthError> {
        password::check_new_password(new).map_err(AuthError::BadInput)?;
        let stored = self
            .inner
            .store
            .find_user(&user.id)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        // Guessing the current password here counts against the account like a failed
        // login, so a stolen access token cannot brute-force it.
        let account_key = throttle::account_key(&stored.username);
        let _turn = self.inner.attempts.enter(&account_key).await;
        let account = self.inner.store.throttle_state(&account_key).await?;
        check_throttle(account, None, &account_key, now)?;
        let current = current.to_string();
        let verdict = if current.chars().count() > password::MAX_PASSWORD_CHARS {
            Verdict::Mismatch
        } else {
            let hash = stored.password_hash.clone();
            self.inner
                .hasher
                .run(move || password::verify_blocking(&current, &hash))
                .await?
        };
        if verdict == Verdict::Mismatch {
            self.record_failure(&account_key, None, now).await?;
            return Err(AuthError::BadInput("Current password is incorrect".into()));
        }
        let hash = self.hash_password(new).await?;
        self.inner
            .store
            .set_password_hash(&user.id, &hash, now)
            .await?;
        self.revoke_user_sessions(&user.id, Some(&user.session_id), "password changed", now)
            .await?;
        info!(user_id = %user.id, "password changed");
        Ok(())
    }

    // ---- user administration -----------------------------------------------------------

    /// Hashes a new password on the bounded pool.
    pub async fn hash_password(&self, password: &str) -> Result<String, AuthError> {
        password::check_new_password(password).map_err(AuthError::BadInput)?;
        let password = password.to_string();
        self.inner
            .hasher
            .run(move || password::hash_blocking(&password))
            .await?
            .map_err(AuthError::Internal)
    }

    /// Creates a user (a `viewer` unless another role is given).
    pub async fn create_user(
        &self,
        raw_username: &str,
        password: &str,
        role: Role,
        now: i64,
    ) -> Result<User, AuthError> {
        let username = username::canonical(raw_username)
            .ok_or_else(|| AuthError::BadInput(username::RULE.into()))?;
        let password_hash = self.hash_password(password).await?;
        let user = User {
            id: uuid::Uuid::now_v7().to_string(),
            username,
            password_hash,
            role,
            disabled: false,
            created_at: now,
        };
        match self.inner.store.create_user(&user).await {
            Ok(()) => {
                info!(user_id = %user.id, username = %user.username, role = %role, "user created");
                Ok(user)
            }
            Err(StoreError::Conflict) => Err(AuthError::UsernameTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// Gives a user another role and ends their sessions.
    pub async fn set_role(&self, user_id: &str, role: Role, now: i64) -> Result<(), AuthError> {
        if !self.inner.store.set_role(user_id, role, now).await? {
            return Err(AuthError::NotFound);
        }
        // At once, so nothing cached here outlives the change even if the revocation below
        // fails or this request is cancelled in between.
        self.inner.cache.forget_all();
        self.revoke_user_sessions(user_id, None, "role changed", now)
            .await?;
        Ok(())
    }

    /// Disables (ending their sessions) or re-enables a user. Re-enabling also lifts a
    /// failed-login lock on the account.
    pub async fn set_disabled(
        &self,
        user_id: &str,
        disabled: bool,
        now: i64,
    ) -> Result<(), AuthError> {
        let store = &self.inner.store;
        if !store.set_disabled(user_id, disabled, now).await? {
            return Err(AuthError::NotFound);
        }
        self.inner.cache.forget_all();
        if disabled {
            self.revoke_user_sessions(user_id, None, "user disabled", now)
                .await?;
        } else if let Some(user) = store.find_user(user_id).await? {
            store
                .clear_throttle(&throttle::account_key(&user.username))
                .await?;
        }
        Ok(())
    }

    /// Deletes a user; their sessions go with them.
    pub async fn delete_user(&self, user_id: &str) -> Result<(), AuthError> {
        if !self.inner.store.delete_user(user_id).await? {
            return Err(AuthError::NotFound);
        }
        self.inner.cache.forget_all();
        info!(user_id, "user deleted");
        Ok(())
    }

    /// Looks a user up by (raw) username.
    pub async fn find_user_by_username(&self, raw_username: &str) -> Result<User, AuthError> {
        let username = username::canonical(raw_username).ok_or(AuthError::NotFound)?;
        self.inner
            .store
            .find_user_by_username(&username)
            .await?
            .ok_or(AuthError::NotFound)
    }

    /// Deletes expired sessions (and revoked ones after a day). Returns how many.
    pub async fn cleanup(&self, now: i64) -> Result<u64, AuthError> {
        Ok(self
            .inner
            .store
            .delete_expired_sessions(now, now - 86_400)
            .await?)
    }
}

/// Refuses a login attempt while its account or its client address is blocked.
fn check_throttle(
    account: Option<ThrottleState>,
    address: Option<ThrottleState>,
    account_key: &str,
    now: i64,
) -> Result<(), AuthError> {
    let wait = [account, address]
        .iter()
        .flatten()
        .map(|throttle| throttle.blocked_until - now)
        .max()
        .unwrap_or(0);
    if wait > 0 {
        info!(key = account_key, retry_after = wait, "login throttled");
        metrics::counter!("tessera_logins_total", "result" => "throttled").increment(1);
        return Err(AuthError::Throttled(
            wait.min(throttle::MAX_BACKOFF_SECONDS * 4),
        ));
    }
    Ok(())
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}
