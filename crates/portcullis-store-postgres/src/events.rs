//! The security-event audit trail in Postgres: append and read back, never update. Events older
//! than `event_retention` are deleted only by the retention pass (`retention.rs`).
//! Details are stored as jsonb, so they come back as equivalent JSON, not byte-identical text.
//! A chosen event's webhook delivery row is written here, in the event's transaction
//! (`webhook_outbox.rs` works it).

use crate::error::db_error;
use crate::webhook_outbox;
use crate::{Conn, PgStore};
use async_trait::async_trait;
use portcullis_core::admin::{EventQuery, StoredEvent};
use portcullis_core::{
    ClientInfo, EventKind, EventStore, SecurityEvent, SessionId, StoreError, StoreResult, UserId,
};
use sqlx::QueryBuilder;
use time::OffsetDateTime;
use uuid::Uuid;

/// An event as read back; `webhook_outbox.rs` reads the same columns.
#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    id: i64,
    at: OffsetDateTime,
    kind: String,
    user_id: Option<Uuid>,
    session_id: Option<Uuid>,
    ip: Option<String>,
    user_agent: Option<String>,
    actor: Option<String>,
    details: String,
}

impl TryFrom<EventRow> for StoredEvent {
    type Error = StoreError;

    fn try_from(row: EventRow) -> StoreResult<Self> {
        let kind = EventKind::parse(&row.kind).ok_or_else(|| {
            StoreError::Backend(format!("unknown event kind {:?} in database", row.kind).into())
        })?;
        Ok(StoredEvent {
            id: row.id,
            event: SecurityEvent {
                at: row.at,
                kind,
                user_id: row.user_id.map(UserId),
                session_id: row.session_id.map(SessionId),
                client: ClientInfo {
                    ip: row.ip,
                    user_agent: row.user_agent,
                },
                actor: row.actor,
                details: row.details,
            },
        })
    }
}

/// Appends one event in the caller's transaction and returns its id.
async fn insert_event(conn: &mut Conn, event: &SecurityEvent) -> StoreResult<i64> {
    sqlx::query_scalar(
        "INSERT INTO security_events (at, kind, user_id, session_id, ip, user_agent, actor, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb) RETURNING id",
    )
    .bind(event.at)
    .bind(event.kind.as_str())
    .bind(event.user_id.map(|id| id.0))
    .bind(event.session_id.map(|id| id.0))
    .bind(&event.client.ip)
    .bind(&event.client.user_agent)
    .bind(&event.actor)
    .bind(&event.details)
    .fetch_one(conn)
    .await
    .map_err(db_error)
}

#[async_trait]
impl EventStore for PgStore {
    #[tracing::instrument(skip_all, fields(kind = event.kind.as_str(), deliver))]
    async fn record_event(&self, event: &SecurityEvent, deliver: bool) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        let id = insert_event(&mut tx, event).await?;
        if deliver {
            webhook_outbox::insert_delivery(&mut tx, id, event.at).await?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(id)
    }

    #[tracing::instrument(skip_all)]
    async fn query_events(&self, query: &EventQuery) -> StoreResult<Vec<StoredEvent>> {
        let mut sql = QueryBuilder::new(
            "SELECT id, at, kind, user_id, session_id, ip, user_agent, actor, details::text AS details \
             FROM security_events WHERE true",
        );
        if let Some(user) = query.user {
            sql.push(" AND user_id = ").push_bind(user.0);
        }
        if let Some(kind) = query.kind {
            sql.push(" AND kind = ").push_bind(kind.as_str());
        }
        if let Some(since) = query.since {
            sql.push(" AND at >= ").push_bind(since);
        }
        if let Some(until) = query.until {
            sql.push(" AND at < ").push_bind(until);
        }
        if let Some(before) = query.before_id {
            sql.push(" AND id < ").push_bind(before);
        }
        sql.push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(query.limit));
        let rows: Vec<EventRow> = sql
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.into_iter().map(StoredEvent::try_from).collect()
    }
}
