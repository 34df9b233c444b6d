//! The storage contract (`portcullis-store-contract`), shared with the SQLite store, against
//! Postgres: one fresh database per case.

use crate::helpers::TestDb;

portcullis_store_contract::durable_contract!(fixture: TestDb::new().await, store: |db| &db.store);

/// A contract case not yet stamped for every backend (SQLite diverges; see the case).
#[tokio::test]
async fn a_duplicate_user_id_is_a_backend_error_not_email_taken() {
    let db = TestDb::new().await;
    portcullis_store_contract::durable::a_duplicate_user_id_is_a_backend_error_not_email_taken(
        &db.store,
    )
    .await;
}
