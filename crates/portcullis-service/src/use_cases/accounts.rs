//! Registering users and logging in. Each login attempt is counted by how it ended
//! (`portcullis_login_total{outcome}`); one that failed on a backend is not an outcome.

use crate::error::{AuthError, AuthResult};
use crate::gateway::{bounded, Gateway, Issued};
use crate::secret::Password;
use crate::throttle::Refused;
use portcullis_core::user::{check_password, normalize_email, normalize_roles};
use portcullis_core::Causes;
use portcullis_core::{
    ClientInfo, EventKind, Family, FamilyOpening, RefreshToken, SecurityEvent, SessionId, User,
    UserId,
};
use portcullis_metrics::LoginOutcome;
use serde_json::json;

/// Stored in place of a hash for accounts created without a password: not a PHC string, so no
/// password ever matches it.
const NO_PASSWORD: &str = "!";

impl Gateway {
    /// Self-service registration (`POST /auth/register`); refused when registration is off.
    pub async fn register(
        &self,
        email: &str,
        password: &Password,
        client: &ClientInfo,
    ) -> AuthResult<UserId> {
        if !self.settings.registration {
            return Err(AuthError::RegistrationDisabled);
        }
        let user = self.new_user(email, Some(password), &[]).await?;
        let event = SecurityEvent::new(EventKind::UserRegistered, Self::now())
            .user(user)
            .client(&bounded(client))
            .details(json!({ "by": "self" }).to_string());
        self.record(event).await;
        Ok(user)
    }

    /// Creates a user with roles, whatever the registration setting (CLI and admin).
    pub async fn create_user(
        &self,
        email: &str,
        password: &Password,
        roles: &[String],
    ) -> AuthResult<UserId> {
        self.new_user(email, Some(password), roles).await
    }

    /// Validates and stores a new user. Without a password the stored hash matches nothing, so
    /// the account cannot log in until a password is set.
    pub(crate) async fn new_user(
        &self,
        email: &str,
        password: Option<&Password>,
        roles: &[String],
    ) -> AuthResult<UserId> {
        let email = normalize_email(email)?;
        if let Some(password) = password {
            check_password(password.expose())?;
        }
        let roles = normalize_roles(roles)?;
        let password_hash = match password {
            Some(password) => self.passwords.hash(password).await?,
            None => NO_PASSWORD.to_owned(),
        };
        let user = User {
            id: UserId::new(),
            email,
            password_hash,
            roles,
            token_version: 0,
            locked: false,
            created_at: Self::now(),
        };
        self.durable.insert_user(&user).await?;
        Ok(user.id)
    }

    /// Checks credentials and opens a new session. Unknown emails and wrong passwords take the
    /// same argon2 work and give the same answer; a locked account is only revealed to someone
    /// who knows its password.
    pub async fn login(
        &self,
        email: &str,
        password: &Password,
        client: &ClientInfo,
    ) -> AuthResult<Issued> {
        let issued = self.attempt_login(email, password, client).await;
        let outcome = match &issued {
            Ok(_) => Some(LoginOutcome::Ok),
            Err(AuthError::InvalidCredentials) => Some(LoginOutcome::InvalidCredentials),
            Err(AuthError::AccountLocked) => Some(LoginOutcome::Locked),
            Err(AuthError::RateLimited { .. }) => Some(LoginOutcome::RateLimited),
            Err(_) => None,
        };
        if let Some(outcome) = outcome {
            self.metrics.login(outcome);
        }
        issued
    }

    async fn attempt_login(
        &self,
        email: &str,
        password: &Password,
        client: &ClientInfo,
    ) -> AuthResult<Issued> {
        let client = bounded(client);
        let normalized = normalize_email(email);
        let account = match &normalized {
            Ok(email) => email.clone(),
            Err(_) => email
                .trim()
                .to_ascii_lowercase()
                .chars()
                .take(254)
                .collect(),
        };
        let ip = client.ip.as_deref();
        // Reserved before the password is looked at: the limit is decided where the count is
        // written, so parallel attempts cannot all pass one early check.
        self.reserve_attempt(&account, &client).await?;
        let user = match normalized {
            Ok(email) => match self.durable.user_by_email(&email).await {
                Ok(user) => user,
                Err(error) => {
                    self.login_guard.abandoned(&account, ip, Self::now()).await;
                    return Err(error.into());
                }
            },
            Err(_) => None,
        };
        let check = match self
            .passwords
            .verify(password, user.as_ref().map(|u| u.password_hash.as_str()))
            .await
        {
            Ok(check) => check,
            Err(error) => {
                self.login_guard.abandoned(&account, ip, Self::now()).await;
                return Err(error.into());
            }
        };
        let user = match user {
            Some(user) if check.valid => user,
            user => {
                // The failure keeps its reservation: that reservation is the count.
                let mut event =
                    SecurityEvent::new(EventKind::LoginFailed, Self::now()).client(&client);
                if let Some(user) = &user {
                    event = event.user(user.id);
                }
                let details = json!({ "email": account, "email_known": user.is_some() });
                self.record(event.details(details.to_string())).await;
                return Err(AuthError::InvalidCredentials);
            }
        };
        self.login_guard.succeeded(&account, ip, Self::now()).await;
        if user.locked {
            return Err(AuthError::AccountLocked);
        }
        // Opened against the hash the password was checked with: a password changed since
        // refuses it. Only then the hash is brought up to today's parameters.
        let issued = self
            .open_session(user.id, &client, &user.password_hash)
            .await?;
        if check.needs_rehash {
            self.upgrade_hash(&user, password).await;
        }
        let event = SecurityEvent::new(EventKind::LoginSucceeded, Self::now())
            .user(user.id)
            .session(issued.session_id)
            .client(&client);
        self.record(event).await;
        Ok(issued)
    }

