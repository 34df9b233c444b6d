//! An account after registration: its password set by an admin or changed by its owner, the
//! accounts listed for the security team, and an account erased. Each change ends the sessions
//! it must in the same transaction as the change, pushes the revocation to every replica and is
//! recorded (`password_changed`, `user_deleted`).

use crate::error::{AuthError, AuthResult};
use crate::gateway::{bounded, Gateway, Principal};
use crate::secret::Password;
use portcullis_core::account::{
    Erasure, PasswordReset, PasswordResetOutcome, UserQuery, UserSummary,
};
use portcullis_core::revocation::DELETED_USER_VERSION;
use portcullis_core::user::check_password;
use portcullis_core::{
    AccessClaims, ClientInfo, EventKind, RevocationChange, SecurityEvent, UserId, UserRevocation,
};
use portcullis_metrics::RevocationKind;
use serde_json::json;

/// The caller of an own password change: who, and the hash their current password matched.
struct Owner<'a> {
    claims: &'a AccessClaims,
    proven_hash: &'a str,
}

/// What erasing an account ended; no row holds the account's email any more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserErased {
    pub email: String,
    pub sessions_ended: usize,
}

impl Gateway {
    /// Sets a user's password for an admin: every session and access token of the user ends, so
    /// whoever held the account before holds nothing now.
    pub async fn set_password(
        &self,
        user: UserId,
        password: &Password,
        actor: &str,
    ) -> AuthResult<UserRevocation> {
        check_password(password.expose())?;
        let hash = self.passwords.hash(password).await?;
        let revocation = self.reset_password(user, &hash, None).await?;
        let details = json!({
            "by": "admin",
            "sessions_revoked": revocation.sessions_revoked.len(),
            "token_version": revocation.token_version,
        });
        let event = SecurityEvent::new(EventKind::PasswordChanged, Self::now())
            .user(user)
            .actor(actor)
            .details(details.to_string());
        self.record(event).await;
        Ok(revocation)
    }

    /// Changes the caller's own password, proven by the current one: the session the caller is
    /// in goes on, every other one ends with its access tokens. Attempts are limited like
    /// logins, under the same counters, so a stolen access token buys no extra guesses.
    pub async fn change_own_password(
        &self,
        principal: &Principal,
        current: &Password,
        new: &Password,
        client: &ClientInfo,
    ) -> AuthResult<UserRevocation> {
        // A new password the rules refuse is the caller's mistake, not a guess: no attempt.
        check_password(new.expose())?;
        let client = bounded(client);
        let claims = &principal.claims;
        let ip = client.ip.as_deref();
        self.reserve_attempt(&claims.email, &client).await?;
        let proven = match self.proven_hash(claims.sub, current).await {
            Ok(Some(proven)) => {
                self.login_guard
                    .succeeded(&claims.email, ip, Self::now())
                    .await;
                proven
            }
            // A wrong password keeps its reservation: that reservation is the count.
            Ok(None) => {
                let details = json!({
                    "email": claims.email,
                    "email_known": true,
                    "password_change": true,
                });
                let event = SecurityEvent::new(EventKind::LoginFailed, Self::now())
                    .user(claims.sub)
                    .session(claims.sid)
                    .client(&client)
                    .details(details.to_string());
                self.record(event).await;
                return Err(AuthError::WrongCurrentPassword);
            }
            Err(error) => {
                self.login_guard
                    .abandoned(&claims.email, ip, Self::now())
                    .await;
                return Err(error);
            }
        };
        let hash = self.passwords.hash(new).await?;
        let owner = Owner {
            claims,
            proven_hash: &proven,
        };
        let revocation = self.reset_password(claims.sub, &hash, Some(owner)).await?;
        let details = json!({
            "by": "owner",
            "sessions_revoked": revocation.sessions_revoked.len(),
        });
        let event = SecurityEvent::new(EventKind::PasswordChanged, Self::now())
            .user(claims.sub)
            .session(claims.sid)
            .client(&client)
            .details(details.to_string());
        self.record(event).await;
        Ok(revocation)
    }

    /// Accounts matching `query`, by email.
    pub async fn list_users(&self, query: &UserQuery) -> AuthResult<Vec<UserSummary>> {
        Ok(self.durable.list_users(query).await?)
    }

    /// Erases an account: its sessions end and its access tokens are refused at once on every
    /// replica, its row and personal data go, and its security events stay with its email
    /// replaced by its id.
    pub async fn erase_user(&self, user: UserId, actor: &str) -> AuthResult<UserErased> {
        // First, so the erasure's cleanup of the database file covers it: the login counter is
        // keyed by the address.
        if let Some(account) = self.durable.user_by_id(user).await? {
            self.login_guard.forget(&account.email).await;
        }
        let now = Self::now();
        let erasure = Erasure {
            deny_until: self.session_deny_until(now),
            now,
        };
        let erased = self
            .durable
            .erase_user(user, &erasure)
            .await?
            .ok_or(AuthError::NotFound)?;
        let change = RevocationChange::TokenVersion {
            user,
            version: DELETED_USER_VERSION,
        };
        self.revocations.publish(&[change], now).await;
        self.metrics.revocation(RevocationKind::User);
        let details = json!({ "sessions_ended": erased.sessions_ended.len() });
        let event = SecurityEvent::new(EventKind::UserDeleted, now)
            .user(user)
            .actor(actor)
            .details(details.to_string());
        self.record(event).await;
        Ok(UserErased {
            email: erased.email,
            sessions_ended: erased.sessions_ended.len(),
        })
    }

    /// The stored hash `password` matches, if it does; a user erased meanwhile has none.
    async fn proven_hash(&self, user: UserId, password: &Password) -> AuthResult<Option<String>> {
        let stored = self.durable.user_by_id(user).await?;
        let check = self
            .passwords
            .verify(password, stored.as_ref().map(|u| u.password_hash.as_str()))
            .await?;
        Ok(stored
            .filter(|_| check.valid)
            .map(|user| user.password_hash))
    }

    /// Stores the new hash and ends the sessions the change ends (all, or all but the owner's
    /// current one), then pushes the revocation to the cache. An owner's change whose proof no
    /// longer holds (the password was reset meanwhile, which also ended the owner's session)
    /// is refused as that session's end.
    async fn reset_password(
        &self,
        user: UserId,
        password_hash: &str,
        owner: Option<Owner<'_>>,
    ) -> AuthResult<UserRevocation> {
        let now = Self::now();
        let until = self.session_deny_until(now);
        let reset = PasswordReset {
            password_hash,
            keep_session: owner.as_ref().map(|owner| owner.claims.sid),
            replaces: owner.as_ref().map(|owner| owner.proven_hash),
            deny_until: until,
            now,
        };
        let outcome = self
            .durable
            .reset_password(user, &reset)
            .await?
            .ok_or(AuthError::NotFound)?;
        let revocation = match outcome {
            PasswordResetOutcome::Reset(revocation) => revocation,
            PasswordResetOutcome::Stale => return Err(AuthError::SessionRevoked),
        };
        // An owner's change keeps the version: the owner's own tokens go on.
        self.publish_user_revocation(user, &revocation, owner.is_none(), until, now)
            .await;
        Ok(revocation)
    }
}
