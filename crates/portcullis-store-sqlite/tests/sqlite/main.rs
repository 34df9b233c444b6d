//! The storage contract (`portcullis-store-contract`) against the embedded tier: the SQLite store
//! on a fresh temp file per test (also as the single-use store), and the in-process revocation
//! cache.

use portcullis_store_sqlite::{MemoryRevocationCache, SqliteStore};
use tempfile::TempDir;

/// A fresh, migrated database file, deleted with its directory when this value is dropped.
struct TestFile {
    store: SqliteStore,
    _dir: TempDir,
}

impl TestFile {
    async fn new() -> Self {
        let dir =
            tempfile::tempdir().unwrap_or_else(|error| panic!("cannot create a temp dir: {error}"));
        let store = SqliteStore::open(&dir.path().join("portcullis.db"))
            .await
            .unwrap_or_else(|error| panic!("cannot open the test database: {error}"));
        store
            .migrate()
            .await
            .unwrap_or_else(|error| panic!("cannot migrate the test database: {error}"));
        Self { store, _dir: dir }
    }
}

mod durable {
    use super::TestFile;

    portcullis_store_contract::durable_contract!(
        fixture: TestFile::new().await,
        store: |db| &db.store
    );
}

mod single_use {
    use super::TestFile;

    portcullis_store_contract::single_use_contract!(
        fixture: TestFile::new().await,
        store: |db| &db.store
    );
}

mod memory_cache {
    use super::MemoryRevocationCache;

    portcullis_store_contract::cache_contract!(
        fixture: MemoryRevocationCache::new(),
        store: |cache| &cache
    );
}

/// Kept out of the macro's list only because Postgres runs it on its own, too.
#[tokio::test]
async fn a_duplicate_user_id_is_a_backend_error_not_email_taken() {
    let db = TestFile::new().await;
    portcullis_store_contract::durable::a_duplicate_user_id_is_a_backend_error_not_email_taken(
        &db.store,
    )
    .await;
}

/// SQLite-only: the production tier's single-use keys are Redis's, which drops them itself.
#[tokio::test]
async fn the_retention_pass_deletes_lapsed_single_use_keys_and_keeps_live_ones() {
    use portcullis_core::retention::{Cutoffs, Purged};
    use portcullis_core::{RetentionStore, SingleUse, SingleUseKey};
    use portcullis_store_contract::fixtures::{now, secs};

    let db = TestFile::new().await;
    let t0 = now();
    let lapsed = SingleUseKey::dbsc_challenge("lapsed").unwrap();
    let live = SingleUseKey::dbsc_challenge("live").unwrap();
    assert!(db
        .store
        .first_use(&lapsed, t0 + secs(60), t0)
        .await
        .unwrap());
    assert!(db.store.first_use(&live, t0 + secs(600), t0).await.unwrap());
    let at = t0 + secs(300);
    let cutoffs = Cutoffs {
        family_ended_before: t0,
        revoked_before: t0,
        denial_lapsed_before: t0,
        jti_lapsed_before: at,
        events_before: None,
        revocation_log_before: t0,
    };
    assert!(cutoffs.single_use_may_go(t0 + secs(60)));
    let purged = db.store.purge(&cutoffs, 1).await.unwrap();
    assert_eq!(
        purged,
        Some(Purged {
            single_uses: 1,
            ..Purged::default()
        })
    );
    // The live key is still remembered; the lapsed one is gone, so take cannot find it.
    assert!(!db.store.first_use(&live, t0 + secs(600), at).await.unwrap());
    assert!(!db.store.take(&lapsed, t0).await.unwrap());
}
