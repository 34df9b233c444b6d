//! [`RevocationLog`] in Postgres: reading back the log that the triggers of migration 0009 write
//! in every transaction that commits a revocation fact. This module only reads; what an entry
//! means and what a read answers is the core's ([`LogRead::from_entries`]).

use crate::error::db_error;
use crate::PgStore;
use async_trait::async_trait;
use portcullis_core::{LogEntry, LogRead, RevocationLog, StoreError, StoreResult};
use time::OffsetDateTime;

/// One row of a read: the head on every row, joined with the entries found, if any, so that a
/// read finding none still returns the head, from the same snapshot as the entries.
#[derive(sqlx::FromRow)]
struct LogRow {
    head: i64,
    epoch: Option<i64>,
    kind: Option<String>,
    subject: Option<String>,
    version: Option<i64>,
    until: Option<OffsetDateTime>,
}

impl LogRow {
    fn entry(self) -> Option<LogEntry> {
        Some(LogEntry {
            epoch: self.epoch?,
            kind: self.kind?,
            subject: self.subject?,
            version: self.version,
            until: self.until,
        })
    }
}

#[async_trait]
impl RevocationLog for PgStore {
    #[tracing::instrument(skip_all)]
    async fn revocation_log_head(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT epoch FROM revocation_log_head")
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)
    }

    /// One statement, so one snapshot: an entry committed while the read runs is either among
    /// the entries and under the head, or in neither, and cannot look like a purged one.
    #[tracing::instrument(skip_all, fields(after, limit))]
    async fn revocation_log_since(&self, after: i64, limit: u32) -> StoreResult<LogRead> {
        let rows: Vec<LogRow> = sqlx::query_as(
            "SELECT h.epoch AS head, l.epoch, l.kind, l.subject, l.version, l.until \
             FROM revocation_log_head h LEFT JOIN (SELECT epoch, kind, subject, version, until \
             FROM revocation_log WHERE epoch > $1 ORDER BY epoch LIMIT $2) l ON true \
             ORDER BY l.epoch",
        )
        .bind(after)
        .bind(i64::from(limit.max(1)))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        let head = rows
            .first()
            .map(|row| row.head)
            .ok_or_else(|| StoreError::Backend("the revocation log has no head row".into()))?;
        LogRead::from_entries(after, head, rows.into_iter().filter_map(LogRow::entry))
    }
}
