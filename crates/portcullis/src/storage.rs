//! Chooses and opens the storage tier from configuration.

use crate::config::Config;
use crate::private_files;
use anyhow::{bail, Context};
use portcullis_core::Backends;
use portcullis_core::{RevocationCache, SessionStore};
use portcullis_service::KeyEncryptionKey;
use portcullis_store_postgres::{PgOptions, PgStore};
use portcullis_store_redis::{RedisAttemptCounter, RedisCacheOptions, RedisRevocationCache};
use portcullis_store_sqlite::{MemoryRevocationCache, SqliteStore};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// True when `database_url` selects the production tier.
pub fn is_production(config: &Config) -> bool {
    config
        .database_url
        .as_deref()
        .is_some_and(|url| url.starts_with("postgres://") || url.starts_with("postgresql://"))
}

/// Opens the configured tier and applies its migrations.
pub async fn open(config: &Config) -> anyhow::Result<Backends> {
    if config.redis_url.is_some() && !is_production(config) {
        bail!("redis_url is only used with a postgres:// database_url (the production tier)");
    }
    match config.database_url.as_deref() {
        Some(url) if is_production(config) => open_production(url, config).await,
        Some(url) => {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .with_context(|| {
                    format!("database_url must start with sqlite:// or postgres://, got {url:?}")
                })?;
            open_embedded(Path::new(path)).await
        }
        None => open_embedded(&config.data_dir.join("portcullis.db")).await,
    }
}

async fn open_production(database_url: &str, config: &Config) -> anyhow::Result<Backends> {
    let redis_url = config
        .redis_url
        .as_deref()
        .context("the production tier needs redis_url as well as a postgres:// database_url")?;
    let options = PgOptions {
        max_connections: config.database_max_connections,
        acquire_timeout: config.database_timeout,
        statement_timeout: config.database_timeout,
    };
    let store = PgStore::connect(database_url, options)
        .await
        .context("cannot connect to Postgres")?;
    store
        .migrate()
        .await
        .context("cannot migrate the Postgres database")?;
    let cache = RedisRevocationCache::connect(
        redis_url,
        RedisCacheOptions {
            prefix: config.redis_prefix.clone(),
            state_timeout: config.redis_timeout,
            write_timeout: config.redis_write_timeout,
        },
    )
    .context("invalid redis_url")?;
    Ok(Backends {
        durable: Arc::new(store),
        attempts: Arc::new(RedisAttemptCounter::new(&cache)),
        revocations: Arc::new(cache),
    })
}

async fn open_embedded(path: &Path) -> anyhow::Result<Backends> {
    private_files::prepare_database(path)?;
    let store = SqliteStore::open(path)
        .await
        .with_context(|| format!("cannot open the SQLite database at {}", path.display()))?;
    store
        .migrate()
        .await
        .context("cannot migrate the SQLite database")?;
    private_files::narrow_journals(path)?;
    let cache = Arc::new(MemoryRevocationCache::new());
    follow_other_writers(&store, &cache).await?;
    Ok(Backends {
        // Login-attempt counters are rows of the same database (they survive a restart).
        attempts: Arc::new(store.clone()),
        durable: Arc::new(store),
        revocations: cache,
    })
}

/// How often the embedded tier looks for revocations written by another process.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(250);

/// The embedded tier's cache lives in this process, but the `portcullis admin` CLI writes to the
/// same database from another one. Watch for commits and merge the durable revocation facts
/// in, so a revocation made from the command line holds here within `FOLLOW_INTERVAL`.
async fn follow_other_writers(
    store: &SqliteStore,
    cache: &Arc<MemoryRevocationCache>,
) -> anyhow::Result<()> {
    let mut watcher = store
        .change_watcher()
        .await
        .context("cannot watch the SQLite database")?;
    let (store, cache) = (store.clone(), Arc::clone(cache));
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(FOLLOW_INTERVAL);
        loop {
            ticks.tick().await;
            match watcher.changed().await {
                Ok(false) => {}
                Ok(true) => {
                    let now = time::OffsetDateTime::now_utc();
                    let merged = match store.revocation_snapshot(now).await {
                        Ok(snapshot) => cache.load(&snapshot, now).await,
                        Err(error) => Err(error),
                    };
                    if let Err(error) = merged {
                        tracing::warn!(%error, "could not merge revocations written elsewhere");
                    }
                }
                Err(error) => tracing::warn!(%error, "could not poll the SQLite database"),
            }
        }
    });
    Ok(())
}

/// The key-encryption key: from config, from a key file only its owner can open, or (embedded
/// tier) generated once into `<data_dir>/kek` with owner-only permissions.
pub fn key_encryption_key(config: &Config) -> anyhow::Result<KeyEncryptionKey> {
    if let Some(text) = &config.key_encryption_key {
        return KeyEncryptionKey::from_base64(text).map_err(anyhow::Error::msg);
    }
    let file = config
        .key_encryption_key_file
        .clone()
        .unwrap_or_else(|| config.data_dir.join("kek"));
    if file.exists() {
        private_files::check_key_file(&file)?;
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        return KeyEncryptionKey::from_base64(&text).map_err(anyhow::Error::msg);
    }
    if is_production(config) {
        bail!("the production tier needs key_encryption_key (or key_encryption_key_file) shared by every replica");
    }
    let key = KeyEncryptionKey::generate().map_err(anyhow::Error::msg)?;
    private_files::write_new(&file, key.to_base64().as_bytes())?;
    tracing::info!(path = %file.display(), "generated a new key-encryption key");
    Ok(key)
}
