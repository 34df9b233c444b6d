//! The webhook outbox in SQLite (`webhook_deliveries`, migration 0007): the row written with a
//! chosen event, and the claims, outcomes and listing of [`WebhookOutbox`]. The rules (backoff,
//! lease length, when to give up) are the core's; this module only stores what they decided.
//!
//! A claim is a conditional `UPDATE` inside `BEGIN IMMEDIATE`: SQLite has one writer at a time,
//! so two claims (this process's or another's) are serialised and the second no longer finds the
//! row free. A cheap read first keeps the idle poll from taking the write lock at all.

use crate::error::db_error;
use crate::events::EventRow;
use crate::rows::{from_ms, parse_uuid, to_ms};
use crate::{Conn, SqliteStore};
use async_trait::async_trait;
use portcullis_core::admin::StoredEvent;
use portcullis_core::webhook_outbox::{Claim, ClaimedDelivery, DeliveryState, UndeliveredEntry};
use portcullis_core::{EventKind, StoreError, StoreResult, WebhookOutbox};
use time::OffsetDateTime;
use uuid::Uuid;

/// Writes the pending delivery of event `event_id` in the caller's transaction, due at once.
pub(crate) async fn insert_delivery(
    conn: &mut Conn,
    event_id: i64,
    due: OffsetDateTime,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (event_id, delivery_id, next_attempt_at) VALUES (?, ?, ?)",
    )
    .bind(event_id)
    .bind(Uuid::new_v4().to_string())
    .bind(to_ms(due))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Pending, due by the first bind, and held by no lease alive at the second.
const CLAIMABLE: &str = "d.state = 'pending' AND d.next_attempt_at <= ? \
     AND (d.locked_until IS NULL OR d.locked_until <= ?)";

#[derive(sqlx::FromRow)]
struct CandidateRow {
    delivery_id: String,
    attempts: i64,
    #[sqlx(flatten)]
    event: EventRow,
}

#[derive(sqlx::FromRow)]
struct UndeliveredRow {
    event_id: i64,
    kind: String,
    at: i64,
    state: String,
    attempts: i64,
    next_attempt_at: i64,
    locked_until: Option<i64>,
    last_error: Option<String>,
}

impl TryFrom<UndeliveredRow> for UndeliveredEntry {
    type Error = StoreError;

    fn try_from(row: UndeliveredRow) -> StoreResult<Self> {
        let bad = |what: &str, value: &str| {
            StoreError::Backend(format!("unknown {what} {value:?} in webhook_deliveries").into())
        };
        Ok(UndeliveredEntry {
            event_id: row.event_id,
            kind: EventKind::parse(&row.kind).ok_or_else(|| bad("event kind", &row.kind))?,
            event_at: from_ms(row.at),
            state: DeliveryState::parse(&row.state).ok_or_else(|| bad("state", &row.state))?,
            attempts: count(row.attempts),
            next_attempt_at: from_ms(row.next_attempt_at),
            locked_until: row.locked_until.map(from_ms),
            last_error: row.last_error,
        })
    }
}

fn count(attempts: i64) -> u32 {
    u32::try_from(attempts.max(0)).unwrap_or(u32::MAX)
}

impl SqliteStore {
    /// Whether any row is claimable at `now`, asked of a reader so an idle poll writes nothing.
    async fn any_claimable(&self, now: i64) -> StoreResult<bool> {
        let sql = format!("SELECT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE {CLAIMABLE})");
        sqlx::query_scalar(&sql)
            .bind(now)
            .bind(now)
            .fetch_one(&self.reader)
            .await
            .map_err(db_error)
    }
}

/// Leases one candidate row if it is still claimable; `false` when it was not.
async fn lease_row(conn: &mut Conn, event_id: i64, claim: &Claim) -> StoreResult<bool> {
    let sql = format!(
        "UPDATE webhook_deliveries AS d SET attempts = attempts + 1, lease_id = ?, \
         locked_until = ? WHERE d.event_id = ? AND {CLAIMABLE}"
    );
    let now = to_ms(claim.now);
    let leased = sqlx::query(&sql)
        .bind(claim.lease.to_string())
        .bind(to_ms(claim.lease_until))
        .bind(event_id)
        .bind(now)
        .bind(now)
        .execute(conn)
        .await
        .map_err(db_error)?
        .rows_affected();
    Ok(leased == 1)
}

