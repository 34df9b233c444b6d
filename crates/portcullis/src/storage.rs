//! Chooses and opens the storage tier from configuration.

use crate::config::Config;
use crate::private_files;
use anyhow::{bail, Context};
use portcullis_core::Backends;
use portcullis_service::KeyEncryptionKey;
use portcullis_store_postgres::{PgOptions, PgStore};
use portcullis_store_redis::{
    RedisAttemptCounter, RedisCacheOptions, RedisRevocationCache, RedisSingleUse,
};
use portcullis_store_sqlite::{MemoryRevocationCache, SqliteStore};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// True when `database_url` selects the production tier.
pub fn is_production(config: &Config) -> bool {
    config
        .database_url
        .as_deref()
        .is_some_and(|url| url.starts_with("postgres://") || url.starts_with("postgresql://"))
}

/// Whether opening storage may create what is missing (a SQLite database, a key-encryption
/// key). Only `serve` and `migrate` may: a command run from the wrong directory must not
/// quietly start an empty deployment of its own and then report "not found".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnMissing {
    Create,
    Refuse,
}

/// Where the configured storage is, for people: `sqlite:///abs/path/portcullis.db`, or the
/// Postgres URL with any password replaced by `***`.
pub fn location(config: &Config) -> anyhow::Result<String> {
    match embedded_database(config)? {
        Some(path) => {
            let absolute = std::path::absolute(&path).unwrap_or(path);
            Ok(format!("sqlite://{}", absolute.display()))
        }
        None => Ok(crate::config::redacted_url(
            config.database_url.as_deref().unwrap_or_default(),
        )),
    }
}

/// The error of a command that found no storage where it was told to look.
fn nothing_at(what: &str, config: &Config) -> anyhow::Error {
    anyhow::anyhow!(
        "{what} (data_dir {}); this command never creates one. Point it at your deployment \
         with --config FILE, PORTCULLIS_DATA_DIR or PORTCULLIS_DATABASE_URL, or create a new \
         one with `portcullis migrate`",
        std::path::absolute(&config.data_dir)
            .unwrap_or_else(|_| config.data_dir.clone())
            .display()
    )
}

/// An opened tier: the backends, and the background task it runs, if any (the embedded tier
/// follows other writers to its database until `stop` is cancelled).
pub struct Opened {
    pub backends: Backends,
    pub follower: Option<JoinHandle<()>>,
}

/// Opens the configured tier and applies its migrations; with [`OnMissing::Refuse`], a SQLite
/// database that does not exist is an error rather than created.
pub async fn open(
    config: &Config,
    stop: &CancellationToken,
    on_missing: OnMissing,
) -> anyhow::Result<Opened> {
    if config.redis_url.is_some() && !is_production(config) {
        bail!("redis_url is only used with a postgres:// database_url (the production tier)");
    }
    match (config.database_url.as_deref(), embedded_database(config)?) {
        (Some(url), None) => Ok(Opened {
            backends: open_production(url, config).await?,
            follower: None,
        }),
        (_, Some(path)) if on_missing == OnMissing::Refuse && !path.exists() => Err(nothing_at(
            &format!("no database at {}", location(config)?),
            config,
        )),
        (_, Some(path)) => open_embedded(&path, stop).await,
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
    // Connects lazily: checked first, so a bad URL or prefix is refused before any waiting.
    let cache = RedisRevocationCache::connect(
        redis_url,
        RedisCacheOptions {
            prefix: config.redis_prefix.clone(),
            state_timeout: config.redis_timeout,
            write_timeout: config.redis_write_timeout,
        },
    )
    .context("cannot use redis_url with redis_prefix")?;
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
    let cache = Arc::new(cache);
    Ok(Backends {
        durable: Arc::new(store),
        attempts: Arc::new(RedisAttemptCounter::new(&cache)),
        single_use: Arc::new(RedisSingleUse::new(&cache)),
        stream: Some(Arc::clone(&cache) as _),
        revocations: cache,
    })
}

async fn open_embedded(path: &Path, stop: &CancellationToken) -> anyhow::Result<Opened> {
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
    // The `portcullis admin` command line revokes from another process: follow its writes.
    let follower = portcullis_store_sqlite::follow_other_writers(&store, &cache, stop.clone())
        .await
        .context("cannot follow the SQLite database for other writers")?;
    Ok(Opened {
        backends: Backends {
            // Login-attempt counters are rows of the same database (they survive a restart).
            attempts: Arc::new(store.clone()),
            single_use: Arc::new(store.clone()),
            durable: Arc::new(store),
            revocations: cache,
            stream: None,
        },
        follower: Some(follower),
    })
}

/// After a command has committed revocations on the embedded tier, waits until every running
/// server holds them (see [`SqliteStore::confirm_revocations`]); returns a warning naming any
/// server that did not confirm. Nothing to do on the production tier.
pub async fn confirm_revocations(config: &Config) -> anyhow::Result<Option<String>> {
    let Some(path) = embedded_database(config)? else {
        return Ok(None);
    };
    let store = SqliteStore::open(&path)
        .await
        .with_context(|| format!("cannot open the SQLite database at {}", path.display()))?;
    let unconfirmed = store.confirm_revocations().await?;
    Ok(unconfirmed.map(|unconfirmed| unconfirmed.to_string()))
}

/// The key-encryption key: from config, from a key file only its owner can open, or (embedded
/// tier, [`OnMissing::Create`] only) generated once into `<data_dir>/kek` with owner-only
/// permissions.
pub fn key_encryption_key(
    config: &Config,
    on_missing: OnMissing,
) -> anyhow::Result<KeyEncryptionKey> {
    if let Some(text) = &config.key_encryption_key {
        return Ok(KeyEncryptionKey::from_base64(text.expose())?);
    }
    let file = config
        .key_encryption_key_file
        .clone()
        .unwrap_or_else(|| config.data_dir.join("kek"));
    if file.exists() {
        private_files::check_key_file(&file)?;
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        return Ok(KeyEncryptionKey::from_base64(&text)?);
    }
    if is_production(config) {
        bail!("the production tier needs key_encryption_key (or key_encryption_key_file) shared by every replica");
    }
    if on_missing == OnMissing::Refuse {
        return Err(nothing_at(
            &format!("no key-encryption key at {}", file.display()),
            config,
        ));
    }
    let key = KeyEncryptionKey::generate()?;
    private_files::write_new(&file, key.to_base64().as_bytes())?;
    tracing::info!(path = %file.display(), "generated a new key-encryption key");
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_cluster_without_a_hash_tagged_prefix_is_refused_before_anything_connects() {
        let config = Config {
            database_url: Some("postgres://nobody@127.0.0.1:1/none".to_owned()),
            redis_url: Some("redis+cluster://127.0.0.1:1,127.0.0.1:2".to_owned()),
            redis_prefix: "portcullis:".to_owned(),
            ..Config::default()
        };
        let refused = open(&config, &CancellationToken::new(), OnMissing::Refuse).await;
        let message = refused.err().map(|error| format!("{error:#}"));
        assert!(
            message.as_deref().is_some_and(|m| m.contains("hash tag")),
            "{message:?}"
        );
    }
}
