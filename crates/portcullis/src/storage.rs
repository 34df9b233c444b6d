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
use std::path::{Path, PathBuf};
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
    match (config.database_url.as_deref(), embedded_database(config)?) {
        (Some(url), None) => open_production(url, config).await,
        (_, Some(path)) => open_embedded(&path).await,
        (None, None) => bail!("no database configured"),
    }
}

/// The SQLite file of the embedded tier, or `None` on the production tier.
fn embedded_database(config: &Config) -> anyhow::Result<Option<PathBuf>> {
    match config.database_url.as_deref() {
        Some(_) if is_production(config) => Ok(None),
        Some(url) => {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .with_context(|| {
                    format!("database_url must start with sqlite:// or postgres://, got {url:?}")
                })?;
            Ok(Some(PathBuf::from(path)))
        }
        None => Ok(Some(config.data_dir.join("portcullis.db"))),
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
const FOLLOW_INTERVAL: Duration = Duration::from_millis(100);
/// How long a revoking command waits for running servers to confirm they hold its revocation.
const CONFIRM_WITHIN: Duration = Duration::from_secs(3);

/// The embedded tier's cache lives in this process, but the `portcullis admin` CLI writes to the
/// same database from another one. Watch for commits and merge the durable revocation facts
/// in; then acknowledge the newest revocation notice read before merging, which the command
/// waits for (see [`confirm_revocations`]).
async fn follow_other_writers(
    store: &SqliteStore,
    cache: &Arc<MemoryRevocationCache>,
) -> anyhow::Result<()> {
    let mut watcher = store
        .change_watcher()
        .await
        .context("cannot watch the SQLite database")?;
    let id = uuid::Uuid::new_v4().to_string();
    forget_dead_followers(store).await;
    store
        .register_follower(&id, std::process::id())
        .await
        .context("cannot register with the SQLite database")?;
    let (store, cache) = (store.clone(), Arc::clone(cache));
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(FOLLOW_INTERVAL);
        let mut acknowledged = 0;
        loop {
            ticks.tick().await;
            match watcher.changed().await {
                Ok(false) => {}
                Ok(true) => {
                    let now = time::OffsetDateTime::now_utc();
                    // Read before merging: the acknowledgement never claims more than merged.
                    let notice = store.latest_notice().await;
                    let merged = match store.revocation_snapshot(now).await {
                        Ok(snapshot) => cache.load(&snapshot, now).await,
                        Err(error) => Err(error),
                    };
                    let acknowledged_now = match (merged, notice) {
                        (Ok(()), Ok(notice)) if notice > acknowledged => {
                            store.acknowledge(&id, notice).await.map(|()| notice)
                        }
                        (Ok(()), _) => Ok(acknowledged),
                        (Err(error), _) => Err(error),
                    };
                    match acknowledged_now {
                        Ok(notice) => acknowledged = notice,
                        Err(error) => {
                            tracing::warn!(%error, "could not merge revocations written elsewhere");
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "could not poll the SQLite database"),
            }
        }
    });
    Ok(())
}

/// Removes the registrations of processes that no longer run (a server that crashed).
async fn forget_dead_followers(store: &SqliteStore) {
    let Ok(followers) = store.followers().await else {
        return;
    };
    for follower in followers.iter().filter(|f| !is_running(f.pid)) {
        let _ = store.forget_followers_of(follower.pid).await;
    }
}

/// Whether process `pid` exists (signal 0 tests for it without sending anything).
fn is_running(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        // It exists but belongs to someone else.
        Err(error) => error == rustix::io::Errno::PERM,
    }
}

/// After a command has committed revocations on the embedded tier: posts a notice and waits
/// until every running server has merged it into the state it verifies tokens with, so that
/// "once the command has returned" holds there as it does on the production tier. A server
/// that does not confirm within `CONFIRM_WITHIN` (stopped, or a process id reused) is named
/// in the returned warning; the revocation is committed either way.
pub async fn confirm_revocations(config: &Config) -> anyhow::Result<Option<String>> {
    let Some(path) = embedded_database(config)? else {
        return Ok(None);
    };
    let store = SqliteStore::open(&path)
        .await
        .with_context(|| format!("cannot open the SQLite database at {}", path.display()))?;
    // This command's own copy (it opened the store too) is not a running server.
    let _ = store.forget_followers_of(std::process::id()).await;
    let notice = store.post_notice().await?;
    let deadline = tokio::time::Instant::now() + CONFIRM_WITHIN;
    loop {
        let mut waiting: Vec<u32> = store
            .followers()
            .await?
            .into_iter()
            .filter(|follower| follower.acknowledged < notice && is_running(follower.pid))
            .map(|follower| follower.pid)
            .collect();
        waiting.dedup();
        if waiting.is_empty() {
            return Ok(None);
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(Some(format!(
                "the server process {waiting:?} did not confirm the revocation within {}s; it \
                 applies it as soon as it reads the database",
                CONFIRM_WITHIN.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
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
