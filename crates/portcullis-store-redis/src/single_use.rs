//! Single-use keys of the production tier (see `portcullis_core::single_use`) in Redis, shared
//! by every replica. A first use is one Lua script ([`crate::scripts`]) and a take one `GETDEL`,
//! so no other replica's call can come between the check and the write. Any Redis failure is
//! an error, which the caller treats as a refusal: this store never answers `true` blind.

use crate::connection::SharedConnection;
use crate::error::bounded;
use crate::key_layout::KeyLayout;
use crate::wire::unix_ms;
use crate::RedisRevocationCache;
use async_trait::async_trait;
use portcullis_core::single_use::lapses_before_recorded;
use portcullis_core::{SingleUse, SingleUseKey, StoreResult};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// Single-use keys on the same connection and under the same prefix as the revocation cache.
#[derive(Clone)]
pub struct RedisSingleUse {
    conn: SharedConnection,
    keys: KeyLayout,
    scripts: Arc<crate::scripts::Scripts>,
    timeout: Duration,
}

impl RedisSingleUse {
    pub fn new(cache: &RedisRevocationCache) -> Self {
        Self {
            conn: cache.conn.clone(),
            keys: KeyLayout::new(&cache.options.prefix),
            scripts: Arc::clone(&cache.scripts),
            timeout: cache.options.write_timeout,
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
        let mut invocation = self.scripts.first_use.prepare_invoke();
        invocation
            .key(self.keys.single_use(key))
            .arg(unix_ms(until))
            .arg(unix_ms(now));
        let mut conn = self.conn.clone();
        let recorded: i64 = bounded(
            self.timeout,
            "first_use",
            invocation.invoke_async(&mut conn),
        )
        .await?;
        Ok(recorded == 1)
    }

    #[tracing::instrument(skip_all, fields(namespace = key.namespace().name()))]
    async fn take(&self, key: &SingleUseKey, now: OffsetDateTime) -> StoreResult<bool> {
        let mut conn = self.conn.clone();
        let mut getdel = redis::cmd("GETDEL");
        getdel.arg(self.keys.single_use(key));
        // A lapsed key Redis has not dropped yet is deleted all the same, and refused.
        let until: Option<i64> =
            bounded(self.timeout, "take", getdel.query_async(&mut conn)).await?;
        Ok(until.is_some_and(|until| until > unix_ms(now)))
    }
}
