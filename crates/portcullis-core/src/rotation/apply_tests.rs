//! Tests of [`apply`]: each decision makes exactly its one write, against a fake backend that
//! records what it was asked; the decisions themselves are tested in `tests.rs`.

use super::tests::*;
use super::*;

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
        RotationOutcome::Expired => ("expired", None, None),
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
        (Decision::Expired, false, vec![], ("expired", None, None)),
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
