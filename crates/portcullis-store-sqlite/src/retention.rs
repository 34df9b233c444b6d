//! The retention pass in SQLite: deletes, in bounded batches, the rows that
//! [`portcullis_core::retention`] lets go. The rule is the core's; the predicates below only
//! restate [`Cutoffs::family_may_go`] and its siblings in SQL.
//!
//! Each batch is its own `BEGIN IMMEDIATE` transaction on the single writer connection, so
//! requests' writes wait at most one batch; one process owns the file, so no lock is needed to
//! keep passes apart.

use crate::error::db_error;
use crate::rows::to_ms;
use crate::SqliteStore;
use async_trait::async_trait;
use portcullis_core::retention::{Cutoffs, Purged};
use portcullis_core::store::RetentionStore;
use portcullis_core::StoreResult;

/// Which families a delete is about: the condition (with its binds) and the order that walks
/// the matching partial index of migration 0004 (expressions spelled exactly as there).
struct Families {
    condition: &'static str,
    order: &'static str,
}

/// Ended families never revoked; binds `family_ended_before`.
const UNREVOKED_ENDED: Families = Families {
    condition: "f.revoked_at IS NULL AND min(f.idle_expires_at, f.absolute_expires_at) < ?",
    order: "min(f.idle_expires_at, f.absolute_expires_at)",
};

/// Ended families revoked long enough ago whose access tokens are no longer denied; binds
/// `revoked_before`, `family_ended_before`, `denial_lapsed_before`.
const REVOKED_ENDED: Families = Families {
    condition: "f.revoked_at IS NOT NULL AND f.revoked_at < ? \
         AND min(f.idle_expires_at, f.absolute_expires_at) < ? \
         AND (f.deny_until IS NULL OR f.deny_until < ?)",
    order: "f.revoked_at",
};

impl SqliteStore {
    /// Runs one bounded delete (`binds`, then the batch size for its `LIMIT`) in its own
    /// transaction until a batch deletes fewer rows than the limit; returns how many went.
    async fn delete_in_batches(&self, sql: &str, binds: &[i64], batch: u32) -> StoreResult<u64> {
        let mut total = 0;
        loop {
            let mut tx = self.begin_write().await?;
            let mut query = sqlx::query(sql);
            for value in binds {
                query = query.bind(*value);
            }
            let deleted = query
                .bind(i64::from(batch))
                .execute(&mut *tx)
                .await
                .map_err(db_error)?
                .rows_affected();
            tx.commit().await.map_err(db_error)?;
            total += deleted;
            // Committing returns the writer connection to the pool, where waiting request
            // writers get it before the next batch does.
            if deleted < u64::from(batch) {
                return Ok(total);
            }
        }
    }
}

/// Tokens first, so deleting a family never cascades into an unbounded number of them.
fn tokens_of(families: &Families) -> String {
    let Families { condition, order } = families;
    format!(
        "DELETE FROM refresh_tokens WHERE hash IN (SELECT t.hash FROM refresh_families f \
         JOIN refresh_tokens t ON t.family_id = f.id WHERE {condition} ORDER BY {order} LIMIT ?)"
    )
}

fn families(families: &Families) -> String {
    let Families { condition, order } = families;
    format!(
        "DELETE FROM refresh_families WHERE id IN \
         (SELECT f.id FROM refresh_families f WHERE {condition} ORDER BY {order} LIMIT ?)"
    )
}

#[async_trait]
impl RetentionStore for SqliteStore {
    #[tracing::instrument(skip_all)]
    async fn purge(&self, cutoffs: &Cutoffs, batch: u32) -> StoreResult<Option<Purged>> {
        let batch = batch.max(1);
        let ended = to_ms(cutoffs.family_ended_before);
        let revoked = [
            to_ms(cutoffs.revoked_before),
            ended,
            to_ms(cutoffs.denial_lapsed_before),
        ];
        let mut purged = Purged::default();
        for (which, binds) in [
            (&UNREVOKED_ENDED, &[ended][..]),
            (&REVOKED_ENDED, &revoked[..]),
        ] {
            purged.refresh_tokens += self
                .delete_in_batches(&tokens_of(which), binds, batch)
                .await?;
            purged.families += self
                .delete_in_batches(&families(which), binds, batch)
                .await?;
        }
        purged.denied_jtis = self
            .delete_in_batches(
                "DELETE FROM denied_jtis WHERE jti IN \
                 (SELECT jti FROM denied_jtis WHERE expires_at < ? ORDER BY expires_at LIMIT ?)",
                &[to_ms(cutoffs.jti_lapsed_before)],
                batch,
            )
            .await?;
        // Cutoffs::single_use_may_go, in SQL.
        purged.single_uses = self
            .delete_in_batches(
                "DELETE FROM single_uses WHERE key IN \
                 (SELECT key FROM single_uses WHERE until < ? ORDER BY until LIMIT ?)",
                &[to_ms(cutoffs.jti_lapsed_before)],
                batch,
            )
            .await?;
        purged.erased_users = self
            .delete_in_batches(
                "DELETE FROM erased_users WHERE id IN \
                 (SELECT id FROM erased_users WHERE deny_until < ? ORDER BY deny_until LIMIT ?)",
                &[to_ms(cutoffs.denial_lapsed_before)],
                batch,
            )
            .await?;
        if let Some(before) = cutoffs.events_before {
            purged.events = self
                .delete_in_batches(
                    "DELETE FROM security_events WHERE id IN \
                     (SELECT id FROM security_events WHERE at < ? ORDER BY at LIMIT ?)",
                    &[to_ms(before)],
                    batch,
                )
                .await?;
        }
        purged.revocation_log = self
            .delete_in_batches(
                "DELETE FROM revocation_log WHERE epoch IN \
                 (SELECT epoch FROM revocation_log WHERE logged_at < ? ORDER BY logged_at LIMIT ?)",
                &[to_ms(cutoffs.revocation_log_before)],
                batch,
            )
            .await?;
        Ok(Some(purged))
    }
}
