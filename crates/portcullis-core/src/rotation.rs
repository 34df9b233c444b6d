//! The refresh-rotation rules, as one pure decision and its one application.
//!
//! A backend, inside one transaction, loads the presented token, its family and the token stored
//! one generation after it, asks [`decide`] what to do, hands the answer to [`apply`] with its
//! [`RotationWrites`] and commits. Keeping both here means every backend rotates the same way and
//! the rules are tested without a database: a backend only says how to read and how to write,
//! never which write a presentation deserves.

use crate::store::{RotationOutcome, RotationRequest, StoreResult};
use crate::{Family, RevocationReason, SessionId, TokenHash, User};
use async_trait::async_trait;
use std::time::Duration;
use time::OffsetDateTime;

/// Lifetimes that govern rotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RotationPolicy {
    /// How long a refresh token lives unused; restarts on every rotation.
    pub idle_ttl: Duration,
    /// How long after its first use a token may be presented again and get the same successor.
    /// Zero disables the grace window.
    pub reuse_grace: Duration,
}

/// What the backend knows about the presented token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenState {
    pub generation: i64,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
    /// The one successor this token derives (`RotationRequest::successor`).
    pub derived_successor: TokenHash,
}

/// What the backend knows about the token's family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FamilyState {
    pub current_generation: i64,
    pub absolute_expires_at: OffsetDateTime,
    pub revoked: bool,
    /// Whether the family's user is locked, as read under the user-row lock of the rotation's
    /// transaction (so a concurrent lock is either seen here or waits for this rotation).
    pub user_locked: bool,
}

impl FamilyState {
    /// The state of `family` as of a rotation that read `user` under its lock.
    pub fn of(family: &Family, user: &User) -> Self {
        FamilyState {
            current_generation: family.current_generation,
            absolute_expires_at: family.absolute_expires_at,
            revoked: family.revoked_at.is_some(),
            user_locked: user.locked,
        }
    }
}

/// The token stored in the family one generation after the presented one, if there is one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SuccessorState {
    pub hash: TokenHash,
    pub expires_at: OffsetDateTime,
}

/// What to do with a presented refresh token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Mark the token used and store exactly one successor expiring at `successor_expires_at`.
    Rotate {
        successor_expires_at: OffsetDateTime,
    },
    /// The token was just rotated (within the grace window), its successor is still the
    /// family's newest and is the one this token derives: answer with that same successor
    /// (which expires at `successor_expires_at`), change nothing.
    ReplayWithinGrace {
        successor_expires_at: OffsetDateTime,
    },
    /// A used token came back outside the rules: revoke the whole family.
    ReuseDetected,
    /// The family was already revoked.
    FamilyRevoked,
    /// The user is locked: revoke the family (reason `user_locked`) and issue nothing.
    UserLocked,
    /// The token or its family has expired.
    Expired,
}

/// Decides what a refresh presentation means. Order matters: a revoked family wins over
/// everything, then a locked user (no token of a locked account is ever issued), an expired
/// family makes old tokens merely invalid, and a used token is judged for replay before its own
/// idle expiry (a replayed token is a theft signal even when stale). A replay is only answered
/// with the stored successor when that successor is the one the token derives; any other stored
/// successor (or none) means the idempotent answer cannot be given, so it is reuse.
pub fn decide(
    token: TokenState,
    family: FamilyState,
    successor: Option<SuccessorState>,
    now: OffsetDateTime,
    policy: RotationPolicy,
) -> Decision {
    if family.revoked {
        return Decision::FamilyRevoked;
    }
    if family.user_locked {
        return Decision::UserLocked;
    }
    if now >= family.absolute_expires_at {
        return Decision::Expired;
    }
    if let Some(used_at) = token.used_at {
        let successor_is_newest = token.generation + 1 == family.current_generation;
        let within_grace = !policy.reuse_grace.is_zero() && now < used_at + policy.reuse_grace;
        return match successor {
            // Hashes, not secrets: an ordinary comparison leaks nothing worth having.
            Some(successor)
                if successor_is_newest
                    && within_grace
                    && successor.hash == token.derived_successor =>
            {
                Decision::ReplayWithinGrace {
                    successor_expires_at: successor.expires_at,
                }
            }
            _ => Decision::ReuseDetected,
        };
    }
    if now >= token.expires_at || token.generation != family.current_generation {
        return Decision::Expired;
    }
    let idle_expiry = now + policy.idle_ttl;
    Decision::Rotate {
        successor_expires_at: idle_expiry.min(family.absolute_expires_at),
    }
}

/// The writes a rotation may make, offered by a backend over the transaction that read the
/// state handed to [`decide`]. Each is plain SQL; which one runs is [`apply`]'s to say.
#[async_trait]
pub trait RotationWrites: Send {
    /// Marks the presented token used, stores its derived successor (one generation on, expiring
    /// at `successor_expires_at`), moves the family to it and returns the family as it then
    /// stands.
    async fn rotate(&mut self, successor_expires_at: OffsetDateTime) -> StoreResult<Family>;
    /// Revokes `family` for `reason` unless it already is, and returns it as it then stands.
    async fn revoke_family(
        &mut self,
        family: SessionId,
        reason: RevocationReason,
    ) -> StoreResult<Option<Family>>;
}

/// What every backend's rotation does once it has read, under its locks, the presented token,
/// its family, the user and the token's stored successor: [`decide`], then [`apply`].
pub async fn settle(
    writes: &mut impl RotationWrites,
    request: &RotationRequest,
    token: TokenState,
    user: User,
    family: Family,
    successor: Option<SuccessorState>,
) -> StoreResult<RotationOutcome> {
    let decision = decide(
        token,
        FamilyState::of(&family, &user),
        successor,
        request.now,
        request.policy,
    );
    apply(writes, decision, user, family).await
}

/// Makes the one write `decision` calls for and gives the answer; `user` and `family` are as
/// they were read for [`decide`], and the answer carries the family as it stands afterwards.
pub async fn apply(
    writes: &mut impl RotationWrites,
    decision: Decision,
    user: User,
    family: Family,
) -> StoreResult<RotationOutcome> {
    Ok(match decision {
        Decision::Rotate {
            successor_expires_at,
        } => RotationOutcome::Rotated {
            user,
            family: writes.rotate(successor_expires_at).await?,
            successor_expires_at,
        },
        Decision::ReplayWithinGrace {
            successor_expires_at,
        } => RotationOutcome::Replayed {
            user,
            family,
            successor_expires_at,
        },
        Decision::ReuseDetected => RotationOutcome::ReuseDetected {
            family: revoke(writes, RevocationReason::RefreshTokenReused, family).await?,
        },
        Decision::FamilyRevoked => RotationOutcome::FamilyRevoked { family },
        Decision::UserLocked => RotationOutcome::UserLocked {
            family: revoke(writes, RevocationReason::UserLocked, family).await?,
        },
        Decision::Expired => RotationOutcome::Expired,
    })
}

async fn revoke(
    writes: &mut impl RotationWrites,
    reason: RevocationReason,
    family: Family,
) -> StoreResult<Family> {
    Ok(writes
        .revoke_family(family.id, reason)
        .await?
        .unwrap_or(family))
}

#[cfg(test)]
mod apply_tests;
#[cfg(test)]
mod tests;
