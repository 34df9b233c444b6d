//! Tests of `rotation.rs`, kept beside it so the rules read without them.

use super::*;
use proptest::prelude::*;
use time::macros::datetime;

const T0: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);
const POLICY: RotationPolicy = RotationPolicy {
    idle_ttl: Duration::from_secs(7 * 86_400),
    reuse_grace: Duration::from_secs(10),
};
/// When the successor stored by the first rotation (at `T0`) expires.
const SUCCESSOR_EXPIRES_AT: OffsetDateTime = datetime!(2026-01-08 00:00 UTC);

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// The successor the token of `generation` derives; distinct per generation.
fn derived(generation: i64) -> TokenHash {
    TokenHash([generation as u8 + 1; 32])
}

/// A successor that no token of these tests derives.
const STRANGER: TokenHash = TokenHash([0xEE; 32]);

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
        derived_successor: derived(generation),
    }
}

fn used(generation: i64, used_at: OffsetDateTime) -> TokenState {
    TokenState {
        used_at: Some(used_at),
        ..fresh(generation)
    }
}

/// The successor stored for the token of `generation`, the one it derives.
fn stored(generation: i64) -> Option<SuccessorState> {
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

/// What [`apply`] asked of the fake backend.
#[derive(Debug, PartialEq)]
enum Call {
    Rotate(OffsetDateTime),
    Revoke(RevocationReason),
}

/// Records the writes and answers like a store; `vanished` makes a revoke find no family.
struct FakeWrites {
    family: Family,
    vanished: bool,
    calls: Vec<Call>,
}

#[async_trait]
impl RotationWrites for FakeWrites {
    async fn rotate(&mut self, successor_expires_at: OffsetDateTime) -> StoreResult<Family> {
        self.calls.push(Call::Rotate(successor_expires_at));
        Ok(Family {
            current_generation: self.family.current_generation + 1,
            idle_expires_at: successor_expires_at,
            ..self.family.clone()
        })
    }

    async fn revoke_family(
        &mut self,
        family: SessionId,
        reason: RevocationReason,
    ) -> StoreResult<Option<Family>> {
        assert_eq!(family, self.family.id, "the family that was read");
        self.calls.push(Call::Revoke(reason));
        Ok((!self.vanished).then(|| Family {
            revoked_at: Some(T0),
            revoked_reason: Some(reason),
            ..self.family.clone()
        }))
    }
}

/// The fake's futures never wait, so one poll runs them to the end.
fn run<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("the fake writes never wait"),
    }
}

fn stored_family() -> Family {
    Family {
        id: SessionId(uuid::Uuid::from_u128(7)),
        user_id: crate::UserId(uuid::Uuid::nil()),
        created_at: T0,
        last_used_at: T0,
        idle_expires_at: T0 + POLICY.idle_ttl,
        absolute_expires_at: T0 + secs(30 * 86_400),
        current_generation: 1,
        last_client: crate::ClientInfo {
            ip: None,
            user_agent: None,
        },
        revoked_at: None,
        revoked_reason: None,
    }
}

fn user() -> User {
    User {
        id: crate::UserId(uuid::Uuid::nil()),
        email: "ada@example.com".into(),
        password_hash: String::new(),
        roles: Vec::new(),
        token_version: 0,
        locked: false,
        created_at: T0,
    }
}

/// The variant, the family's generation and revocation, and the successor's expiry.
type Answer = (
    &'static str,
    Option<(i64, Option<RevocationReason>)>,
    Option<OffsetDateTime>,
);

fn answer(outcome: &RotationOutcome) -> Answer {
    let of = |family: &Family| Some((family.current_generation, family.revoked_reason));
    match outcome {
        RotationOutcome::Rotated {
            family,
            successor_expires_at,
            ..
        } => ("rotated", of(family), Some(*successor_expires_at)),
        RotationOutcome::Replayed {
            family,
            successor_expires_at,
            ..
        } => ("replayed", of(family), Some(*successor_expires_at)),
        RotationOutcome::ReuseDetected { family } => ("reuse_detected", of(family), None),
        RotationOutcome::FamilyRevoked { family } => ("family_revoked", of(family), None),
        RotationOutcome::UserLocked { family } => ("user_locked", of(family), None),
        RotationOutcome::Invalid => ("invalid", None, None),
    }
}

#[test]
fn each_decision_makes_exactly_its_write_and_answers_with_the_family_after_it() {
    let at = T0 + POLICY.idle_ttl;
    let reused = RevocationReason::RefreshTokenReused;
    let locked = RevocationReason::UserLocked;
    let cases: Vec<(Decision, bool, Vec<Call>, Answer)> = vec![
        (
            Decision::Rotate {
                successor_expires_at: at,
            },
            false,
            vec![Call::Rotate(at)],
            ("rotated", Some((2, None)), Some(at)),
        ),
        (
            Decision::ReplayWithinGrace {
                successor_expires_at: at,
            },
            false,
            vec![],
            ("replayed", Some((1, None)), Some(at)),
        ),
        (
            Decision::ReuseDetected,
            false,
            vec![Call::Revoke(reused)],
            ("reuse_detected", Some((1, Some(reused))), None),
        ),
        (
            Decision::ReuseDetected,
            true,
            vec![Call::Revoke(reused)],
            ("reuse_detected", Some((1, None)), None),
        ),
        (
            Decision::FamilyRevoked,
            false,
            vec![],
            ("family_revoked", Some((1, None)), None),
        ),
        (
            Decision::UserLocked,
            false,
            vec![Call::Revoke(locked)],
            ("user_locked", Some((1, Some(locked))), None),
        ),
        (
            Decision::UserLocked,
            true,
            vec![Call::Revoke(locked)],
            ("user_locked", Some((1, None)), None),
        ),
        (Decision::Expired, false, vec![], ("invalid", None, None)),
    ];
    for (decision, vanished, calls, expected) in cases {
        let mut writes = FakeWrites {
            family: stored_family(),
            vanished,
            calls: Vec::new(),
        };
        let outcome = run(apply(&mut writes, decision, user(), stored_family()));
        let outcome = outcome.unwrap_or_else(|error| panic!("{decision:?}: {error}"));
        assert_eq!(writes.calls, calls, "{decision:?} (vanished: {vanished})");
        assert_eq!(
            answer(&outcome),
            expected,
            "{decision:?} (vanished: {vanished})"
        );
    }
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
