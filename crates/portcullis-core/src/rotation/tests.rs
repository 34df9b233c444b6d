//! Tests of `rotation.rs`, kept beside it so the rules read without them.

use super::*;
use proptest::prelude::*;
use time::macros::datetime;

pub(super) const T0: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);
pub(super) const POLICY: RotationPolicy = RotationPolicy {
    idle_ttl: Duration::from_secs(7 * 86_400),
    reuse_grace: Duration::from_secs(10),
};
/// When the successor stored by the first rotation (at `T0`) expires.
pub(super) const SUCCESSOR_EXPIRES_AT: OffsetDateTime = datetime!(2026-01-08 00:00 UTC);

pub(super) fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// The successor the token of `generation` derives; distinct per generation.
pub(super) fn derived(generation: i64) -> TokenHash {
    TokenHash([generation as u8 + 1; 32])
}

/// A successor that no token of these tests derives.
const STRANGER: TokenHash = TokenHash([0xEE; 32]);

pub(super) fn family(current_generation: i64) -> FamilyState {
    FamilyState {
        current_generation,
        absolute_expires_at: T0 + secs(30 * 86_400),
        revoked: false,
        user_locked: false,
    }
}

pub(super) fn fresh(generation: i64) -> TokenState {
    TokenState {
        generation,
        expires_at: T0 + POLICY.idle_ttl,
        used_at: None,
        derived_successor: derived(generation),
    }
}

pub(super) fn used(generation: i64, used_at: OffsetDateTime) -> TokenState {
    TokenState {
        used_at: Some(used_at),
        ..fresh(generation)
    }
}

/// The successor stored for the token of `generation`, the one it derives.
pub(super) fn stored(generation: i64) -> Option<SuccessorState> {
    Some(SuccessorState {
        hash: derived(generation),
        expires_at: SUCCESSOR_EXPIRES_AT,
    })
}

#[test]
fn rotation_table() {
    let absolute = T0 + secs(30 * 86_400);
    let replayed = Decision::ReplayWithinGrace {
        successor_expires_at: SUCCESSOR_EXPIRES_AT,
    };
    type Case = (
        &'static str,
        TokenState,
        FamilyState,
        Option<SuccessorState>,
        OffsetDateTime,
        Decision,
    );
    let cases: Vec<Case> = vec![
        (
            "fresh newest token rotates",
            fresh(0),
            family(0),
            None,
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
            None,
            absolute - secs(3600),
            Decision::Rotate {
                successor_expires_at: absolute,
            },
        ),
        (
            "replay of the immediate predecessor inside the grace window is idempotent",
            used(0, T0),
            family(1),
            stored(0),
            T0 + secs(9),
            replayed,
        ),
        (
            "replay at the end of the grace window is reuse",
            used(0, T0),
            family(1),
            stored(0),
            T0 + secs(10),
            Decision::ReuseDetected,
        ),
        (
            "replay of an older token is reuse even inside the window",
            used(0, T0),
            family(2),
            stored(0),
            T0 + secs(1),
            Decision::ReuseDetected,
        ),
        (
            "a stored successor the token does not derive makes a replay reuse",
            used(0, T0),
            family(1),
            Some(SuccessorState {
                hash: STRANGER,
                expires_at: SUCCESSOR_EXPIRES_AT,
            }),
            T0 + secs(1),
            Decision::ReuseDetected,
        ),
        (
            "a replay whose successor is not stored cannot be answered and is reuse",
            used(0, T0),
            family(1),
            None,
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
            None,
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
            stored(0),
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
            None,
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
            stored(0),
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
            None,
            T0,
            Decision::FamilyRevoked,
        ),
        (
            "idle-expired token is invalid",
            fresh(0),
            family(0),
            None,
            T0 + POLICY.idle_ttl,
            Decision::Expired,
        ),
        (
            "family past its absolute expiry is invalid",
            fresh(0),
            family(0),
            None,
            absolute,
            Decision::Expired,
        ),
        (
            "used and stale token is still reuse",
            used(0, T0),
            family(1),
            stored(0),
            T0 + POLICY.idle_ttl + secs(1),
            Decision::ReuseDetected,
        ),
    ];
    for (name, token, family, successor, now, expected) in cases {
        assert_eq!(
            decide(token, family, successor, now, POLICY),
            expected,
            "{name}"
        );
    }
}

#[test]
fn zero_grace_disables_the_window() {
    let policy = RotationPolicy {
        reuse_grace: Duration::ZERO,
        ..POLICY
    };
    assert_eq!(
        decide(used(0, T0), family(1), stored(0), T0, policy),
        Decision::ReuseDetected
    );
}

proptest! {
    /// Whatever the timing and whatever successor is stored, a used token never yields a
    /// second, different successor: it is either a replay of the one it derives, answered
    /// with that one's expiry, or it kills the family.
    #[test]
    fn a_used_token_never_rotates_again(
        generation in 0i64..50, ahead in 1i64..3, used_after in 0u64..100,
        presented_after in 0u64..100, grace in 0u64..30,
        successor in prop_oneof![Just(None), Just(Some(true)), Just(Some(false))],
    ) {
        let policy = RotationPolicy { reuse_grace: secs(grace), ..POLICY };
        let used_at = T0 + secs(used_after);
        let now = used_at + secs(presented_after);
        let successor = successor.map(|derives| SuccessorState {
            hash: if derives { derived(generation) } else { STRANGER },
            expires_at: SUCCESSOR_EXPIRES_AT,
        });
        let decision = decide(
            used(generation, used_at), family(generation + ahead), successor, now, policy,
        );
        prop_assert!(
            matches!(decision, Decision::ReplayWithinGrace { .. } | Decision::ReuseDetected),
            "{:?}", decision
        );
        if let Decision::ReplayWithinGrace { successor_expires_at } = decision {
            prop_assert_eq!(ahead, 1);
            prop_assert!(presented_after < grace);
            prop_assert_eq!(successor.map(|s| s.hash), Some(derived(generation)));
            prop_assert_eq!(successor_expires_at, SUCCESSOR_EXPIRES_AT);
        }
    }

    /// A rotation never extends the family beyond its absolute expiry.
    #[test]
    fn successors_never_outlive_the_family(elapsed in 0u64..(31 * 86_400)) {
        let now = T0 + secs(elapsed);
        let token = TokenState { expires_at: now + secs(1), ..fresh(0) };
        if let Decision::Rotate { successor_expires_at } =
            decide(token, family(0), None, now, POLICY)
        {
            prop_assert!(successor_expires_at <= family(0).absolute_expires_at);
            prop_assert!(successor_expires_at > now);
        }
    }
}
