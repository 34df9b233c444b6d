//! What the stores that ride on the revocation cache's Redis borrow from it: the connection,
//! the key layout under its prefix, the loaded scripts and the write deadline. One handle, so
//! the login counters and the single-use keys cannot drift from the cache's settings.

use crate::connection::SharedConnection;
use crate::key_layout::KeyLayout;
use crate::scripts::Scripts;
use crate::RedisRevocationCache;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub(crate) struct CacheHandle {
    pub conn: SharedConnection,
    pub keys: KeyLayout,
    pub scripts: Arc<Scripts>,
    pub timeout: Duration,
}

impl CacheHandle {
    pub fn of(cache: &RedisRevocationCache) -> Self {
        Self {
            conn: cache.conn.clone(),
            keys: KeyLayout::new(&cache.options.prefix),
            scripts: Arc::clone(&cache.scripts),
            timeout: cache.options.write_timeout,
        }
    }
}
