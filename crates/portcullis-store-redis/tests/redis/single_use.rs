//! What the single-use contract cannot say for every backend: Redis drops a lapsed key by
//! itself, keeps only the key's digest under the test's prefix, and fails closed when down.

use crate::helpers::{now, TestCache};
use portcullis_core::{SingleUse, SingleUseKey, StoreError};
use portcullis_store_redis::{RedisCacheOptions, RedisRevocationCache, RedisSingleUse};
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_key_is_stored_as_its_digest_and_dropped_by_redis_at_until() {
    let test = TestCache::new().await;
    let store = RedisSingleUse::new(&test.cache);
    let jti = uuid::Uuid::new_v4().simple().to_string();
    let key = SingleUseKey::dpop_proof("thumbprint", &jti).unwrap();
    let t0 = now();
    assert!(store
        .first_use(&key, t0 + Duration::from_millis(300), t0)
        .await
        .unwrap());
    let stored = format!("once:{}", key.stored_name());
    assert!(test.pttl(&stored).await > 0, "expires at until");
    let keys = test.own_keys().await;
    assert_eq!(keys, vec![test.key(&stored)]);
    assert!(!keys[0].contains(&jti), "the raw jti is never stored");

    // Redis's own expiry, awaited by polling with a deadline rather than a fixed sleep.
    let deadline = Instant::now() + Duration::from_secs(5);
    while test.get(&stored).await.is_some() {
        assert!(Instant::now() < deadline, "the key outlived its until");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let later = now();
    assert!(store
        .first_use(&key, later + Duration::from_secs(60), later)
        .await
        .unwrap());
}

#[tokio::test]
async fn an_unreachable_redis_is_an_error_never_a_first_use() {
    let options = RedisCacheOptions {
        prefix: crate::helpers::test_prefix(),
        ..RedisCacheOptions::default()
    };
    let cache = RedisRevocationCache::connect("redis://127.0.0.1:1", options).unwrap();
    let store = RedisSingleUse::new(&cache);
    let key = SingleUseKey::dbsc_challenge("challenge").unwrap();
    let t0 = now();
    let first = store
        .first_use(&key, t0 + Duration::from_secs(60), t0)
        .await;
    assert!(
        matches!(first, Err(StoreError::Unavailable(_))),
        "{first:?}"
    );
    let taken = store.take(&key, t0).await;
    assert!(
        matches!(taken, Err(StoreError::Unavailable(_))),
        "{taken:?}"
    );
}
