//! Signing keys: one first key however many replicas race, and one scheduled rotation however
//! many replicas find it due at once. The audit trail is in the contract
//! (`contract.rs`), shared with SQLite.

use crate::helpers::{now, secs, TestDb};
use portcullis_core::{SigningKeyStore, StoredSigningKey};
use sqlx::Connection;

fn candidate(kid: &str, alg: &str) -> StoredSigningKey {
    StoredSigningKey {
        kid: kid.to_owned(),
        alg: alg.to_owned(),
        public_key: vec![1, 2, 3],
        encrypted_private_key: kid.as_bytes().to_vec(),
        created_at: now(),
        activates_at: now(),
        retired_at: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_ensuring_a_key_together_agree_on_exactly_one() {
    let db = TestDb::new().await;
    let racers = (0..8).map(|i| {
        let store = db.store.clone();
        tokio::spawn(async move {
            store
                .ensure_signing_key(&candidate(&format!("kid-{i}"), "EdDSA"))
                .await
        })
    });
    let answers = futures::future::join_all(racers).await;
    let kids: Vec<Vec<String>> = answers
        .into_iter()
        .map(|answer| {
            answer
                .unwrap()
                .unwrap()
                .into_iter()
                .map(|key| key.kid)
                .collect()
        })
        .collect();
    assert_eq!(kids[0].len(), 1);
    assert!(kids.iter().all(|k| *k == kids[0]), "{kids:?}");

    let mut conn = db.connection().await;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM signing_keys")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(count, 1);
    conn.close().await.ok();

    // Another algorithm gets its own key; keys come back newest first, private half intact.
    let mut es256 = candidate("kid-es", "ES256");
    es256.created_at = now() + secs(1);
    let keys = db.store.ensure_signing_key(&es256).await.unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].kid, "kid-es");
    assert_eq!(keys[0].encrypted_private_key, b"kid-es".to_vec());
    assert_eq!(keys[0].created_at, es256.created_at);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_finding_a_rotation_due_together_make_exactly_one_key() {
    let db = TestDb::new().await;
    db.store
        .ensure_signing_key(&candidate("kid-first", "EdDSA"))
        .await
        .unwrap();
    // Every racer finds the first key older than the period and tries to add the next one.
    let since = now() + secs(1);
    for round in 0..5 {
        let racers = (0..8).map(|i| {
            let store = db.store.clone();
            let mut key = candidate(&format!("kid-{round}-{i}"), "EdDSA");
            key.created_at = since + secs(round + 1);
            tokio::spawn(async move {
                store
                    .add_signing_key(&key, Some(since + secs(round + 1)))
                    .await
            })
        });
        let added = futures::future::join_all(racers)
            .await
            .into_iter()
            .filter(|answer| *answer.as_ref().unwrap().as_ref().unwrap())
            .count();
        assert_eq!(added, 1, "round {round}");
    }
    assert_eq!(db.store.signing_keys().await.unwrap().len(), 6);
}
