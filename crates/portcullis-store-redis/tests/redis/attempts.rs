//! Failed-login counters shared through Redis.

use crate::helpers::TestCache;
use portcullis_core::AttemptCounter;
use portcullis_store_redis::RedisAttemptCounter;
use std::time::Duration;
use time::OffsetDateTime;

#[tokio::test]
async fn failures_are_counted_across_counters_and_expire_with_their_window() {
    let test = TestCache::new().await;
    let first = RedisAttemptCounter::new(&test.cache);
    let second = RedisAttemptCounter::new(&test.cache);
    let now = OffsetDateTime::now_utc();
    let window = Duration::from_millis(800);
    assert_eq!(
        first
            .add_failure("login:account:a", window, now)
            .await
            .expect("add")
            .count,
        1
    );
    let counted = second
        .add_failure("login:account:a", window, now)
        .await
        .expect("add");
    assert_eq!(counted.count, 2, "another replica sees the same count");
    assert!(counted.resets_at > now && counted.resets_at <= now + window);
    let keys = ["login:account:a".to_owned(), "login:account:b".to_owned()];
    let windows = first.windows(&keys, now).await.expect("windows");
    assert_eq!(windows[0].map(|w| w.count), Some(2));
    assert_eq!(windows[1], None, "another account is untouched");
    tokio::time::sleep(Duration::from_millis(900)).await; // let Redis expire the window
    assert_eq!(
        first
            .windows(&keys, OffsetDateTime::now_utc())
            .await
            .expect("windows")[0],
        None
    );
    first
        .add_failure("login:account:a", window, now)
        .await
        .expect("add");
    first.clear("login:account:a").await.expect("clear");
    assert_eq!(first.windows(&keys, now).await.expect("windows")[0], None);
}
