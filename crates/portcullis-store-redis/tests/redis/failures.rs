//! A Redis that is down or silent must fail fast as `Unavailable`, never hang the caller.

use crate::helpers::{now, probe};
use portcullis_core::{RevocationCache, RevocationChange, StoreError, StoreResult};
use portcullis_store_redis::{RedisCacheOptions, RedisRevocationCache};
use std::time::{Duration, Instant};

fn assert_unavailable<T: std::fmt::Debug>(result: StoreResult<T>) {
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
}

fn options() -> RedisCacheOptions {
    RedisCacheOptions {
        prefix: crate::helpers::test_prefix(),
        ..RedisCacheOptions::default()
    }
}

#[tokio::test]
async fn an_unreachable_redis_is_unavailable_quickly() {
    let cache = RedisRevocationCache::connect("redis://127.0.0.1:1", options()).unwrap();
    let started = Instant::now();
    assert_unavailable(cache.state(&probe(), now()).await);
    assert_unavailable(cache.ping().await);
    let p = probe();
    let change = RevocationChange::TokenVersion {
        user: p.user,
        version: 1,
    };
    assert_unavailable(cache.apply(&[change], now()).await);
    assert_unavailable(cache.load(&vec![change], now()).await);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_silent_redis_times_out_within_the_state_deadline() {
    // Accepts connections and never answers, like a hung server.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let cache = RedisRevocationCache::connect(&format!("redis://{address}"), options()).unwrap();

    let started = Instant::now();
    assert_unavailable(cache.state(&probe(), now()).await);
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_millis(500),
        "state took {elapsed:?}"
    );

    let started = Instant::now();
    assert_unavailable(cache.ping().await);
    assert!(started.elapsed() < Duration::from_secs(1));
    server.abort();
}

#[test]
fn a_malformed_url_is_refused_up_front() {
    let result = RedisRevocationCache::connect("not a url", options());
    assert!(matches!(result, Err(StoreError::Backend(_))));
}

#[tokio::test]
async fn an_unreachable_cluster_is_unavailable_quickly_and_a_replica_still_starts() {
    let cache = RedisRevocationCache::connect("redis+cluster://127.0.0.1:1,127.0.0.1:2", options())
        .unwrap();
    let started = Instant::now();
    assert_unavailable(cache.state(&probe(), now()).await);
    assert_unavailable(cache.ping().await);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_cluster_refuses_a_prefix_without_a_hash_tag_up_front() {
    let options = RedisCacheOptions {
        prefix: "portcullis:".to_owned(),
        ..RedisCacheOptions::default()
    };
    let result = RedisRevocationCache::connect("redis+cluster://127.0.0.1:1", options);
    assert!(matches!(result, Err(StoreError::Backend(_))));
}
