//! Refresh rotation and logout: the cookie-authenticated use cases. Each presented refresh
//! token is counted by what its rotation decided (`portcullis_refresh_total{outcome}`).

use crate::error::{AuthError, AuthResult};
use crate::gateway::{bounded, Gateway, Issued};
use crate::refresh_token::RefreshSecret;
use portcullis_core::store::{RotationOutcome, RotationRequest};
use portcullis_core::{
    ClientInfo, EventKind, RevocationChange, RevocationReason, RotationPolicy, SecurityEvent,
};
use portcullis_metrics::RefreshOutcome;
use serde_json::json;

impl Gateway {
    /// Rotates a refresh token (see `portcullis_core::rotation` for the rules).
    pub async fn refresh(
        &self,
        presented: Option<&str>,
        client: &ClientInfo,
    ) -> AuthResult<Issued> {
        let presented = presented.ok_or(AuthError::MissingRefreshToken)?;
        let Some(presented) = RefreshSecret::parse(presented) else {
            self.metrics.refresh(RefreshOutcome::Invalid);
            return Err(AuthError::InvalidRefreshToken);
        };
        let client = bounded(client);
        let successor = self.refresh.successor(&presented);
        let now = Self::now();
        let request = RotationRequest {
            presented: presented.hash(),
            successor: successor.hash(),
            now,
            policy: RotationPolicy {
                idle_ttl: self.settings.refresh_idle_ttl,
                reuse_grace: self.settings.reuse_grace,
            },
            client: client.clone(),
            session_deny_until: self.session_deny_until(now),
        };
        let outcome = self.durable.rotate(&request).await?;
        self.metrics.refresh(refresh_outcome(&outcome));
        match outcome {
            RotationOutcome::Rotated {
                user,
                family,
                successor_expires_at,
            }
            | RotationOutcome::Replayed {
                user,
                family,
                successor_expires_at,
            } => {
                let (access_token, expires_in) = self.issue_access_token(&user, family.id, now)?;
                Ok(Issued {
                    access_token,
                    expires_in,
                    refresh_token: successor,
                    refresh_expires_at: successor_expires_at,
                    session_id: family.id,
                })
            }
            RotationOutcome::ReuseDetected { family } => {
                self.publish_session_denied(family.id, self.session_deny_until(now), now)
                    .await;
                let details = json!({
                    "holder_last_used_at": family.last_used_at.unix_timestamp(),
                    "holder_ip": family.last_client.ip,
                    "holder_user_agent": family.last_client.user_agent,
                    "replay_ip": client.ip,
                    "replay_user_agent": client.user_agent,
                });
                let event = SecurityEvent::new(EventKind::RefreshTokenReused, now)
                    .user(family.user_id)
                    .session(family.id)
                    .client(&client)
                    .details(details.to_string());
                self.record(event).await;
                Err(AuthError::RefreshTokenReused)
            }
            RotationOutcome::FamilyRevoked { .. } => Err(AuthError::SessionRevoked),
            RotationOutcome::UserLocked { family } => {
                // The lock already denied the family's tokens, unless the family escaped it; deny
                // them again so this answer never depends on which.
                self.publish_session_denied(family.id, self.session_deny_until(now), now)
                    .await;
                Err(AuthError::SessionRevoked)
            }
            // Answered alike: a client has nothing to do differently for an expired token.
            RotationOutcome::Expired | RotationOutcome::Invalid => {
                Err(AuthError::InvalidRefreshToken)
            }
        }
    }

    /// Ends the cookie's session and denylists the presented access token. Idempotent: a
    /// missing or unknown cookie, or an unusable bearer token, is not an error.
    pub async fn logout(
        &self,
        presented: Option<&str>,
        bearer: Option<&str>,
        client: &ClientInfo,
    ) -> AuthResult<()> {
        let client = bounded(client);
        let now = Self::now();
        let mut changes = Vec::new();
        if let Some(bearer) = bearer {
            // Only a token this gateway signed is denylisted; it may already be expired or revoked.
            if let Ok(claims) = self.access.verify_signature_only(bearer) {
                let until = time::OffsetDateTime::from_unix_timestamp(claims.exp).unwrap_or(now)
                    + self.settings.leeway;
                if until > now {
                    self.durable.deny_jti(claims.jti, until).await?;
                    changes.push(RevocationChange::JtiDenied {
                        jti: claims.jti,
                        until,
                    });
                }
            }
        }
        if let Some(secret) = presented.and_then(RefreshSecret::parse) {
            let until = self.session_deny_until(now);
            let family = self
                .durable
                .revoke_session_by_token(&secret.hash(), RevocationReason::Logout, until, now)
                .await?;
            if let Some(family) = family {
                changes.push(RevocationChange::SessionDenied {
                    session: family.id,
                    until,
                });
                let event = SecurityEvent::new(EventKind::Logout, now)
                    .user(family.user_id)
                    .session(family.id)
                    .client(&client);
                self.record(event).await;
            }
        }
        self.revocations.publish(&changes, now).await;
        Ok(())
    }
}

fn refresh_outcome(outcome: &RotationOutcome) -> RefreshOutcome {
    match outcome {
        RotationOutcome::Rotated { .. } => RefreshOutcome::Rotated,
        RotationOutcome::Replayed { .. } => RefreshOutcome::GraceReplay,
        RotationOutcome::ReuseDetected { .. } => RefreshOutcome::ReuseDetected,
        RotationOutcome::FamilyRevoked { .. } | RotationOutcome::UserLocked { .. } => {
            RefreshOutcome::Revoked
        }
        RotationOutcome::Expired => RefreshOutcome::Expired,
        RotationOutcome::Invalid => RefreshOutcome::Invalid,
    }
}
