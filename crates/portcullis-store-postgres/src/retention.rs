//! The retention pass in Postgres: deletes, in bounded batches, the rows that
//! [`portcullis_core::retention`] lets go. The rule is the core's; the predicates below only
//! restate [`Cutoffs::family_may_go`] and its siblings in SQL.
//!
//! One replica at a time: a pass holds a session-level advisory lock on a connection taken out
//! of the pool for the pass, so if the pass dies half-way the connection closes and the lock
//! goes with it. Each batch is one autocommitted statement, bounded by `statement_timeout`.

use crate::error::db_error;
use crate::{Conn, PgStore};
use async_trait::async_trait;
use portcullis_core::retention::{Cutoffs, Purged};
use portcullis_core::store::RetentionStore;
use portcullis_core::StoreResult;
use sqlx::Connection;
use time::OffsetDateTime;

/// The advisory lock key that keeps retention passes of several replicas apart ("portretn" in
/// ASCII; see `signing_keys.rs` for why a per-database key cannot collide with other applications').
const RETENTION_LOCK: i64 = 0x706f_7274_7265_746e;

/// Which families a delete is about: the condition and the order that lets the planner walk
/// the matching partial index of migration 0004 (expressions spelled exactly as there) and
/// stop after one batch, instead of scanning the table for a batch that is not full.
struct Families {
    condition: &'static str,
    order: &'static str,
}

/// Ended families never revoked; `$1` is `family_ended_before`.
const UNREVOKED_ENDED: Families = Families {
    condition: "f.revoked_at IS NULL AND LEAST(f.idle_expires_at, f.absolute_expires_at) < $1",
    order: "LEAST(f.idle_expires_at, f.absolute_expires_at)",
};

/// Ended families revoked long enough ago whose access tokens are no longer denied; `$1`
/// `family_ended_before`, `$2` `revoked_before`, `$3` `denial_lapsed_before`.
const REVOKED_ENDED: Families = Families {
    condition: "f.revoked_at IS NOT NULL AND f.revoked_at < $2 \
         AND LEAST(f.idle_expires_at, f.absolute_expires_at) < $1 \
         AND (f.deny_until IS NULL OR f.deny_until < $3)",
    order: "f.revoked_at",
};

/// Tokens first, so deleting a family never cascades into an unbounded number of them.
/// `FOR SHARE OF f` keeps the families' rows as they were judged until the batch commits (a
/// concurrent revocation waits, or is seen and excludes the family); `SKIP LOCKED` passes over
/// families a rotation holds right now (they are left for the next pass). `= ANY(ARRAY(...))`
/// makes the outer delete a primary-key lookup rather than a join the planner may hash.
fn tokens_of(families: &Families, binds: usize) -> String {
    let Families { condition, order } = families;
    let limit = binds + 1;
    format!(
        "DELETE FROM refresh_tokens WHERE hash = ANY(ARRAY(SELECT t.hash FROM refresh_families f \
         JOIN refresh_tokens t ON t.family_id = f.id WHERE {condition} \
         ORDER BY {order} LIMIT ${limit} FOR SHARE OF f SKIP LOCKED))"
    )
}

/// The condition is repeated outside the subquery: a row changed while the statement waited is
/// judged again as it now stands.
fn families(families: &Families, binds: usize) -> String {
    let Families { condition, order } = families;
    let limit = binds + 1;
    format!(
        "DELETE FROM refresh_families f WHERE f.id = ANY(ARRAY(SELECT f.id FROM refresh_families f \
         WHERE {condition} ORDER BY {order} LIMIT ${limit} FOR UPDATE SKIP LOCKED)) AND {condition}"
    )
}

/// Runs one bounded delete (`binds`, then the batch size) until a batch deletes fewer rows than
/// the limit; returns how many went.
async fn delete_in_batches(
    conn: &mut Conn,
    sql: &str,
    binds: &[OffsetDateTime],
    batch: u32,
) -> StoreResult<u64> {
    let mut total = 0;
    loop {
        let mut query = sqlx::query(sql);
        for value in binds {
            query = query.bind(*value);
        }
        let deleted = query
            .bind(i64::from(batch))
            .execute(&mut *conn)
            .await
            .map_err(db_error)?
            .rows_affected();
        total += deleted;
        if deleted < u64::from(batch) {
            return Ok(total);
        }
    }
}

async fn purge_locked(conn: &mut Conn, cutoffs: &Cutoffs, batch: u32) -> StoreResult<Purged> {
    let ended = cutoffs.family_ended_before;
    let revoked = [ended, cutoffs.revoked_before, cutoffs.denial_lapsed_before];
    let mut purged = Purged::default();
    for (which, binds) in [
        (&UNREVOKED_ENDED, &[ended][..]),
        (&REVOKED_ENDED, &revoked[..]),
    ] {
        purged.refresh_tokens +=
            delete_in_batches(conn, &tokens_of(which, binds.len()), binds, batch).await?;
        purged.families +=
            delete_in_batches(conn, &families(which, binds.len()), binds, batch).await?;
    }
    purged.denied_jtis = delete_in_batches(
        conn,
        "DELETE FROM denied_jtis WHERE jti = ANY(ARRAY(SELECT jti FROM denied_jtis \
         WHERE expires_at < $1 ORDER BY expires_at LIMIT $2))",
        &[cutoffs.jti_lapsed_before],
        batch,
    )
    .await?;
    purged.erased_users = delete_in_batches(
        conn,
        "DELETE FROM erased_users WHERE id = ANY(ARRAY(SELECT id FROM erased_users \
         WHERE deny_until < $1 ORDER BY deny_until LIMIT $2))",
        &[cutoffs.denial_lapsed_before],
        batch,
    )
    .await?;
    if let Some(before) = cutoffs.events_before {
        purged.events = delete_in_batches(
            conn,
            "DELETE FROM security_events WHERE id = ANY(ARRAY(SELECT id FROM security_events \
             WHERE at < $1 ORDER BY at LIMIT $2))",
            &[before],
            batch,
        )
        .await?;
    }
    // Entries are stamped with their transaction's start, so around the cut-off an entry may
    // go while an earlier-numbered one stays: a reader that far behind is told it was purged.
    purged.revocation_log = delete_in_batches(
        conn,
        "DELETE FROM revocation_log WHERE epoch = ANY(ARRAY(SELECT epoch FROM revocation_log \
         WHERE logged_at < $1 ORDER BY logged_at LIMIT $2))",
        &[cutoffs.revocation_log_before],
        batch,
    )
    .await?;
    Ok(purged)
}

#[async_trait]
impl RetentionStore for PgStore {
    #[tracing::instrument(skip_all)]
    async fn purge(&self, cutoffs: &Cutoffs, batch: u32) -> StoreResult<Option<Purged>> {
        // Out of the pool: the lock belongs to this connection's session, and a connection
        // returned to the pool while holding it would keep every replica's passes out.
        let mut conn = self.pool.acquire().await.map_err(db_error)?.detach();
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(RETENTION_LOCK)
            .fetch_one(&mut conn)
            .await
            .map_err(db_error)?;
        let result = if locked {
            let purged = purge_locked(&mut conn, cutoffs, batch.max(1)).await;
            // Released before this call returns: the server drops a closed session's locks only
            // once its backend has exited, which a pass started right after could still race.
            let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(RETENTION_LOCK)
                .execute(&mut conn)
                .await;
            purged.map(Some)
        } else {
            Ok(None)
        };
        // Closing ends the session, which releases the lock whatever happened above.
        let _ = conn.close().await;
        result
    }
}
