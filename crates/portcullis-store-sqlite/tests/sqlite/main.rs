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
