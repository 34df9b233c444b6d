//! The embedded storage tier: SQLite (WAL) through sqlx as the durable store, an in-process
//! revocation cache filled from it at start; the login-attempt counters and single-use keys live
//! in the database too, so they survive a restart.
//!
//! Writes go through a single-connection pool and `BEGIN IMMEDIATE`, so transactions in this
//! process never race each other for SQLite's write lock; reads use a separate read-only pool.
//! Every revocation fact is also appended to the revocation log by triggers, in the writing
//! transaction (migration 0009; `revocation_log.rs` reads it). This crate owns SQL for SQLite
//! and nothing else: every rule it applies comes from `portcullis-core`.

mod admin_keys;
mod attempts;
mod error;
mod events;
mod family_rows;
mod followers;
mod memory_cache;
mod retention;
mod revocation_log;
mod revocation_store;
mod rotation;
mod rows;
mod session_admin;
mod sessions;
mod signing_keys;
mod single_use;
mod users;
mod webhook_outbox;

pub use followers::{follow_other_writers, Follower, Unconfirmed, CONFIRM_WITHIN};
pub use memory_cache::MemoryRevocationCache;

use async_trait::async_trait;
use error::db_error;
use portcullis_core::{Durable, StoreError, StoreResult};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::path::Path;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// A transaction's connection, as the helper functions take it.
pub(crate) type Conn = sqlx::SqliteConnection;

/// The SQLite durable store.
#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file. Call [`SqliteStore::migrate`] before use.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a revocation acknowledged to a caller survives a power cut, not just a crash.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Deleted rows are overwritten with zeros in the database file, so an erased
            // account's email and password hash do not linger in free pages.
            .pragma("secure_delete", "ON")
            .busy_timeout(Duration::from_secs(5));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.clone())
            .await
            .map_err(db_error)?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(options.read_only(true));
        Ok(Self { writer, reader })
    }

    /// Applies pending migrations from `migrations/sqlite/`.
    pub async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR
            .run(&self.writer)
            .await
            .map_err(|error| StoreError::Backend(format!("migration failed: {error}").into()))
    }

    /// A watcher that tells when any other connection (this process's writer, or another
    /// process such as the `portcullis admin` CLI) has committed to the database.
    pub async fn change_watcher(&self) -> StoreResult<ChangeWatcher> {
        let connection = self.reader.acquire().await.map_err(db_error)?.detach();
        let mut watcher = ChangeWatcher {
            connection,
            last: 0,
        };
        watcher.last = watcher.data_version().await?;
        Ok(watcher)
    }

    async fn begin_write(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_error)
    }
}

#[async_trait]
impl Durable for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}

/// Polls SQLite's `data_version`, which changes whenever another connection commits.
pub struct ChangeWatcher {
    connection: sqlx::SqliteConnection,
    last: i64,
}

impl ChangeWatcher {
    async fn data_version(&mut self) -> StoreResult<i64> {
        sqlx::query_scalar("PRAGMA data_version")
            .fetch_one(&mut self.connection)
            .await
            .map_err(db_error)
    }

    /// True when something was committed since the previous call.
    pub async fn changed(&mut self) -> StoreResult<bool> {
        let version = self.data_version().await?;
        let changed = version != self.last;
        self.last = version;
        Ok(changed)
    }
}
