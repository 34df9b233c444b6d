//! Refresh rotation through every outcome of the core's decision.

use crate::fixtures::{login, now, random_hash, request, secs, DAY, POLICY};
use portcullis_core::{RevocationReason, RotationOutcome, SessionStore, UserStore};

pub async fn a_fresh_token_rotates_to_one_successor_that_rotates_in_turn(
    store: &(impl UserStore + SessionStore + ?Sized),
) {
    let t0 = now();
    let (user, family, first) = login(store, t0).await;
    let second = random_hash();

    let outcome = store
        .rotate(&request(first, second, t0 + secs(5)))
        .await
        .unwrap();
    let RotationOutcome::Rotated {
        user: rotated_user,
        family: rotated,
        successor_expires_at,
    } = outcome
    else {
        panic!("expected Rotated, got {outcome:?}");
    };
    assert_eq!(rotated_user.id, user.id);
    assert_eq!(rotated.id, family.id);
    assert_eq!(rotated.current_generation, 1);
    assert_eq!(rotated.last_used_at, t0 + secs(5));
    assert_eq!(rotated.idle_expires_at, successor_expires_at);
    assert_eq!(successor_expires_at, t0 + secs(5) + POLICY.idle_ttl);
    assert_eq!(rotated.last_client.ip.as_deref(), Some("10.0.0.2"));

    let third = random_hash();
    let outcome = store
        .rotate(&request(second, third, t0 + secs(6)))
        .await
        .unwrap();
    assert!(
        matches!(&outcome, RotationOutcome::Rotated { family, .. } if family.current_generation == 2),
        "{outcome:?}"
    );
}

pub async fn a_replay_within_the_grace_window_returns_the_same_successor(
    store: &(impl UserStore + SessionStore + ?Sized),
) {
    let t0 = now();
    let (_, family, first) = login(store, t0).await;
    let second = random_hash();
    store.rotate(&request(first, second, t0)).await.unwrap();

    let outcome = store
        .rotate(&request(first, second, t0 + secs(3)))
        .await
        .unwrap();
    let RotationOutcome::Replayed {
        family: replayed,
        successor_expires_at,
        ..
    } = outcome
    else {
        panic!("expected Replayed, got {outcome:?}");
    };
    assert_eq!(replayed.id, family.id);
    assert_eq!(replayed.current_generation, 1);
    assert!(replayed.revoked_at.is_none());
    assert_eq!(successor_expires_at, t0 + POLICY.idle_ttl);
}

pub async fn reuse_after_the_grace_window_revokes_the_family(
    store: &(impl UserStore + SessionStore + ?Sized),
) {
    let t0 = now();
    let (_, family, first) = login(store, t0).await;
    let second = random_hash();
    store.rotate(&request(first, second, t0)).await.unwrap();

    let late = request(first, second, t0 + secs(60));
    let outcome = store.rotate(&late).await.unwrap();
    let RotationOutcome::ReuseDetected { family: revoked } = outcome else {
        panic!("expected ReuseDetected, got {outcome:?}");
    };
    assert_eq!(revoked.id, family.id);
    assert_eq!(revoked.revoked_at, Some(late.now));
    assert_eq!(
        revoked.revoked_reason,
        Some(RevocationReason::RefreshTokenReused)
    );
    // The legitimate holder's last use, not the replayer's.
    assert_eq!(revoked.last_client.ip.as_deref(), Some("10.0.0.2"));

    // The successor is dead too: the whole family went.
    let outcome = store
        .rotate(&request(second, random_hash(), t0 + secs(61)))
        .await
        .unwrap();
    assert!(
        matches!(outcome, RotationOutcome::FamilyRevoked { .. }),
        "{outcome:?}"
    );
}

pub async fn a_replay_deriving_a_different_successor_is_reuse(
    store: &(impl UserStore + SessionStore + ?Sized),
) {
    let t0 = now();
    let (_, _, first) = login(store, t0).await;
    store
        .rotate(&request(first, random_hash(), t0))
        .await
        .unwrap();
    let outcome = store
        .rotate(&request(first, random_hash(), t0 + secs(1)))
        .await
        .unwrap();
    assert!(
        matches!(outcome, RotationOutcome::ReuseDetected { .. }),
        "{outcome:?}"
    );
}

pub async fn a_token_of_a_revoked_family_is_refused_with_the_family(
    store: &(impl UserStore + SessionStore + ?Sized),
) {
    let t0 = now();
    let (_, family, first) = login(store, t0).await;
    store
        .revoke_session(
            family.id,
            None,
            RevocationReason::Logout,
            t0 + secs(900),
            t0,
        )
        .await
        .unwrap()
        .unwrap();

    let outcome = store
        .rotate(&request(first, random_hash(), t0 + secs(1)))
        .await
        .unwrap();
    let RotationOutcome::FamilyRevoked { family: revoked } = outcome else {
        panic!("expected FamilyRevoked, got {outcome:?}");
    };
    assert_eq!(revoked.revoked_reason, Some(RevocationReason::Logout));
}

pub async fn a_token_of_a_locked_user_ends_its_family(
    store: &(impl UserStore + SessionStore + ?Sized),
) {
    let t0 = now();
    let (user, family, first) = login(store, t0).await;
    // Locked without revoking: the family reaches rotation and is ended there.
    assert!(store.set_locked(user.id, true).await.unwrap());

    let presented = request(first, random_hash(), t0 + secs(1));
    let outcome = store.rotate(&presented).await.unwrap();
    let RotationOutcome::UserLocked { family: ended } = outcome else {
        panic!("expected UserLocked, got {outcome:?}");
    };
    assert_eq!(ended.id, family.id);
    assert_eq!(ended.revoked_at, Some(presented.now));
    assert_eq!(ended.revoked_reason, Some(RevocationReason::UserLocked));
    assert!(store
        .live_sessions(user.id, t0 + secs(1))
        .await
        .unwrap()
        .is_empty());

    // Unlocking does not bring the family back.
    store.set_locked(user.id, false).await.unwrap();
    let outcome = store
        .rotate(&request(first, random_hash(), t0 + secs(2)))
        .await
        .unwrap();
    assert!(
        matches!(outcome, RotationOutcome::FamilyRevoked { .. }),
        "{outcome:?}"
    );
}

pub async fn unknown_tokens_are_invalid_and_expired_ones_expired(
    store: &(impl UserStore + SessionStore + ?Sized),
) {
    let t0 = now();
    let (_, _, first) = login(store, t0).await;

    let unknown = store
        .rotate(&request(random_hash(), random_hash(), t0))
        .await
        .unwrap();
    assert!(matches!(unknown, RotationOutcome::Invalid), "{unknown:?}");

    let idle_expired = request(first, random_hash(), t0 + POLICY.idle_ttl);
    let outcome = store.rotate(&idle_expired).await.unwrap();
    assert!(matches!(outcome, RotationOutcome::Expired), "{outcome:?}");

    let family_expired = request(first, random_hash(), t0 + secs(31 * DAY));
    let outcome = store.rotate(&family_expired).await.unwrap();
    assert!(matches!(outcome, RotationOutcome::Expired), "{outcome:?}");

    // Nothing was written by any of them: the token still rotates.
    let outcome = store
        .rotate(&request(first, random_hash(), t0 + secs(1)))
        .await
        .unwrap();
    assert!(
        matches!(outcome, RotationOutcome::Rotated { .. }),
        "{outcome:?}"
    );
}
