//! The webhook outbox in Postgres (`webhook_deliveries`, migration 0007): the row written with a
//! chosen event, and the claims, outcomes and listing of [`WebhookOutbox`]. The rules (backoff,
//! lease length, when to give up) are the core's; this module only stores what they decided.
//!
//! Every replica polls the same table. A claim picks rows with `FOR UPDATE SKIP LOCKED`, so
//! concurrent claims pass over each other's rows instead of waiting, and leases them in the same
//! statement: once it commits, `locked_until` keeps them from any other claim until the lease
//! lapses (the holder died) or the holder records the outcome.

use crate::error::db_error;
use crate::events::EventRow;
use crate::{Conn, PgStore};
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
        "INSERT INTO webhook_deliveries (event_id, delivery_id, next_attempt_at) \
         VALUES ($1, $2, $3)",
    )
    .bind(event_id)
    .bind(Uuid::new_v4())
    .bind(due)
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Leases the due, unheld rows and returns them with their events; binds the lease, its end,
/// `now` and the limit.
const CLAIM: &str = "WITH claimed AS ( \
       UPDATE webhook_deliveries d \
       SET attempts = d.attempts + 1, lease_id = $1, locked_until = $2 \
       WHERE d.event_id IN ( \
         SELECT event_id FROM webhook_deliveries \
         WHERE state = 'pending' AND next_attempt_at <= $3 \
           AND (locked_until IS NULL OR locked_until <= $3) \
         ORDER BY next_attempt_at, event_id LIMIT $4 \
         FOR UPDATE SKIP LOCKED) \
       RETURNING d.event_id, d.delivery_id, d.attempts, d.next_attempt_at) \
     SELECT c.delivery_id, c.attempts, e.id, e.at, e.kind, e.user_id, e.session_id, e.ip, \
       e.user_agent, e.actor, e.details::text AS details \
     FROM claimed c JOIN security_events e ON e.id = c.event_id \
     ORDER BY c.next_attempt_at, c.event_id";

#[derive(sqlx::FromRow)]
struct ClaimedRow {
    delivery_id: Uuid,
    attempts: i32,
    #[sqlx(flatten)]
    event: EventRow,
}

#[derive(sqlx::FromRow)]
struct UndeliveredRow {
    event_id: i64,
    kind: String,
    at: OffsetDateTime,
    state: String,
    attempts: i32,
    next_attempt_at: OffsetDateTime,
    locked_until: Option<OffsetDateTime>,
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
            event_at: row.at,
            state: DeliveryState::parse(&row.state).ok_or_else(|| bad("state", &row.state))?,
            attempts: count(row.attempts),
            next_attempt_at: row.next_attempt_at,
            locked_until: row.locked_until,
            last_error: row.last_error,
        })
    }
}

fn count(attempts: i32) -> u32 {
    u32::try_from(attempts.max(0)).unwrap_or(0)
}

#[async_trait]
impl WebhookOutbox for PgStore {
    #[tracing::instrument(skip_all, fields(limit = claim.limit))]
    async fn claim_deliveries(&self, claim: &Claim) -> StoreResult<Vec<ClaimedDelivery>> {
        let rows: Vec<ClaimedRow> = sqlx::query_as(CLAIM)
            .bind(claim.lease)
            .bind(claim.lease_until)
            .bind(claim.now)
            .bind(i64::from(claim.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.into_iter()
            .map(|row| {
                let stored = StoredEvent::try_from(row.event)?;
                Ok(ClaimedDelivery {
                    event_id: stored.id,
                    delivery_id: row.delivery_id,
                    attempt: count(row.attempts),
                    lease: claim.lease,
                    event: stored.event,
                })
            })
            .collect()
    }

    #[tracing::instrument(skip(self))]
    async fn mark_delivered(&self, event_id: i64, now: OffsetDateTime) -> StoreResult<bool> {
        let updated = sqlx::query(
            "UPDATE webhook_deliveries SET state = 'delivered', delivered_at = $1, \
             lease_id = NULL, locked_until = NULL, last_error = NULL \
             WHERE event_id = $2 AND state = 'pending'",
        )
        .bind(now)
        .bind(event_id)
        .execute(&self.pool)
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
        let state = match retry_at {
            Some(_) => DeliveryState::Pending,
            None => DeliveryState::Failed,
        };
        let updated = sqlx::query(
            "UPDATE webhook_deliveries SET state = $1, \
             next_attempt_at = COALESCE($2, next_attempt_at), last_error = $3, \
             lease_id = NULL, locked_until = NULL \
             WHERE event_id = $4 AND lease_id = $5 AND state = 'pending'",
        )
        .bind(state.as_str())
        .bind(retry_at)
        .bind(error)
        .bind(event_id)
        .bind(lease)
        .execute(&self.pool)
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
             WHERE d.state <> 'delivered' ORDER BY d.event_id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.into_iter().map(UndeliveredEntry::try_from).collect()
    }
}
