//! Which storage tier the suite runs against (`TEST_TIER`: `embedded`, the default, or
//! `production`), and the isolated storage each test gets: a temporary data directory always;
//! on the production tier also a fresh Postgres database and its own Redis key prefix, both
//! removed when the last gateway using them is gone. The shared servers are never flushed.

use base64::Engine;
use portcullis::Config;
use std::time::Duration;
use tempfile::TempDir;

/// The storage tier under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    Embedded,
    Production,
}

pub fn tier() -> Tier {
    match std::env::var("TEST_TIER").as_deref() {
        Ok("embedded") | Err(_) => Tier::Embedded,
        Ok("production") => Tier::Production,
        Ok(other) => panic!("TEST_TIER={other:?} is not a tier (use embedded or production)"),
    }
}

/// The Postgres the suite creates its databases in.
pub fn database_admin_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// The shared Redis of the suite: a server, or a cluster (`redis+cluster://host:port,...`).
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// Whether the suite runs against a Redis Cluster.
pub fn redis_is_cluster() -> bool {
    redis_url().starts_with("redis+cluster://")
}

/// Storage owned by one test.
pub struct TestStorage {
    pub data: TempDir,
    pub database: Option<TestDatabase>,
    pub redis_prefix: String,
    pub key_encryption_key: String,
}

impl TestStorage {
    pub async fn create(tier: Tier) -> Self {
        let data = TempDir::new().expect("temporary data directory");
        let database = match tier {
            Tier::Embedded => None,
            Tier::Production => Some(TestDatabase::create().await),
        };
        let mut kek = [0u8; 32];
        aws_lc_rs::rand::fill(&mut kek).expect("random");
        Self {
            data,
            database,
            // Hash-tagged, so a cluster keeps all of one test's keys on one slot.
            redis_prefix: format!("{{portcullis-test:{}}}:", uuid::Uuid::new_v4().simple()),
            key_encryption_key: base64::engine::general_purpose::STANDARD.encode(kek),
        }
    }

    /// The same settings as `PORTCULLIS_*` environment variables, for the binary.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut config = Config::default();
        self.configure(&mut config);
        let settings = [
            (
                "PORTCULLIS_DATA_DIR",
                Some(config.data_dir.display().to_string()),
            ),
            ("PORTCULLIS_DATABASE_URL", config.database_url),
            ("PORTCULLIS_REDIS_URL", config.redis_url),
            (
                "PORTCULLIS_REDIS_PREFIX",
                self.database.as_ref().map(|_| config.redis_prefix),
            ),
            (
                "PORTCULLIS_KEY_ENCRYPTION_KEY",
                config.key_encryption_key.map(|key| key.expose().to_owned()),
            ),
        ];
        settings
            .into_iter()
            .filter_map(|(key, value)| Some((key.to_owned(), value?)))
            .collect()
    }

    /// Points a config at this storage.
    pub fn configure(&self, config: &mut Config) {
        config.data_dir = self.data.path().to_path_buf();
        if let Some(database) = &self.database {
            config.database_url = Some(database.url.clone());
            config.redis_url = Some(redis_url());
            config.redis_prefix = self.redis_prefix.clone();
            config.key_encryption_key = Some(self.key_encryption_key.as_str().into());
        }
    }
}

impl Drop for TestStorage {
    fn drop(&mut self) {
        if self.database.is_some() {
            delete_redis_keys(&redis_url(), &self.redis_prefix);
        }
    }
}

/// A Postgres database made for one test and dropped after it.
pub struct TestDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let admin_url = database_admin_url();
        let name = format!("portcullis_t_{}", uuid::Uuid::new_v4().simple());
        let mut admin = connect(&admin_url).await;
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap_or_else(|error| {
            panic!("cannot create a test database at {admin_url}: {error}. The user needs CREATEDB.")
        });
        let url = with_database(&admin_url, &name);
        Self {
            admin_url,
            name,
            url,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs outside any async context guarantee: use a private runtime on a thread.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let mut admin = connect(&admin_url).await;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(_))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

async fn connect(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    tokio::time::timeout(Duration::from_secs(10), sqlx::PgConnection::connect(url))
        .await
        .map_err(|_| "timed out".to_owned())
        .and_then(|result| result.map_err(|error| error.to_string()))
        .unwrap_or_else(|error| {
            panic!(
                "cannot reach Postgres at {url}: {error}. Start it, or set DATABASE_URL; \
                 `just test` provides one through tests/services.sh"
            )
        })
}

/// `postgres://user@host:port/db?x` with `db` replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let prefix = base.rsplit_once('/').map_or(base, |(prefix, _)| prefix);
    match query {
        Some(query) => format!("{prefix}/{name}?{query}"),
        None => format!("{prefix}/{name}"),
    }
}

/// Deletes this test's keys (and only those) from a Redis or a cluster (KEYS asks every
/// master there; the hash-tagged keys all sit on one).
pub fn delete_redis_keys(url: &str, prefix: &str) {
    let (url, pattern) = (url.to_owned(), format!("{prefix}*"));
    // Drop runs outside any async context guarantee: use a private runtime on a thread.
    let _ = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let address = portcullis_store_redis::RedisAddress::parse(&url).ok()?;
            let mut conn =
                portcullis_store_redis::SharedConnection::lazy(&address, Duration::from_secs(2))
                    .ok()?;
            let keys = redis::cmd("KEYS").arg(&pattern).to_owned();
            let keys: Vec<String> =
                tokio::time::timeout(Duration::from_secs(5), keys.query_async(&mut conn))
                    .await
                    .ok()?
                    .ok()?;
            if !keys.is_empty() {
                let del = redis::cmd("DEL").arg(keys).to_owned();
                let _: Option<redis::RedisResult<i64>> =
                    tokio::time::timeout(Duration::from_secs(5), del.query_async(&mut conn))
                        .await
                        .ok();
            }
            Some(())
        })
    })
    .join();
}
