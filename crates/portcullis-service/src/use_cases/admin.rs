//! Use cases of the security team: cut a user off now, lock and unlock accounts, change roles,
//! revoke sessions and tokens one by one or by the thousand, read the audit trail and the
//! webhook deliveries still owed. Every action
//! is recorded with its `actor` (an admin key name, or `cli`), and every revocation counted
//! (`portcullis_revocations_total{kind}`; revoking a user is counted where it is done, in
//! `sessions.rs`).

use crate::error::{AuthError, AuthResult};
use crate::gateway::Gateway;
use crate::secret::Password;
use portcullis_core::admin::{EventQuery, SessionFilter, StoredEvent};
use portcullis_core::user::{normalize_email, normalize_roles};
use portcullis_core::webhook_outbox::UndeliveredEntry;
use portcullis_core::{
    EventKind, Family, RevocationChange, RevocationReason, SecurityEvent, SessionId, User, UserId,
    UserRevocation,
};
use portcullis_metrics::RevocationKind;
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// How far back the admin session listing shows revoked sessions: the retention pass keeps a
/// revoked family at least this long (`portcullis_core::retention`).
const RECENTLY_REVOKED: Duration = portcullis_core::retention::REVOKED_SESSIONS_LISTED;

/// What a mass revocation hit (or, in a dry run, would hit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MassRevocation {
    pub sessions: usize,
    pub users: usize,
}

/// The roles as stored after a change, and the token version that retired the old ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolesChanged {
    pub roles: Vec<String>,
    pub token_version: i64,
}

/// The access token to denylist: the token itself, or its id and expiry.
#[derive(Debug, Clone)]
pub enum TokenToRevoke {
    Token(String),
    Id { jti: Uuid, exp: i64 },
}

impl Gateway {
    /// Finds a user by id (UUID) or email. Something that is neither is the caller's mistake,
    /// not an unknown user, and is answered as such.
    pub async fn find_user(&self, reference: &str) -> AuthResult<User> {
        let user = match Uuid::parse_str(reference.trim()) {
            Ok(id) => self.durable.user_by_id(UserId(id)).await?,
            Err(_) => {
                let email =
                    normalize_email(reference).map_err(|_| AuthError::InvalidUserReference)?;
                self.durable.user_by_email(&email).await?
            }
        };
        user.ok_or(AuthError::NotFound)
    }

    /// The user an audit-trail query is about: an id is taken as it is (an erased account's
    /// events stay, and are found by it), an email names its account.
    pub async fn event_subject(&self, reference: &str) -> AuthResult<UserId> {
        match Uuid::parse_str(reference.trim()) {
            Ok(id) => Ok(UserId(id)),
            Err(_) => Ok(self.find_user(reference).await?.id),
        }
    }

    /// Creates a user for an admin; without a password the account cannot log in until one is set.
    pub async fn admin_create_user(
        &self,
        email: &str,
        password: Option<&Password>,
        roles: &[String],
        actor: &str,
    ) -> AuthResult<UserId> {
        let user = self.new_user(email, password, roles).await?;
        let details = json!({
            "by": "admin",
            "password_set": password.is_some(),
            "roles": normalize_roles(roles)?,
        });
        let event = SecurityEvent::new(EventKind::UserRegistered, Self::now())
            .user(user)
            .actor(actor)
            .details(details.to_string());
        self.record(event).await;
        Ok(user)
    }

    /// Replaces a user's roles; tokens carrying the old roles stop working at once, sessions
    /// stay and their next refresh carries the new roles.
    pub async fn change_roles(
        &self,
        user: UserId,
        roles: &[String],
        actor: &str,
    ) -> AuthResult<RolesChanged> {
        let roles = normalize_roles(roles)?;
        let version = self
            .durable
            .set_roles(user, &roles)
            .await?
            .ok_or(AuthError::NotFound)?;
        let now = Self::now();
        self.revocations
            .publish(&[RevocationChange::TokenVersion { user, version }], now)
            .await;
        let event = SecurityEvent::new(EventKind::RolesChanged, now)
            .user(user)
            .actor(actor)
            .details(json!({ "roles": roles, "token_version": version }).to_string());
        self.record(event).await;
        Ok(RolesChanged {
            roles,
            token_version: version,
        })
    }

    /// Revokes every access token and session of `user` at once.
    pub async fn revoke_user(&self, user: UserId, actor: &str) -> AuthResult<UserRevocation> {
        let revocation = self
            .revoke_user_everywhere(user, false, RevocationReason::UserRevoked)
            .await?;
        self.record_user_action(EventKind::UserRevoked, user, actor, &revocation)
            .await;
        Ok(revocation)
    }

    /// Locks the account (login answers `account_locked`) and revokes everything it holds.
    pub async fn lock_user(&self, user: UserId, actor: &str) -> AuthResult<UserRevocation> {
        // The sessions it ends say why: `user_locked`, not a plain revocation.
        let revocation = self
            .revoke_user_everywhere(user, true, RevocationReason::UserLocked)
            .await?;
        self.record_user_action(EventKind::UserLocked, user, actor, &revocation)
            .await;
        Ok(revocation)
    }

    /// Lets a locked account log in again (its old tokens stay revoked).
    pub async fn unlock_user(&self, user: UserId, actor: &str) -> AuthResult<()> {
        if !self.durable.set_locked(user, false).await? {
            return Err(AuthError::NotFound);
        }
        self.record(
            SecurityEvent::new(EventKind::UserUnlocked, Self::now())
                .user(user)
                .actor(actor),
        )
        .await;
        Ok(())
    }

