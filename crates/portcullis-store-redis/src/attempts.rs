//! Login-attempt counters in Redis, shared by every replica. A reservation is one Lua script
//! ([`crate::scripts`]), so the check against the limit and the increment cannot be split by
//! another replica's attempt.

use crate::cache_handle::CacheHandle;
use crate::error::bounded;
use crate::RedisRevocationCache;
use async_trait::async_trait;
use portcullis_core::throttle::{Limit, LimitHit, Reservation};
use portcullis_core::{AttemptCounter, StoreResult};
use std::time::Duration;
use time::OffsetDateTime;

/// Login-attempt counters on the same Redis connection as the revocation cache.
#[derive(Clone)]
pub struct RedisAttemptCounter {
    cache: CacheHandle,
}

impl RedisAttemptCounter {
    pub fn new(cache: &RedisRevocationCache) -> Self {
        Self {
            cache: CacheHandle::of(cache),
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

#[async_trait]
impl AttemptCounter for RedisAttemptCounter {
    #[tracing::instrument(skip_all, fields(counters = counters.len()))]
    async fn reserve(
        &self,
        counters: &[(String, Limit)],
        _now: OffsetDateTime,
    ) -> StoreResult<Reservation> {
        let mut invocation = self.cache.scripts.reserve.prepare_invoke();
        for (key, limit) in counters {
            invocation
                .key(self.cache.keys.attempts(key))
                .arg(limit.max_failures)
                .arg(millis(limit.window));
        }
        let mut conn = self.cache.conn.clone();
        // Empty when reserved; otherwise one (index from 1, count, ms left, first) per limit hit.
        let refused: Vec<(usize, u32, u64, u8)> = bounded(
            self.cache.timeout,
            "attempts",
            invocation.invoke_async(&mut conn),
        )
        .await?;
        if refused.is_empty() {
            return Ok(Reservation::Reserved);
        }
        let retry_after = refused
            .iter()
            .map(|&(_, _, left, _)| Duration::from_millis(left))
            .max()
            .unwrap_or_default();
        let hits = refused
            .into_iter()
            .map(|(index, failures, _, first)| LimitHit {
                index: index.saturating_sub(1),
                failures,
                first: first == 1,
            })
            .collect();
        Ok(Reservation::Refused { retry_after, hits })
    }

    async fn release(&self, key: &str, _now: OffsetDateTime) -> StoreResult<()> {
        let mut invocation = self.cache.scripts.release.prepare_invoke();
        invocation.key(self.cache.keys.attempts(key));
        let mut conn = self.cache.conn.clone();
        let () = bounded(
            self.cache.timeout,
            "attempts",
            invocation.invoke_async(&mut conn),
        )
        .await?;
        Ok(())
    }

    async fn clear(&self, key: &str) -> StoreResult<()> {
        let mut conn = self.cache.conn.clone();
        let mut del = redis::cmd("DEL");
        del.arg(self.cache.keys.attempts(key));
        let _: i64 = bounded(self.cache.timeout, "attempts", del.query_async(&mut conn)).await?;
        Ok(())
    }
}
