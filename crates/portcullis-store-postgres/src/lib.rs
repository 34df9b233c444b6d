//! The durable store of the production tier: Postgres through sqlx, implementing
//! [`portcullis_core::Durable`] with the same semantics as the SQLite store.
//!
//! Every call is bounded: a connection must be acquired within the acquire timeout, and every
//! statement, and every lock wait (a commit's included), is cancelled by the server after the
//! statement timeout, so a sick database turns into [`StoreError::Unavailable`] rather than a
//! hung request. Rotation serialises on the family row (`SELECT ... FOR UPDATE`) and applies
//! [`portcullis_core::rotation::decide`] inside one transaction; webhook deliveries are claimed
//! with `FOR UPDATE SKIP LOCKED` under a lease (`webhook_outbox.rs`). Every revocation fact is
//! also appended to the revocation log by triggers deferred to the commit, numbered under one
//! row's lock (migration 0009; `revocation_log.rs` reads it). This crate owns SQL for Postgres
//! and nothing else: every rule it applies comes from `portcullis-core`, and sqlx never leaks out
//! of it.

mod admin_keys;
mod error;
mod events;
mod family_rows;
mod retention;
mod revocation_log;
mod revocation_store;
mod rotation;
mod rows;
mod session_admin;
mod sessions;
mod signing_keys;
mod users;
mod webhook_outbox;

use async_trait::async_trait;
use error::db_error;
use portcullis_core::{Durable, StoreError, StoreResult};
use sqlx::pool::PoolOptions;
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::{ConnectOptions, Connection, PgConnection, Postgres, Transaction};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// Pool size and the bounds put on every call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PgOptions {
    pub max_connections: u32,
    /// How long a call may wait for a pooled connection (including opening one).
    pub acquire_timeout: Duration,
    /// The server-side `statement_timeout` of every pooled connection, and its `lock_timeout`.
    pub statement_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(2),
        }
    }
}

/// The Postgres durable store.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// The same server without the statement timeout, for migrations (an index build may
    /// legitimately take longer than any request should).
    admin: PgConnectOptions,
    connect_timeout: Duration,
}

impl PgStore {
    /// Opens a pool to `url` and checks that one connection can be made. Call
    /// [`PgStore::migrate`] before use.
    #[tracing::instrument(skip_all)]
    pub async fn connect(url: &str, options: PgOptions) -> StoreResult<Self> {
        let admin = PgConnectOptions::from_str(url)
            .map_err(|error| StoreError::Backend(format!("invalid database url: {error}").into()))?
            .application_name("portcullis");
        let timeout_ms = options.statement_timeout.as_millis().max(1);
        let pooled = admin.clone().options([
            ("statement_timeout", format!("{timeout_ms}ms")),
            // The same bound on a lock wait, for the one place the statement timeout does not
            // reach: the commit, where the revocation log's triggers wait for its head row.
            ("lock_timeout", format!("{timeout_ms}ms")),
            // A transaction left open by a cancelled request must not hold its row locks for
            // long; no transaction of this store legitimately idles.
            (
                "idle_in_transaction_session_timeout",
                format!("{}ms", timeout_ms.saturating_mul(5)),
            ),
        ]);
        let pool = PoolOptions::<Postgres>::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(pooled)
            .await
            .map_err(db_error)?;
        Ok(Self {
            pool,
            admin,
            connect_timeout: options.acquire_timeout,
        })
    }

    /// Applies pending migrations from `migrations/postgres/`. sqlx takes an advisory lock, so
    /// replicas starting together migrate once.
    #[tracing::instrument(skip_all)]
    pub async fn migrate(&self) -> StoreResult<()> {
        let mut conn = tokio::time::timeout(self.connect_timeout, self.admin.connect())
            .await
            .map_err(|_| StoreError::Unavailable("timed out connecting to Postgres".into()))?
            .map_err(db_error)?;
        let result = MIGRATOR
            .run(&mut conn)
            .await
            .map_err(|error| StoreError::Backend(format!("migration failed: {error}").into()));
        // Closing is best effort: the migration's outcome is what the caller needs.
        let _ = conn.close().await;
        result
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn begin(&self) -> StoreResult<Transaction<'static, Postgres>> {
        self.pool.begin().await.map_err(db_error)
    }
}

/// A transaction's connection, as the helper functions take it.
pub(crate) type Conn = PgConnection;

#[async_trait]
impl Durable for PgStore {
    #[tracing::instrument(skip_all)]
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}