    /// Reserves one password attempt on `account` from `client` under the login limits, or
    /// records the refusal and answers `RateLimited`. Logins and password changes both come
    /// through here, so they share one budget of guesses.
    pub(crate) async fn reserve_attempt(
        &self,
        account: &str,
        client: &ClientInfo,
    ) -> AuthResult<()> {
        let ip = client.ip.as_deref();
        match self.login_guard.reserve(account, ip, Self::now()).await {
            Ok(()) => Ok(()),
            Err(refused) => {
                self.record_rate_limited(account, client, &refused).await;
                Err(AuthError::RateLimited {
                    retry_after: refused.retry_after,
                })
            }
        }
    }

    /// Records a refused attempt once per exhausted limit and window (the first refusal), with
    /// the email it targeted and the failures that exhausted the limit; later refusals in the
    /// window only answer 429, so an attack cannot bury real events.
    async fn record_rate_limited(&self, account: &str, client: &ClientInfo, refused: &Refused) {
        for limit in refused.limits.iter().filter(|limit| limit.first) {
            let details = json!({
                "email": account,
                "limit": limit.kind.as_str(),
                "failures": limit.failures,
                "retry_after_secs": refused.retry_after.as_secs(),
            });
            let event = SecurityEvent::new(EventKind::LoginRateLimited, Self::now())
                .client(client)
                .details(details.to_string());
            self.record(event).await;
        }
    }

    /// Rehashes the password with today's parameters, unless it was changed meanwhile (the
    /// new password must not be replaced by the old one).
    async fn upgrade_hash(&self, user: &User, password: &Password) {
        let upgraded = match self.passwords.hash(password).await {
            Ok(hash) => self
                .durable
                .replace_password_hash(user.id, &user.password_hash, &hash)
                .await
                .map(|_| ())
                .map_err(AuthError::from),
            Err(error) => Err(error.into()),
        };
        if let Err(error) = upgraded {
            tracing::warn!(error = %Causes(&error), user_id = %user.id, "could not upgrade password hash");
        }
    }

    /// Stores a new family and signs its first access token with the user as read in the
    /// family's transaction, not the copy read before the password check: a lock or version
    /// bump that committed meanwhile must win.
    async fn open_session(
        &self,
        user: UserId,
        client: &ClientInfo,
        proven_hash: &str,
    ) -> AuthResult<Issued> {
        let now = Self::now();
        let absolute_expires_at = now + self.settings.session_max_ttl;
        let idle_expires_at = (now + self.settings.refresh_idle_ttl).min(absolute_expires_at);
        let family = Family {
            id: SessionId::new(),
            user_id: user,
            created_at: now,
            last_used_at: now,
            idle_expires_at,
            absolute_expires_at,
            current_generation: 0,
            last_client: client.clone(),
            revoked_at: None,
            revoked_reason: None,
        };
        let secret = self.refresh.mint()?;
        let first = RefreshToken {
            hash: secret.hash(),
            family_id: family.id,
            generation: 0,
            issued_at: now,
            expires_at: idle_expires_at,
            used_at: None,
        };
        let opening = self
            .durable
            .insert_family(&family, &first, proven_hash)
            .await?;
        let user = match opening {
            FamilyOpening::Opened(user) => user,
            FamilyOpening::Locked => return Err(AuthError::AccountLocked),
            // The password proven is no longer the account's, or the account is gone.
            FamilyOpening::UserGone | FamilyOpening::PasswordChanged => {
                return Err(AuthError::InvalidCredentials)
            }
        };
        let (access_token, expires_in) = self.issue_access_token(&user, family.id, now)?;
        Ok(Issued {
            access_token,
            expires_in,
            refresh_token: secret,
            refresh_expires_at: idle_expires_at,
            session_id: family.id,
        })
    }
}
