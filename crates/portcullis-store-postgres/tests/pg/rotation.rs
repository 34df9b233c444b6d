//! Refresh rotation through every outcome of the core's decision, and under concurrency.

use crate::helpers::{login, now, random_hash, request, secs, TestDb};
use portcullis_core::{RevocationReason, RotationOutcome, SessionStore, StoreError};
use portcullis_store_postgres::PgOptions;
use sqlx::Connection;
use std::time::Duration;

#[tokio::test]
async fn a_fresh_token_rotates_to_one_successor_that_rotates_in_turn() {
    let db = TestDb::new().await;
    let t0 = now();
    let (user, family, first) = login(&db.store, t0).await;
    let second = random_hash();

    let outcome = db
        .store
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
    assert_eq!(rotated.last_client.ip.as_deref(), Some("10.0.0.2"));

    let third = random_hash();
    let outcome = db
        .store
        .rotate(&request(second, third, t0 + secs(6)))
        .await
        .unwrap();
    assert!(
        matches!(&outcome, RotationOutcome::Rotated { family, .. } if family.current_generation == 2),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_replay_within_the_grace_window_returns_the_same_successor() {
    let db = TestDb::new().await;
    let t0 = now();
    let (_, family, first) = login(&db.store, t0).await;
    let second = random_hash();
    db.store.rotate(&request(first, second, t0)).await.unwrap();

    let outcome = db
        .store
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
    assert_eq!(successor_expires_at, t0 + crate::helpers::POLICY.idle_ttl);
}

#[tokio::test]
async fn reuse_after_the_grace_window_revokes_the_family() {
    let db = TestDb::new().await;
    let t0 = now();
    let (_, family, first) = login(&db.store, t0).await;
    let second = random_hash();
    db.store.rotate(&request(first, second, t0)).await.unwrap();

    let late = request(first, second, t0 + secs(60));
    let outcome = db.store.rotate(&late).await.unwrap();
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
    let outcome = db
        .store
        .rotate(&request(second, random_hash(), t0 + secs(61)))
        .await
        .unwrap();
    assert!(
        matches!(outcome, RotationOutcome::FamilyRevoked { .. }),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_replay_deriving_a_different_successor_is_reuse() {
    let db = TestDb::new().await;
    let t0 = now();
    let (_, _, first) = login(&db.store, t0).await;
    db.store
        .rotate(&request(first, random_hash(), t0))
        .await
        .unwrap();
    let outcome = db
        .store
        .rotate(&request(first, random_hash(), t0 + secs(1)))
        .await
        .unwrap();
    assert!(
        matches!(outcome, RotationOutcome::ReuseDetected { .. }),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_token_of_a_revoked_family_is_refused_with_the_family() {
    let db = TestDb::new().await;
    let t0 = now();
    let (_, family, first) = login(&db.store, t0).await;
    db.store
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

    let outcome = db
        .store
        .rotate(&request(first, random_hash(), t0 + secs(1)))
        .await
        .unwrap();
    let RotationOutcome::FamilyRevoked { family: revoked } = outcome else {
        panic!("expected FamilyRevoked, got {outcome:?}");
    };
    assert_eq!(revoked.revoked_reason, Some(RevocationReason::Logout));
}

#[tokio::test]
async fn unknown_and_expired_tokens_are_invalid() {
    let db = TestDb::new().await;
    let t0 = now();
    let (_, _, first) = login(&db.store, t0).await;

    let unknown = db
        .store
        .rotate(&request(random_hash(), random_hash(), t0))
        .await
        .unwrap();
    assert!(matches!(unknown, RotationOutcome::Invalid), "{unknown:?}");

    let idle_expired = request(first, random_hash(), t0 + crate::helpers::POLICY.idle_ttl);
    let outcome = db.store.rotate(&idle_expired).await.unwrap();
    assert!(matches!(outcome, RotationOutcome::Invalid), "{outcome:?}");

    let family_expired = request(first, random_hash(), t0 + secs(31 * 86_400));
    let outcome = db.store.rotate(&family_expired).await.unwrap();
    assert!(matches!(outcome, RotationOutcome::Invalid), "{outcome:?}");

    // Nothing was written by any of them: the token still rotates.
    let outcome = db
        .store
        .rotate(&request(first, random_hash(), t0 + secs(1)))
        .await
        .unwrap();
    assert!(
        matches!(outcome, RotationOutcome::Rotated { .. }),
        "{outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_rotations_of_one_token_store_exactly_one_successor() {
    let db = TestDb::new().await;
    let t0 = now();
    let (_, family, first) = login(&db.store, t0).await;
    let successor = random_hash();

    let attempts = (0..50).map(|_| {
        let store = db.store.clone();
        tokio::spawn(async move { store.rotate(&request(first, successor, t0)).await })
    });
    let outcomes = futures::future::join_all(attempts).await;
    let (mut rotated, mut replayed) = (0, 0);
    for outcome in outcomes {
        match outcome.unwrap().unwrap() {
            RotationOutcome::Rotated { .. } => rotated += 1,
            RotationOutcome::Replayed { .. } => replayed += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!((rotated, replayed), (1, 49));

    let mut conn = db.connection().await;
    let (tokens, successors): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE generation = 1) FROM refresh_tokens \
         WHERE family_id = $1",
    )
    .bind(family.id.0)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!((tokens, successors), (2, 1));
    conn.close().await.ok();
}

#[tokio::test]
async fn a_rotation_stuck_behind_a_lock_times_out_as_unavailable() {
    let db = TestDb::with_options(PgOptions {
        statement_timeout: Duration::from_millis(200),
        ..PgOptions::default()
    })
    .await;
    let t0 = now();
    let (_, family, first) = login(&db.store, t0).await;

    let mut holder = db.connection().await;
    let mut tx = holder.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM refresh_families WHERE id = $1 FOR UPDATE")
        .bind(family.id.0)
        .execute(&mut *tx)
        .await
        .unwrap();

    let error = db
        .store
        .rotate(&request(first, random_hash(), t0))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    tx.rollback().await.unwrap();
    holder.close().await.ok();
}