    /// A user's live sessions and those revoked in the last 30 days, with the reason.
    pub async fn user_sessions(&self, user: UserId) -> AuthResult<Vec<Family>> {
        let now = Self::now();
        Ok(self
            .durable
            .sessions_of(user, now - RECENTLY_REVOKED, now)
            .await?)
    }

    /// Revokes one session (any user's) and the access tokens issued from it.
    pub async fn admin_revoke_session(
        &self,
        session: SessionId,
        actor: &str,
    ) -> AuthResult<Family> {
        let now = Self::now();
        let until = self.session_deny_until(now);
        let family = self
            .durable
            .revoke_session(session, None, RevocationReason::AdminRevoked, until, now)
            .await?
            .ok_or(AuthError::NotFound)?;
        self.publish_session_denied(session, until, now).await;
        self.metrics.revocation(RevocationKind::Session);
        let event = SecurityEvent::new(EventKind::SessionRevoked, now)
            .user(family.user_id)
            .session(session)
            .actor(actor)
            .details(json!({ "reason": RevocationReason::AdminRevoked.as_str() }).to_string());
        self.record(event).await;
        Ok(family)
    }

    /// Denylists one access token until it would have expired anyway (an expired one is only
    /// recorded). A token must be one this gateway signed; a bare jti needs its `exp`. The
    /// token is the caller's input, not their credential: a bad one is `ForeignToken`, never
    /// `InvalidToken`, which would read as a refused caller.
    pub async fn revoke_token(&self, token: &TokenToRevoke, actor: &str) -> AuthResult<Uuid> {
        let (jti, exp, user, session) = match token {
            TokenToRevoke::Token(text) => {
                let claims = self
                    .access
                    .verify_signature_only(text)
                    .map_err(AuthError::ForeignToken)?;
                (claims.jti, claims.exp, Some(claims.sub), Some(claims.sid))
            }
            TokenToRevoke::Id { jti, exp } => (*jti, *exp, None, None),
        };
        // Checked: `exp` may come from the caller, and the last second of year 9999 plus the
        // leeway does not fit in a time.
        let until = OffsetDateTime::from_unix_timestamp(exp)
            .ok()
            .zip(time::Duration::try_from(self.settings.leeway).ok())
            .and_then(|(expires, leeway)| expires.checked_add(leeway))
            .ok_or(AuthError::InvalidExpiry)?;
        let now = Self::now();
        if until > now {
            self.durable.deny_jti(jti, until).await?;
            self.revocations
                .publish(&[RevocationChange::JtiDenied { jti, until }], now)
                .await;
        }
        self.metrics.revocation(RevocationKind::Jti);
        let mut event = SecurityEvent::new(EventKind::TokenRevoked, now)
            .actor(actor)
            .details(json!({ "jti": jti, "exp": exp }).to_string());
        if let Some(user) = user {
            event = event.user(user);
        }
        if let Some(session) = session {
            event = event.session(session);
        }
        self.record(event).await;
        Ok(jti)
    }

    /// The audit trail, newest first.
    pub async fn events(&self, query: &EventQuery) -> AuthResult<Vec<StoredEvent>> {
        Ok(self.durable.query_events(query).await?)
    }

    /// Webhook deliveries not yet made (pending or failed), oldest event first.
    pub async fn undelivered_webhooks(&self, limit: u32) -> AuthResult<Vec<UndeliveredEntry>> {
        Ok(self.durable.undelivered(limit).await?)
    }

    /// Revokes every live session matching `filter` in one transaction and one recorded event;
    /// a dry run only counts. An empty filter is refused: it would end every session there is.
    pub async fn mass_revoke(
        &self,
        filter: &SessionFilter,
        dry_run: bool,
        actor: &str,
    ) -> AuthResult<MassRevocation> {
        if filter.is_empty() {
            return Err(AuthError::EmptyFilter);
        }
        let now = Self::now();
        let targets: Vec<Family> = self
            .durable
            .live_sessions_matching(filter, now)
            .await?
            .into_iter()
            .filter(|family| filter.address_matches(family))
            .collect();
        if dry_run {
            return Ok(count(&targets));
        }
        let until = self.session_deny_until(now);
        let ids: Vec<SessionId> = targets.iter().map(|family| family.id).collect();
        let revoked = self
            .durable
            .revoke_sessions(&ids, RevocationReason::AdminRevoked, until, now)
            .await?;
        let changes: Vec<_> = revoked
            .iter()
            .map(|family| RevocationChange::SessionDenied {
                session: family.id,
                until,
            })
            .collect();
        self.revocations.publish(&changes, now).await;
        self.metrics.revocation(RevocationKind::Mass);
        let outcome = count(&revoked);
        let details = json!({
            "mass_revocation": {
                "created_before": filter.created_before.map(|at| at.unix_timestamp()),
                "last_ip_in": filter.last_ip_in.map(|net| net.to_string()),
                "role": filter.role,
            },
            "sessions_revoked": outcome.sessions,
            "users": outcome.users,
        });
        self.record(
            SecurityEvent::new(EventKind::SessionRevoked, now)
                .actor(actor)
                .details(details.to_string()),
        )
        .await;
        Ok(outcome)
    }

    async fn record_user_action(
        &self,
        kind: EventKind,
        user: UserId,
        actor: &str,
        revocation: &UserRevocation,
    ) {
        let details = json!({
            "token_version": revocation.token_version,
            "sessions_revoked": revocation.sessions_revoked.len(),
        });
        let event = SecurityEvent::new(kind, Self::now())
            .user(user)
            .actor(actor)
            .details(details.to_string());
        self.record(event).await;
    }
}

fn count(families: &[Family]) -> MassRevocation {
    let users: HashSet<UserId> = families.iter().map(|family| family.user_id).collect();
    MassRevocation {
        sessions: families.len(),
        users: users.len(),
    }
}
