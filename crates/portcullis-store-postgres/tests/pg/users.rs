//! Accounts: insert, lookup, the email constraint, and the connection-level failure modes.

use crate::helpers::{now, user, TestDb};
use portcullis_core::{Durable, StoreError, UserId, UserStore};
use portcullis_store_postgres::{PgOptions, PgStore};
use std::time::{Duration, Instant};

#[tokio::test]
async fn an_inserted_user_is_found_by_email_and_by_id() {
    let db = TestDb::new().await;
    let alice = user("alice@example.com", now());
    db.store.insert_user(&alice).await.unwrap();

    for found in [
        db.store.user_by_email("alice@example.com").await.unwrap(),
        db.store.user_by_id(alice.id).await.unwrap(),
    ] {
        let found = found.unwrap();
        assert_eq!(found.id, alice.id);
        assert_eq!(found.email, alice.email);
        assert_eq!(found.password_hash, alice.password_hash);
        assert_eq!(found.roles, alice.roles);
        assert_eq!(found.token_version, 0);
        assert!(!found.locked);
        assert_eq!(found.created_at, alice.created_at);
    }
    assert!(db
        .store
        .user_by_email("bob@example.com")
        .await
        .unwrap()
        .is_none());
    assert!(db.store.user_by_id(UserId::new()).await.unwrap().is_none());
    db.store.ping().await.unwrap();
}

#[tokio::test]
async fn a_second_account_with_the_same_email_is_email_taken() {
    let db = TestDb::new().await;
    db.store
        .insert_user(&user("alice@example.com", now()))
        .await
        .unwrap();
    let error = db
        .store
        .insert_user(&user("alice@example.com", now()))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::EmailTaken), "{error:?}");

    // A duplicate id is a bug, not a client error.
    let bob = user("bob@example.com", now());
    db.store.insert_user(&bob).await.unwrap();
    let clash = portcullis_core::User {
        email: "carol@example.com".into(),
        ..bob
    };
    let error = db.store.insert_user(&clash).await.unwrap_err();
    assert!(matches!(error, StoreError::Backend(_)), "{error:?}");
}

#[tokio::test]
async fn locking_and_password_changes_apply_to_existing_users_only() {
    let db = TestDb::new().await;
    let alice = user("alice@example.com", now());
    db.store.insert_user(&alice).await.unwrap();

    assert!(db.store.set_locked(alice.id, true).await.unwrap());
    assert!(!db.store.set_locked(UserId::new(), true).await.unwrap());
    db.store
        .set_password_hash(alice.id, "new-hash")
        .await
        .unwrap();

    let found = db.store.user_by_id(alice.id).await.unwrap().unwrap();
    assert!(found.locked);
    assert_eq!(found.password_hash, "new-hash");
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_quickly() {
    let started = Instant::now();
    let options = PgOptions {
        acquire_timeout: Duration::from_millis(500),
        ..PgOptions::default()
    };
    let result = PgStore::connect("postgres://postgres@127.0.0.1:1/none", options).await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{:?}",
        result.err()
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}
