//! The security-event audit trail in Postgres: append and read back, never update or delete.
//! Details are stored as jsonb, so they come back as equivalent JSON, not byte-identical text.

use crate::error::db_error;
use crate::PgStore;
use async_trait::async_trait;
use portcullis_core::{
    ClientInfo, EventKind, EventStore, SecurityEvent, SessionId, StoreResult, UserId,
};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(sqlx::FromRow)]
struct EventRow {
    at: OffsetDateTime,
    kind: String,
    user_id: Option<Uuid>,
    session_id: Option<Uuid>,
    ip: Option<String>,
    user_agent: Option<String>,
    details: String,
}

impl EventRow {
    /// `None` for a kind this build does not know (written by a newer version).
    fn into_event(self) -> Option<SecurityEvent> {
        Some(SecurityEvent {
            at: self.at,
            kind: EventKind::parse(&self.kind)?,
            user_id: self.user_id.map(UserId),
            session_id: self.session_id.map(SessionId),
            client: ClientInfo {
                ip: self.ip,
                user_agent: self.user_agent,
            },
            details: self.details,
        })
    }
}

#[async_trait]
impl EventStore for PgStore {
    #[tracing::instrument(skip_all, fields(kind = event.kind.as_str()))]
    async fn record_event(&self, event: &SecurityEvent) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO security_events (at, kind, user_id, session_id, ip, user_agent, details) \
             VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
        )
        .bind(event.at)
        .bind(event.kind.as_str())
        .bind(event.user_id.map(|id| id.0))
        .bind(event.session_id.map(|id| id.0))
        .bind(&event.client.ip)
        .bind(&event.client.user_agent)
        .bind(&event.details)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn recent_events(
        &self,
        kind: Option<EventKind>,
        limit: u32,
    ) -> StoreResult<Vec<SecurityEvent>> {
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT at, kind, user_id, session_id, ip, user_agent, details::text AS details \
             FROM security_events WHERE ($1::text IS NULL OR kind = $1) \
             ORDER BY id DESC LIMIT $2",
        )
        .bind(kind.map(EventKind::as_str))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(rows.into_iter().filter_map(EventRow::into_event).collect())
    }
}
