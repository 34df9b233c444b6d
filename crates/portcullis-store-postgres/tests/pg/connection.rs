//! The connection-level failure modes; accounts themselves are in the contract (`contract.rs`).

use portcullis_core::StoreError;
use portcullis_store_postgres::{PgOptions, PgStore};
use std::time::{Duration, Instant};

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
