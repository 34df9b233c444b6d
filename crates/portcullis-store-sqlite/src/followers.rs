//! The embedded tier's handshake between a process that revokes (the `portcullis admin` command
//! line) and the running servers that hold revocation state in memory: notices posted after a
//! revocation commits, and each server's acknowledgement of the newest notice it has merged.
//! See `migrations/sqlite/0005_revocation_notices.sql`.

use crate::{db_error, SqliteStore};
use portcullis_core::StoreResult;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

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
