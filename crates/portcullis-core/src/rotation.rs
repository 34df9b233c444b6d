//! The refresh-rotation rules, as one pure decision.
//!
//! A backend loads the presented token and its family inside a transaction, asks [`decide`] what
//! to do, and applies the answer before committing. Keeping the rule here means every backend
//! rotates the same way and the rule is tested without a database.

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

/// What to do with a presented refresh token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Mark the token used and store exactly one successor expiring at `successor_expires_at`.
    Rotate {
        successor_expires_at: OffsetDateTime,
    },
    /// The token was just rotated (within the grace window) and its successor is still the
    /// family's newest: answer with that same successor, change nothing.
    ReplayWithinGrace,
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
/// everything, then a locked user (no token of a locked account is ever issued), an expired family makes old tokens merely invalid, and a used token is judged
/// for replay before its own idle expiry (a replayed token is a theft signal even when stale).
pub fn decide(
    token: TokenState,
    family: FamilyState,
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
        return if successor_is_newest && within_grace {
            Decision::ReplayWithinGrace
        } else {
            Decision::ReuseDetected
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);
    const POLICY: RotationPolicy = RotationPolicy {
        idle_ttl: Duration::from_secs(7 * 86_400),
        reuse_grace: Duration::from_secs(10),
    };

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn family(current_generation: i64) -> FamilyState {
        FamilyState {
            current_generation,
            absolute_expires_at: T0 + secs(30 * 86_400),
            revoked: false,
            user_locked: false,
        }
    }

    fn fresh(generation: i64) -> TokenState {
        TokenState {
            generation,
            expires_at: T0 + POLICY.idle_ttl,
            used_at: None,
        }
    }

    fn used(generation: i64, used_at: OffsetDateTime) -> TokenState {
        TokenState {
            used_at: Some(used_at),
            ..fresh(generation)
        }
    }

    #[test]
    fn rotation_table() {
        let absolute = T0 + secs(30 * 86_400);
        let cases: Vec<(&str, TokenState, FamilyState, OffsetDateTime, Decision)> = vec![
            (
                "fresh newest token rotates",
                fresh(0),
                family(0),
                T0 + secs(60),
                Decision::Rotate {
                    successor_expires_at: T0 + secs(60) + POLICY.idle_ttl,
                },
            ),
            (
                "successor expiry is capped by the family's absolute expiry",
                TokenState {
                    expires_at: absolute,
                    ..fresh(3)
                },
                family(3),
                absolute - secs(3600),
                Decision::Rotate {
                    successor_expires_at: absolute,
                },
            ),
            (
                "replay of the immediate predecessor inside the grace window is idempotent",
                used(0, T0),
                family(1),
                T0 + secs(9),
                Decision::ReplayWithinGrace,
            ),
            (
                "replay at the end of the grace window is reuse",
                used(0, T0),
                family(1),
                T0 + secs(10),
                Decision::ReuseDetected,
            ),
            (
                "replay of an older token is reuse even inside the window",
                used(0, T0),
                family(2),
                T0 + secs(1),
                Decision::ReuseDetected,
            ),
            (
                "revoked family wins over everything",
                fresh(0),
                FamilyState {
                    revoked: true,
                    ..family(0)
                },
                T0,
                Decision::FamilyRevoked,
            ),
            (
                "revoked family wins over replay",
                used(0, T0),
                FamilyState {
                    revoked: true,
                    ..family(1)
                },
                T0 + secs(1),
                Decision::FamilyRevoked,
            ),
            (
                "a locked user's family ends, even on a fresh token",
                fresh(0),
                FamilyState {
                    user_locked: true,
                    ..family(0)
                },
                T0 + secs(60),
                Decision::UserLocked,
            ),
            (
                "a locked user's replay is not served from the grace window",
                used(0, T0),
                FamilyState {
                    user_locked: true,
                    ..family(1)
                },
                T0 + secs(1),
                Decision::UserLocked,
            ),
            (
                "an already revoked family of a locked user stays merely revoked",
                fresh(0),
                FamilyState {
                    revoked: true,
                    user_locked: true,
                    ..family(0)
                },
                T0,
                Decision::FamilyRevoked,
            ),
            (
                "idle-expired token is invalid",
                fresh(0),
                family(0),
                T0 + POLICY.idle_ttl,
                Decision::Expired,
            ),
            (
                "family past its absolute expiry is invalid",
                fresh(0),
                family(0),
                absolute,
                Decision::Expired,
            ),
            (
                "used and stale token is still reuse",
                used(0, T0),
                family(1),
                T0 + POLICY.idle_ttl + secs(1),
                Decision::ReuseDetected,
            ),
        ];
        for (name, token, family, now, expected) in cases {
            assert_eq!(decide(token, family, now, POLICY), expected, "{name}");
        }
    }

    #[test]
    fn zero_grace_disables_the_window() {
        let policy = RotationPolicy {
            reuse_grace: Duration::ZERO,
            ..POLICY
        };
        assert_eq!(
            decide(used(0, T0), family(1), T0, policy),
            Decision::ReuseDetected
        );
    }

    proptest! {
        /// Whatever the timing, a used token never yields a second, different successor: it is
        /// either a replay of the existing one or it kills the family.
        #[test]
        fn a_used_token_never_rotates_again(
            generation in 0i64..50, ahead in 1i64..3, used_after in 0u64..100, presented_after in 0u64..100,
            grace in 0u64..30,
        ) {
            let policy = RotationPolicy { reuse_grace: secs(grace), ..POLICY };
            let used_at = T0 + secs(used_after);
            let now = used_at + secs(presented_after);
            let decision = decide(used(generation, used_at), family(generation + ahead), now, policy);
            prop_assert!(matches!(decision, Decision::ReplayWithinGrace | Decision::ReuseDetected));
            if decision == Decision::ReplayWithinGrace {
                prop_assert_eq!(ahead, 1);
                prop_assert!(presented_after < grace);
            }
        }

        /// A rotation never extends the family beyond its absolute expiry.
        #[test]
        fn successors_never_outlive_the_family(elapsed in 0u64..(31 * 86_400)) {
            let now = T0 + secs(elapsed);
            let token = TokenState { expires_at: now + secs(1), ..fresh(0) };
            if let Decision::Rotate { successor_expires_at } = decide(token, family(0), now, POLICY) {
                prop_assert!(successor_expires_at <= family(0).absolute_expires_at);
                prop_assert!(successor_expires_at > now);
            }
        }
    }
}
