//! Single-use keys of the production tier (see `portcullis_core::single_use`) in Redis, shared
//! by every replica. A first use is one Lua script ([`crate::scripts`]) and a take one `GETDEL`,
//! so no other replica's call can come between the check and the write. Any Redis failure is
//! an error, which the caller treats as a refusal: this store never answers `true` blind.

use crate::cache_handle::CacheHandle;
use crate::error::bounded;
use crate::wire::unix_ms;
use crate::RedisRevocationCache;
use async_trait::async_trait;
use portcullis_core::single_use::lapses_before_recorded;
use portcullis_core::{SingleUse, SingleUseKey, StoreResult};
use time::OffsetDateTime;

/// Single-use keys on the same connection and under the same prefix as the revocation cache.
#[derive(Clone)]
pub struct RedisSingleUse {
    cache: CacheHandle,
}

impl RedisSingleUse {
    pub fn new(cache: &RedisRevocationCache) -> Self {
        Self {
            cache: CacheHandle::of(cache),
        }
    }
}

#[async_trait]
impl SingleUse for RedisSingleUse {
    #[tracing::instrument(skip_all, fields(namespace = key.namespace().name()))]
    async fn first_use(
        &self,
        key: &SingleUseKey,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        if lapses_before_recorded(until, now) {
            return Ok(false);
        }
        let mut invocation = self.cache.scripts.first_use.prepare_invoke();
        invocation
            .key(self.cache.keys.single_use(key))
            .arg(unix_ms(until))
            .arg(unix_ms(now));
        let mut conn = self.cache.conn.clone();
        let recorded: i64 = bounded(
            self.cache.timeout,
            "first_use",
            invocation.invoke_async(&mut conn),
        )
        .await?;
        Ok(recorded == 1)
    }

    #[tracing::instrument(skip_all, fields(namespace = key.namespace().name()))]
    async fn take(&self, key: &SingleUseKey, now: OffsetDateTime) -> StoreResult<bool> {
        let mut conn = self.cache.conn.clone();
        let mut getdel = redis::cmd("GETDEL");
        getdel.arg(self.cache.keys.single_use(key));
        // A lapsed key Redis has not dropped yet is deleted all the same, and refused.
        let until: Option<i64> =
            bounded(self.cache.timeout, "take", getdel.query_async(&mut conn)).await?;
        Ok(until.is_some_and(|until| until > unix_ms(now)))
    }
}
