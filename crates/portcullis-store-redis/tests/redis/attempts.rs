//! Login-attempt reservations shared through Redis.

use crate::helpers::TestCache;
use portcullis_core::throttle::{Limit, Reservation};
use portcullis_core::AttemptCounter;
use portcullis_store_redis::RedisAttemptCounter;
use std::time::Duration;
use time::OffsetDateTime;

fn limit(max_failures: u32, window: Duration) -> Limit {
    Limit {
        max_failures,
        window,
    }
}

#[tokio::test]
async fn reservations_are_shared_by_replicas_stop_at_the_limit_and_expire_with_their_window() {
    let test = TestCache::new().await;
    let first = RedisAttemptCounter::new(&test.cache);
    let second = RedisAttemptCounter::new(&test.cache);
    let now = OffsetDateTime::now_utc();
    let window = Duration::from_millis(800);
    let counters = [
        ("login:account:a".to_owned(), limit(2, window)),
        ("login:ip:1".to_owned(), limit(100, window)),
    ];
    for counter in [&first, &second] {
        assert_eq!(
            counter.reserve(&counters, now).await.expect("reserve"),
            Reservation::Reserved
        );
    }
    let Reservation::Refused { retry_after, hits } =
        first.reserve(&counters, now).await.expect("reserve")
    else {
        panic!("a third reservation passed a limit of two");
    };
    assert!(retry_after > Duration::ZERO && retry_after <= window);
    assert_eq!(hits.len(), 1, "only the account limit is hit");
    assert_eq!(
        (hits[0].index, hits[0].failures, hits[0].first),
        (0, 2, true)
    );
    let Reservation::Refused { hits, .. } = second.reserve(&counters, now).await.expect("reserve")
    else {
        panic!("the limit holds on another replica");
    };
    assert!(
        !hits[0].first,
        "the first refusal of the window was already noted"
    );
    let other = [("login:account:b".to_owned(), limit(2, window))];
    assert_eq!(
        first.reserve(&other, now).await.expect("reserve"),
        Reservation::Reserved,
        "another account is untouched"
    );
    tokio::time::sleep(Duration::from_millis(900)).await; // let Redis expire the window
    assert_eq!(
        first
            .reserve(&counters, OffsetDateTime::now_utc())
            .await
            .expect("reserve"),
        Reservation::Reserved
    );
}

#[tokio::test]
async fn a_release_gives_back_one_reservation_and_a_clear_forgets_the_counter() {
    let test = TestCache::new().await;
    let counter = RedisAttemptCounter::new(&test.cache);
    let now = OffsetDateTime::now_utc();
    let counters = [("login:ip:1".to_owned(), limit(1, Duration::from_secs(60)))];
    counter.reserve(&counters, now).await.expect("reserve");
    counter.release("login:ip:1", now).await.expect("release");
    assert_eq!(
        counter.reserve(&counters, now).await.expect("reserve"),
        Reservation::Reserved
    );
    counter.clear("login:ip:1").await.expect("clear");
    counter.release("login:ip:1", now).await.expect("release");
    let keys = test.own_keys().await;
    assert!(
        !keys.iter().any(|key| key.contains("throttle:")),
        "a release never recreates a counter: {keys:?}"
    );
}
