//! Use cases of a logged-in user on their own sessions, and revoking a user everywhere (which
//! admins share). Each revocation is counted (`portcullis_revocations_total{kind}`).

use crate::error::{AuthError, AuthResult};
use crate::gateway::{bounded, Gateway, Principal, SessionView};
use portcullis_core::{
    ClientInfo, EventKind, RevocationChange, RevocationReason, SecurityEvent, SessionId, UserId,
    UserRevocation,
};
use portcullis_metrics::RevocationKind;
use time::OffsetDateTime;

impl Gateway {
    /// Revokes every session of the caller and every access token issued to them so far.
    pub async fn logout_all(&self, principal: &Principal, client: &ClientInfo) -> AuthResult<()> {
        let now = Self::now();
        let user = principal.claims.sub;
        let revocation = self
            .revoke_user_everywhere(user, false, RevocationReason::LogoutAll)
            .await?;
        let event = SecurityEvent::new(EventKind::LogoutAll, now)
            .user(user)
            .session(principal.claims.sid)
            .client(&bounded(client))
            .details(
                serde_json::json!({ "sessions_revoked": revocation.sessions_revoked.len() })
                    .to_string(),
            );
        self.record(event).await;
        Ok(())
    }

    /// The caller's live sessions, newest first, marking the one their token belongs to.
    pub async fn sessions(&self, principal: &Principal) -> AuthResult<Vec<SessionView>> {
        let families = self
            .durable
            .live_sessions(principal.claims.sub, Self::now())
            .await?;
        Ok(families
            .into_iter()
            .map(|family| SessionView {
                current: family.id == principal.claims.sid,
                family,
            })
            .collect())
    }

    /// Revokes one of the caller's own sessions; anyone else's is "not found".
    pub async fn delete_session(
        &self,
        principal: &Principal,
        session: SessionId,
        client: &ClientInfo,
    ) -> AuthResult<()> {
        let now = Self::now();
        let until = self.session_deny_until(now);
        let family = self
            .durable
            .revoke_session(
                session,
                Some(principal.claims.sub),
                RevocationReason::SessionDeleted,
                until,
                now,
            )
            .await?
            .ok_or(AuthError::NotFound)?;
        self.publish_session_denied(family.id, until, now).await;
        self.metrics.revocation(RevocationKind::Session);
        let event = SecurityEvent::new(EventKind::SessionRevoked, now)
            .user(family.user_id)
            .session(family.id)
            .client(&bounded(client))
            .details(
                serde_json::json!({ "reason": RevocationReason::SessionDeleted.as_str() })
                    .to_string(),
            );
        self.record(event).await;
        Ok(())
    }
}

impl Gateway {
    /// Bumps the user's token version and revokes every live session (and with `lock`, locks the
    /// account) durably, then pushes the change to the revocation cache.
    pub(crate) async fn revoke_user_everywhere(
        &self,
        user: UserId,
        lock: bool,
        reason: RevocationReason,
    ) -> AuthResult<UserRevocation> {
        let now = Self::now();
        let until = self.session_deny_until(now);
        let revocation = self
            .durable
            .revoke_user(user, lock, reason, until, now)
            .await?
            .ok_or(AuthError::NotFound)?;
        self.publish_user_revocation(user, &revocation, true, until, now)
            .await;
        Ok(revocation)
    }

    /// Pushes a committed revocation of `user`'s sessions to the cache (with `with_version`,
    /// the token version that retired every access token too) and counts it.
    pub(crate) async fn publish_user_revocation(
        &self,
        user: UserId,
        revocation: &UserRevocation,
        with_version: bool,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) {
        let version = with_version.then_some(RevocationChange::TokenVersion {
            user,
            version: revocation.token_version,
        });
        let sessions = revocation
            .sessions_revoked
            .iter()
            .map(|&session| RevocationChange::SessionDenied { session, until });
        let changes: Vec<_> = version.into_iter().chain(sessions).collect();
        self.revocations.publish(&changes, now).await;
        self.metrics.revocation(RevocationKind::User);
    }
}
