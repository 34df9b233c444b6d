//! The embedded tier's handshake between a process that revokes (the `portcullis admin` command
//! line) and the running servers that hold revocation state in memory: notices posted after a
//! revocation commits, and each server's acknowledgement of the newest notice it has merged.
//! See `migrations/sqlite/0005_revocation_notices.sql`.
//!
//! This module owns the whole handshake: a server registers and follows the database
//! ([`follow_other_writers`]); a command confirms its revocations
//! ([`SqliteStore::confirm_revocations`]). It never decides what is revoked: it only copies the
//! durable facts into the process's cache.

use crate::error::db_error;
use crate::{MemoryRevocationCache, SqliteStore};
use portcullis_core::Causes;
use portcullis_core::{RevocationCache, RevocationStore, StoreResult};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often the embedded tier looks for revocations written by another process.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(100);
/// How long a revoking command waits for running servers to confirm they hold its revocation.
pub const CONFIRM_WITHIN: Duration = Duration::from_secs(3);

/// An in-memory copy of the revocation state, the process holding it, and the newest notice
/// merged into it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Follower {
    pub id: String,
    pub pid: u32,
    pub acknowledged: i64,
}

fn now_text() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

impl SqliteStore {
    /// Registers `id`, a copy of the revocation state in process `pid`, as having merged every
    /// notice so far (it loads the whole state after this).
    pub async fn register_follower(&self, id: &str, pid: u32) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO cache_followers (id, pid, acknowledged_seq, started_at) \
             VALUES (?1, ?2, (SELECT COALESCE(MAX(seq), 0) FROM revocation_notices), ?3)",
        )
        .bind(id)
        .bind(i64::from(pid))
        .bind(now_text())
        .execute(&self.writer)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    /// Removes copy `id` (its server stopped following the database).
    pub async fn forget_follower(&self, id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM cache_followers WHERE id = ?1")
            .bind(id)
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    /// Removes every copy held by process `pid` (on exit, or a crashed process found dead).
    pub async fn forget_followers_of(&self, pid: u32) -> StoreResult<()> {
        sqlx::query("DELETE FROM cache_followers WHERE pid = ?1")
            .bind(i64::from(pid))
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    /// The newest notice; read *before* merging the revocation state, so that acknowledging it
    /// afterwards never claims more than was merged.
    pub async fn latest_notice(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM revocation_notices")
            .fetch_one(&self.reader)
            .await
            .map_err(db_error)
    }

    /// Records that copy `id` has merged every revocation up to notice `seq`.
    pub async fn acknowledge(&self, id: &str, seq: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE cache_followers SET acknowledged_seq = MAX(acknowledged_seq, ?2) WHERE id = ?1",
        )
        .bind(id)
        .bind(seq)
        .execute(&self.writer)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    /// Posts a notice that revocations have committed; returns its number.
    pub async fn post_notice(&self) -> StoreResult<i64> {
        sqlx::query_scalar("INSERT INTO revocation_notices (created_at) VALUES (?1) RETURNING seq")
            .bind(now_text())
            .fetch_one(&self.writer)
            .await
            .map_err(db_error)
    }

    /// Every registered process.
    pub async fn followers(&self) -> StoreResult<Vec<Follower>> {
        let rows: Vec<(String, i64, i64)> =
            sqlx::query_as("SELECT id, pid, acknowledged_seq FROM cache_followers")
                .fetch_all(&self.reader)
                .await
                .map_err(db_error)?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, pid, acknowledged)| {
                Some(Follower {
                    id,
                    pid: u32::try_from(pid).ok()?,
                    acknowledged,
                })
            })
            .collect())
    }
}

/// The running servers that did not confirm a revocation within [`CONFIRM_WITHIN`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unconfirmed {
    pub pids: Vec<u32>,
}

impl fmt::Display for Unconfirmed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the server process {:?} did not confirm the revocation within {}s; it applies it as \
             soon as it reads the database",
            self.pids,
            CONFIRM_WITHIN.as_secs()
        )
    }
}

/// The embedded tier's cache lives in this process, but the `portcullis admin` CLI writes to the
/// same database from another one. Watch for commits and merge the durable revocation facts
/// in; then acknowledge the newest revocation notice read before merging, which the command
/// waits for (see [`SqliteStore::confirm_revocations`]).
///
/// Registers before returning; the returned task follows until `stop` is cancelled, then
/// removes its registration so that no command waits for a server that has stopped.
pub async fn follow_other_writers(
    store: &SqliteStore,
    cache: &Arc<MemoryRevocationCache>,
    stop: CancellationToken,
) -> StoreResult<JoinHandle<()>> {
    let mut watcher = store.change_watcher().await?;
    let id = uuid::Uuid::new_v4().to_string();
    forget_dead_followers(store).await;
    store.register_follower(&id, std::process::id()).await?;
    let (store, cache) = (store.clone(), Arc::clone(cache));
    Ok(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(FOLLOW_INTERVAL);
        let mut acknowledged = 0;
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = ticks.tick() => {}
            }
            match watcher.changed().await {
                Ok(false) => {}
                Ok(true) => {
                    let now = OffsetDateTime::now_utc();
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
                            tracing::warn!(error = %Causes(&error), "could not merge revocations written elsewhere");
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %Causes(&error), "could not poll the SQLite database")
                }
            }
        }
        if let Err(error) = store.forget_follower(&id).await {
            tracing::warn!(error = %Causes(&error), "could not unregister from the SQLite database");
        }
    }))
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

impl SqliteStore {
    /// After a command has committed revocations on the embedded tier: posts a notice and waits
    /// until every running server has merged it into the state it verifies tokens with, so that
    /// "once the command has returned" holds there as it does on the production tier. A server
    /// that does not confirm within [`CONFIRM_WITHIN`] (stopped, or a process id reused) is
    /// named in the returned [`Unconfirmed`]; the revocation is committed either way.
    pub async fn confirm_revocations(&self) -> StoreResult<Option<Unconfirmed>> {
        // This command's own copy (it opened the store too) is not a running server.
        let _ = self.forget_followers_of(std::process::id()).await;
        let notice = self.post_notice().await?;
        let deadline = tokio::time::Instant::now() + CONFIRM_WITHIN;
        loop {
            let mut waiting: Vec<u32> = self
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
                return Ok(Some(Unconfirmed { pids: waiting }));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
