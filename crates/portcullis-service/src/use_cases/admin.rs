//! Use cases of the security team: cut a user off now, lock and unlock accounts. Each records
//! who did it (`actor`: an admin key name, or `cli`).

use crate::error::{AuthError, AuthResult};
use crate::gateway::Gateway;
use portcullis_core::user::normalize_email;
use portcullis_core::{EventKind, RevocationReason, SecurityEvent, User, UserId, UserRevocation};
use serde_json::json;

impl Gateway {
    /// Finds a user by id (UUID) or email.
    pub async fn find_user(&self, reference: &str) -> AuthResult<User> {
        let user = match uuid::Uuid::parse_str(reference.trim()) {
            Ok(id) => self.durable.user_by_id(UserId(id)).await?,
            Err(_) => match normalize_email(reference) {
                Ok(email) => self.durable.user_by_email(&email).await?,
                Err(_) => None,
            },
        };
        user.ok_or(AuthError::NotFound)
    }

    /// Revokes every access token and session of `user` at once.
    pub async fn revoke_user(&self, user: UserId, actor: &str) -> AuthResult<UserRevocation> {
        let revocation = self
            .revoke_user_everywhere(user, false, RevocationReason::UserRevoked)
            .await?;
        self.record_admin(EventKind::UserRevoked, user, actor, &revocation)
            .await;
        Ok(revocation)
    }

    /// Locks the account (login answers `account_locked`) and revokes everything it holds.
    pub async fn lock_user(&self, user: UserId, actor: &str) -> AuthResult<UserRevocation> {
        let revocation = self
            .revoke_user_everywhere(user, true, RevocationReason::UserRevoked)
            .await?;
        self.record_admin(EventKind::UserLocked, user, actor, &revocation)
            .await;
        Ok(revocation)
    }

    /// Lets a locked account log in again (its old tokens stay revoked).
    pub async fn unlock_user(&self, user: UserId, actor: &str) -> AuthResult<()> {
        if !self.durable.set_locked(user, false).await? {
            return Err(AuthError::NotFound);
        }
        let event = SecurityEvent::new(EventKind::UserUnlocked, Self::now())
            .user(user)
            .details(json!({ "actor": actor }).to_string());
        self.record(event).await;
        Ok(())
    }

    async fn record_admin(
        &self,
        kind: EventKind,
        user: UserId,
        actor: &str,
        revocation: &UserRevocation,
    ) {
        let details = json!({
            "actor": actor,
            "token_version": revocation.token_version,
            "sessions_revoked": revocation.sessions_revoked.len(),
        });
        let event = SecurityEvent::new(kind, Self::now())
            .user(user)
            .details(details.to_string());
        self.record(event).await;
    }
}
