//! Failed-login counters in Redis, shared by every replica: one key per counter, incremented
//! atomically, expiring when its window ends.

use crate::error::bounded;
use crate::keys::Keys;
use crate::RedisRevocationCache;
use async_trait::async_trait;
use portcullis_core::throttle::Window;
use portcullis_core::{AttemptCounter, StoreResult};
use redis::aio::ConnectionManager;
use std::time::Duration;
use time::OffsetDateTime;

/// Login-failure counters on the same Redis connection as the revocation cache.
#[derive(Clone)]
pub struct RedisAttemptCounter {
    conn: ConnectionManager,
    keys: Keys,
    timeout: Duration,
}

impl RedisAttemptCounter {
    pub fn new(cache: &RedisRevocationCache) -> Self {
        Self {
            conn: cache.conn.clone(),
            keys: Keys::new(&cache.options.prefix),
            timeout: cache.options.write_timeout,
        }
    }
}

fn window(count: Option<u32>, ttl_ms: i64, now: OffsetDateTime) -> Option<Window> {
    // PTTL is -2 for a missing key and -1 for one without expiry (never written by us).
    let count = count.filter(|&count| count > 0)?;
    (ttl_ms > 0).then(|| Window {
        count,
        resets_at: now + Duration::from_millis(ttl_ms.unsigned_abs()),
    })
}

#[async_trait]
impl AttemptCounter for RedisAttemptCounter {
    async fn windows(
        &self,
        keys: &[String],
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Option<Window>>> {
        let mut pipe = redis::pipe();
        for key in keys {
            let key = self.keys.attempts(key);
            pipe.get(&key).cmd("PTTL").arg(&key);
        }
        let mut conn = self.conn.clone();
        let replies: Vec<(Option<u32>, i64)> =
            bounded(self.timeout, "attempts", pipe.query_async(&mut conn)).await?;
        Ok(replies
            .into_iter()
            .map(|(count, ttl)| window(count, ttl, now))
            .collect())
    }

    async fn add_failure(
        &self,
        key: &str,
        window_length: Duration,
        now: OffsetDateTime,
    ) -> StoreResult<Window> {
        let key = self.keys.attempts(key);
        let window_ms = u64::try_from(window_length.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        // INCR and "expire only if no expiry is set" in one transaction: the window opens with
        // the first failure and is never pushed back by later ones.
        let mut pipe = redis::pipe();
        pipe.atomic()
            .incr(&key, 1u32)
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(window_ms)
            .arg("NX")
            .ignore()
            .cmd("PTTL")
            .arg(&key);
        let mut conn = self.conn.clone();
        let (count, ttl): (u32, i64) =
            bounded(self.timeout, "attempts", pipe.query_async(&mut conn)).await?;
        Ok(window(Some(count), ttl, now).unwrap_or(Window {
            count,
            resets_at: now + window_length,
        }))
    }

    async fn clear(&self, key: &str) -> StoreResult<()> {
        let mut conn = self.conn.clone();
        let mut del = redis::cmd("DEL");
        del.arg(self.keys.attempts(key));
        let _: i64 = bounded(self.timeout, "attempts", del.query_async(&mut conn)).await?;
        Ok(())
    }
}
