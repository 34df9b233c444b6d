//! The security-event audit trail in SQLite (append-only).

use crate::rows::{from_ms, parse_uuid, to_ms};
use crate::{db_error, SqliteStore};
use async_trait::async_trait;
use portcullis_core::{
    ClientInfo, EventKind, EventStore, SecurityEvent, SessionId, StoreResult, UserId,
};

type EventRow = (
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
);

#[async_trait]
impl EventStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(kind = event.kind.as_str()))]
    async fn record_event(&self, event: &SecurityEvent) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO security_events (at, kind, user_id, session_id, ip, user_agent, details) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(to_ms(event.at))
        .bind(event.kind.as_str())
        .bind(event.user_id.map(|id| id.0.to_string()))
        .bind(event.session_id.map(|id| id.0.to_string()))
        .bind(&event.client.ip)
        .bind(&event.client.user_agent)
        .bind(&event.details)
        .execute(&self.writer)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn recent_events(
        &self,
        kind: Option<EventKind>,
        limit: u32,
    ) -> StoreResult<Vec<SecurityEvent>> {
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT at, kind, user_id, session_id, ip, user_agent, details FROM security_events \
             WHERE (?1 IS NULL OR kind = ?1) ORDER BY id DESC LIMIT ?2",
        )
        .bind(kind.map(EventKind::as_str))
        .bind(limit)
        .fetch_all(&self.reader)
        .await
        .map_err(db_error)?;
        rows.into_iter()
            .filter_map(|(at, kind, user_id, session_id, ip, user_agent, details)| {
                let kind = EventKind::parse(&kind)?;
                Some((at, kind, user_id, session_id, ip, user_agent, details))
            })
            .map(|(at, kind, user_id, session_id, ip, user_agent, details)| {
                Ok(SecurityEvent {
                    at: from_ms(at),
                    kind,
                    user_id: user_id.as_deref().map(parse_uuid).transpose()?.map(UserId),
                    session_id: session_id
                        .as_deref()
                        .map(parse_uuid)
                        .transpose()?
                        .map(SessionId),
                    client: ClientInfo { ip, user_agent },
                    details,
                })
            })
            .collect()
    }
}
