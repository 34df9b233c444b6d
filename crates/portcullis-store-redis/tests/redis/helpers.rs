//! An isolated key prefix per test on the shared Redis, cleaned up when the test ends.

use portcullis_core::{RevocationProbe, SessionId, UserId};
use portcullis_store_redis::{
    RedisAddress, RedisCacheOptions, RedisRevocationCache, SharedConnection,
};
use std::time::Duration;
use time::OffsetDateTime;

/// Test setup failing is a test failure; say what failed.
fn must<T, E: std::fmt::Display>(result: Result<T, E>, what: &str) -> T {
    result.unwrap_or_else(|error| panic!("{what}: {error}"))
}

const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// A server's or a cluster's connection (`REDIS_URL` may be `redis+cluster://...`).
async fn connection(url: &str) -> Result<SharedConnection, String> {
    let address = RedisAddress::parse(url).map_err(|error| error.to_string())?;
    let mut conn = SharedConnection::lazy(&address, Duration::from_secs(3))
        .map_err(|error| error.to_string())?;
    let ping = redis::cmd("PING");
    let ping = ping.query_async::<String>(&mut conn);
    tokio::time::timeout(Duration::from_secs(3), ping)
        .await
        .map_err(|_| "timed out".to_owned())?
        .map_err(|error| error.to_string())?;
    Ok(conn)
}

/// A fresh prefix whose hash tag keeps the test's keys on one slot of a cluster.
pub fn test_prefix() -> String {
    format!("{{portcullis_test:{}}}:", uuid::Uuid::new_v4().simple())
}

/// Generous deadlines: these tests check behaviour, not speed, on a busy machine.
pub fn relaxed(prefix: &str) -> RedisCacheOptions {
    RedisCacheOptions {
        prefix: prefix.to_owned(),
        state_timeout: Duration::from_secs(2),
        write_timeout: Duration::from_secs(2),
    }
}

pub struct TestCache {
    pub cache: RedisRevocationCache,
    pub prefix: String,
    pub raw: SharedConnection,
}

impl TestCache {
    pub async fn new() -> Self {
        let url = redis_url();
        let raw = connection(&url).await.unwrap_or_else(|error| {
            panic!(
                "cannot reach Redis at {url}: {error}. Start a server or set REDIS_URL \
                 (e.g. redis://127.0.0.1:6379); tests only touch keys under their own prefix"
            )
        });
        let prefix = test_prefix();
        let cache = must(
            RedisRevocationCache::connect(&url, relaxed(&prefix)),
            "cache",
        );
        Self { cache, prefix, raw }
    }

    /// A second cache over the same keys, as another replica would have.
    pub fn replica(&self) -> RedisRevocationCache {
        must(
            RedisRevocationCache::connect(&redis_url(), relaxed(&self.prefix)),
            "replica",
        )
    }

    pub fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.prefix)
    }

    pub async fn get(&self, rest: &str) -> Option<String> {
        must(
            redis::cmd("GET")
                .arg(self.key(rest))
                .query_async(&mut self.raw.clone())
                .await,
            "GET",
        )
    }

    pub async fn pttl(&self, rest: &str) -> i64 {
        must(
            redis::cmd("PTTL")
                .arg(self.key(rest))
                .query_async(&mut self.raw.clone())
                .await,
            "PTTL",
        )
    }

    /// Deletes one of this test's own keys (never FLUSHDB: the server is shared).
    pub async fn delete(&self, rest: &str) {
        let _: i64 = must(
            redis::cmd("DEL")
                .arg(self.key(rest))
                .query_async(&mut self.raw.clone())
                .await,
            "DEL",
        );
    }

    pub async fn own_keys(&self) -> Vec<String> {
        must(own_keys(&mut self.raw.clone(), &self.prefix).await, "SCAN")
    }
}

/// KEYS, which a cluster connection asks of every master (SCAN has no cluster routing); the
/// tests' keys are few.
async fn own_keys(conn: &mut SharedConnection, prefix: &str) -> redis::RedisResult<Vec<String>> {
    redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(conn)
        .await
}

impl Drop for TestCache {
    fn drop(&mut self) {
        let prefix = self.prefix.clone();
        // Drop cannot await, and the test's runtime may be single-threaded: clean up on a
        // thread and runtime of our own.
        let cleaned = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| error.to_string())?;
            runtime.block_on(async {
                let mut conn = connection(&redis_url()).await?;
                let keys = own_keys(&mut conn, &prefix)
                    .await
                    .map_err(|e| e.to_string())?;
                if !keys.is_empty() {
                    let _: i64 = redis::cmd("DEL")
                        .arg(&keys)
                        .query_async(&mut conn)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                Ok::<(), String>(())
            })
        })
        .join();
        if !matches!(cleaned, Ok(Ok(()))) {
            eprintln!("could not delete keys under {}: {cleaned:?}", self.prefix);
        }
    }
}

pub fn probe() -> RevocationProbe {
    RevocationProbe {
        user: UserId::new(),
        session: SessionId::new(),
        jti: uuid::Uuid::new_v4(),
        kid: uuid::Uuid::new_v4(),
    }
}

/// Now, to the millisecond the cache stores.
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now - time::Duration::nanoseconds(i64::from(now.nanosecond() % 1_000_000))
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
