//! Signing keys: one first key however many replicas race. The audit trail is in the contract
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
