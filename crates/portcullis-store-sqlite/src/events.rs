//! The security-event audit trail in SQLite (append-only; events older than `event_retention`
//! are deleted only by the retention pass, `retention.rs`). A chosen event's webhook delivery
//! row is written here, in the event's transaction (`webhook_outbox.rs` works it).

use crate::error::db_error;
use crate::rows::{from_ms, parse_uuid, to_ms};
use crate::webhook_outbox;
use crate::{Conn, SqliteStore};
use async_trait::async_trait;
use portcullis_core::admin::{EventQuery, StoredEvent};
use portcullis_core::{
    ClientInfo, EventKind, EventStore, SecurityEvent, SessionId, StoreError, StoreResult, UserId,
};
use sqlx::QueryBuilder;

/// An event as read back; `webhook_outbox.rs` reads the same columns.
#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    id: i64,
    at: i64,
    kind: String,
    user_id: Option<String>,
    session_id: Option<String>,
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
                at: from_ms(row.at),
                kind,
                user_id: row
                    .user_id
                    .as_deref()
                    .map(parse_uuid)
                    .transpose()?
                    .map(UserId),
                session_id: row
                    .session_id
                    .as_deref()
                    .map(parse_uuid)
                    .transpose()?
                    .map(SessionId),
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
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(to_ms(event.at))
    .bind(event.kind.as_str())
    .bind(event.user_id.map(|id| id.0.to_string()))
    .bind(event.session_id.map(|id| id.0.to_string()))
    .bind(&event.client.ip)
    .bind(&event.client.user_agent)
    .bind(&event.actor)
    .bind(&event.details)
    .fetch_one(conn)
    .await
    .map_err(db_error)
}

#[async_trait]
impl EventStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(kind = event.kind.as_str(), deliver))]
    async fn record_event(&self, event: &SecurityEvent, deliver: bool) -> StoreResult<i64> {
        let mut tx = self.begin_write().await?;
        let id = insert_event(&mut tx, event).await?;
        if deliver {
            webhook_outbox::insert_delivery(&mut tx, id, event.at).await?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(id)
    }

    async fn query_events(&self, query: &EventQuery) -> StoreResult<Vec<StoredEvent>> {
        let mut sql = QueryBuilder::new(
            "SELECT id, at, kind, user_id, session_id, ip, user_agent, actor, details FROM security_events WHERE 1 = 1",
        );
        if let Some(user) = query.user {
            sql.push(" AND user_id = ").push_bind(user.0.to_string());
        }
        if let Some(kind) = query.kind {
            sql.push(" AND kind = ").push_bind(kind.as_str());
        }
        if let Some(since) = query.since {
            sql.push(" AND at >= ").push_bind(to_ms(since));
        }
        if let Some(until) = query.until {
            sql.push(" AND at < ").push_bind(to_ms(until));
        }
        if let Some(before) = query.before_id {
            sql.push(" AND id < ").push_bind(before);
        }
        sql.push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(query.limit));
        let rows: Vec<EventRow> = sql
            .build_query_as()
            .fetch_all(&self.reader)
            .await
            .map_err(db_error)?;
        rows.into_iter().map(StoredEvent::try_from).collect()
    }
}
