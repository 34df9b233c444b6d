//! Refresh rotation under concurrency and behind a held lock; every outcome of the core's
//! decision is in the contract (`contract.rs`), shared with SQLite.

use crate::helpers::{login, now, random_hash, request, TestDb};
use portcullis_core::{RotationOutcome, SessionStore, StoreError};
use portcullis_store_postgres::PgOptions;
use sqlx::Connection;
use std::time::Duration;

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
