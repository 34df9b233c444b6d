//! The revocation log under what only Postgres has: writers committing concurrently while a
//! reader follows the log, and transactions that fail or roll back after touching it. What every
//! write logs is in the contract (`contract.rs`), shared with SQLite.

use crate::helpers::{login, now, secs, TestDb};
use portcullis_core::{
    LogRead, RevocationChange, RevocationLog, RevocationProbe, RevocationReason, RevocationStore,
    SessionId, SessionStore, StoreError, UserId,
};
use portcullis_store_contract::fixtures::open_session;
use portcullis_store_postgres::{PgOptions, PgStore};
use sqlx::Connection;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// What a reader following the log saw.
struct Followed {
    /// Every change, in the order read.
    seen: Vec<RevocationChange>,
    /// Reads that found entries while writers were still committing.
    reads_during_writes: usize,
}

/// Follows the log from the start, a few entries per read as a replica would, until `finished`
/// was set before a read that found nothing new.
async fn follow(store: PgStore, finished: Arc<AtomicBool>) -> Followed {
    let (mut position, mut seen, mut reads_during_writes) = (0, Vec::new(), 0);
    loop {
        let last_round = finished.load(Ordering::SeqCst);
        let read = store.revocation_log_since(position, 5).await;
        let Ok(LogRead::Entries { changes, through }) = read else {
            panic!("reading after {position}: {read:?}; nothing was purged");
        };
        assert_eq!(
            through - position,
            changes.len() as i64,
            "one change per number"
        );
        if !last_round && !changes.is_empty() {
            reads_during_writes += 1;
        }
        seen.extend(changes);
        if through == position {
            if last_round {
                return Followed {
                    seen,
                    reads_during_writes,
                };
            }
            tokio::task::yield_now().await;
        }
        position = through;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reader_following_concurrent_revocations_sees_every_entry_once_in_order() {
    let db = TestDb::new().await;
    let t0 = now();
    let until = t0 + secs(900);
    const USERS: usize = 20;
    const JTIS_PER_WRITER: usize = 40;
    let mut users: Vec<(UserId, Vec<SessionId>)> = Vec::new();
    for _ in 0..USERS {
        let (user, first, _) = login(&db.store, t0).await;
        let (second, _) = open_session(&db.store, user.id, t0).await;
        users.push((user.id, vec![first.id, second.id]));
    }
    let users = Arc::new(users);

    let finished = Arc::new(AtomicBool::new(false));
    let reader = tokio::spawn(follow(db.store.clone(), Arc::clone(&finished)));
    // Writers that take the same rows in different orders: one session at a time (family row,
    // then the log's head) against a whole user (user row, head, family rows), each walking
    // the users from its own end, with jti denials committing in between.
    let mut writers = Vec::new();
    for writer in 0..6 {
        let (store, users) = (db.store.clone(), Arc::clone(&users));
        writers.push(tokio::spawn(async move {
            let order: Vec<usize> = if writer % 2 == 0 {
                (0..USERS).collect()
            } else {
                (0..USERS).rev().collect()
            };
            match writer / 2 {
                0 => {
                    for &index in &order {
                        for &session in &users[index].1 {
                            store
                                .revoke_session(session, None, RevocationReason::Logout, until, t0)
                                .await
                                .unwrap();
                        }
                    }
                }
                1 => {
                    for &index in &order {
                        let reason = RevocationReason::UserRevoked;
                        store
                            .revoke_user(users[index].0, false, reason, until, t0)
                            .await
                            .unwrap();
                    }
                }
                _ => {
                    for _ in 0..JTIS_PER_WRITER {
                        store.deny_jti(Uuid::new_v4(), until).await.unwrap();
                    }
                }
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    finished.store(true, Ordering::SeqCst);
    let Followed {
        seen,
        reads_during_writes,
    } = reader.await.unwrap();
    assert!(
        reads_during_writes > 1,
        "the reader kept up with the writers"
    );

    // Every session is denied once, by whichever writer got to it first; every user's version
    // was raised by both user writers; every jti once.
    let expected = USERS * 2 + USERS * 2 + 2 * JTIS_PER_WRITER;
    let head = db.store.revocation_log_head().await.unwrap();
    assert_eq!(head, i64::try_from(expected).unwrap());
    assert_eq!(
        seen.len(),
        expected,
        "one change per number, 1 through the head"
    );
    // The same entries, in the same order, as one read of the settled log.
    let LogRead::Entries { changes, through } =
        db.store.revocation_log_since(0, 10_000).await.unwrap()
    else {
        panic!("nothing was purged");
    };
    assert_eq!(through, head);
    assert_eq!(seen, changes);
    let snapshot = db.store.revocation_snapshot(t0).await.unwrap();
    assert_eq!(snapshot.len(), expected - USERS, "one version per user");
    for fact in &snapshot {
        assert!(seen.contains(fact), "{fact:?} was not seen");
    }
}

#[tokio::test]
async fn a_rolled_back_revocation_leaves_neither_an_entry_nor_a_hole() {
    let db = TestDb::new().await;
    let (user, _, _) = login(&db.store, now()).await;

    let mut conn = db.connection().await;
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("UPDATE users SET token_version = token_version + 1 WHERE id = $1")
        .bind(user.id.0)
        .execute(&mut *tx)
        .await
        .unwrap();
    // Fires the deferred trigger now rather than at commit: the entry is numbered, then undone.
    sqlx::query("SET CONSTRAINTS ALL IMMEDIATE")
        .execute(&mut *tx)
        .await
        .unwrap();
    let numbered: i64 = sqlx::query_scalar("SELECT epoch FROM revocation_log_head")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(numbered, 1);
    tx.rollback().await.unwrap();
    conn.close().await.ok();

    assert_eq!(db.store.revocation_log_head().await.unwrap(), 0);
    let jti = Uuid::new_v4();
    let until = now() + secs(60);
    db.store.deny_jti(jti, until).await.unwrap();
    assert_eq!(
        db.store.revocation_log_since(0, 10).await.unwrap(),
        LogRead::Entries {
            changes: vec![RevocationChange::JtiDenied { jti, until }],
            through: 1
        },
        "the next fact takes the number back"
    );
}

#[tokio::test]
async fn a_revocation_that_cannot_number_its_entry_is_not_stored_either() {
    let db = TestDb::with_options(PgOptions {
        statement_timeout: Duration::from_millis(200),
        ..PgOptions::default()
    })
    .await;
    let mut holder = db.connection().await;
    let mut tx = holder.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM revocation_log_head FOR UPDATE")
        .execute(&mut *tx)
        .await
        .unwrap();

    let jti = Uuid::new_v4();
    let t0 = now();
    let error = db.store.deny_jti(jti, t0 + secs(60)).await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    tx.rollback().await.unwrap();
    holder.close().await.ok();

    let probe = RevocationProbe {
        user: UserId::new(),
        session: SessionId::new(),
        jti,
        kid: Uuid::new_v4(),
    };
    let state = db.store.revocation_state(&probe, t0).await.unwrap();
    assert!(!state.jti_denied, "the denial went with its entry");
    assert_eq!(db.store.revocation_log_head().await.unwrap(), 0);
}