#[async_trait]
impl WebhookOutbox for SqliteStore {
    #[tracing::instrument(skip_all, fields(limit = claim.limit))]
    async fn claim_deliveries(&self, claim: &Claim) -> StoreResult<Vec<ClaimedDelivery>> {
        let now = to_ms(claim.now);
        if !self.any_claimable(now).await? {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "SELECT d.delivery_id, d.attempts, e.id, e.at, e.kind, e.user_id, e.session_id, \
             e.ip, e.user_agent, e.actor, e.details \
             FROM webhook_deliveries d JOIN security_events e ON e.id = d.event_id \
             WHERE {CLAIMABLE} ORDER BY d.next_attempt_at, d.event_id LIMIT ?"
        );
        let candidates: Vec<CandidateRow> = sqlx::query_as(&sql)
            .bind(now)
            .bind(now)
            .bind(i64::from(claim.limit))
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
        let mut claimed = Vec::with_capacity(candidates.len());
        for row in candidates {
            let stored = StoredEvent::try_from(row.event)?;
            if !lease_row(&mut tx, stored.id, claim).await? {
                continue;
            }
            claimed.push(ClaimedDelivery {
                event_id: stored.id,
                delivery_id: parse_uuid(&row.delivery_id)?,
                attempt: count(row.attempts.saturating_add(1)),
                lease: claim.lease,
                event: stored.event,
            });
        }
        tx.commit().await.map_err(db_error)?;
        Ok(claimed)
    }

    #[tracing::instrument(skip(self))]
    async fn mark_delivered(&self, event_id: i64, now: OffsetDateTime) -> StoreResult<bool> {
        let updated = sqlx::query(
            "UPDATE webhook_deliveries SET state = 'delivered', delivered_at = ?, \
             lease_id = NULL, locked_until = NULL, last_error = NULL \
             WHERE event_id = ? AND state = 'pending'",
        )
        .bind(to_ms(now))
        .bind(event_id)
        .execute(&self.writer)
        .await
        .map_err(db_error)?
        .rows_affected();
        Ok(updated == 1)
    }

    #[tracing::instrument(skip(self, lease, error))]
    async fn mark_failed_attempt(
        &self,
        event_id: i64,
        lease: Uuid,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> StoreResult<bool> {
        let (state, due) = match retry_at {
            Some(at) => (DeliveryState::Pending, Some(to_ms(at))),
            None => (DeliveryState::Failed, None),
        };
        let updated = sqlx::query(
            "UPDATE webhook_deliveries SET state = ?, \
             next_attempt_at = COALESCE(?, next_attempt_at), last_error = ?, \
             lease_id = NULL, locked_until = NULL \
             WHERE event_id = ? AND lease_id = ? AND state = 'pending'",
        )
        .bind(state.as_str())
        .bind(due)
        .bind(error)
        .bind(event_id)
        .bind(lease.to_string())
        .execute(&self.writer)
        .await
        .map_err(db_error)?
        .rows_affected();
        Ok(updated == 1)
    }

    #[tracing::instrument(skip(self))]
    async fn undelivered(&self, limit: u32) -> StoreResult<Vec<UndeliveredEntry>> {
        let rows: Vec<UndeliveredRow> = sqlx::query_as(
            "SELECT d.event_id, e.kind, e.at, d.state, d.attempts, d.next_attempt_at, \
             d.locked_until, d.last_error \
             FROM webhook_deliveries d JOIN security_events e ON e.id = d.event_id \
             WHERE d.state <> 'delivered' ORDER BY d.event_id LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(db_error)?;
        rows.into_iter().map(UndeliveredEntry::try_from).collect()
    }
}
