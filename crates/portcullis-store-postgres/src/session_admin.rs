//! [`SessionAdminStore`] in Postgres, the security team's session queries: a user's sessions
//! including recently revoked ones, the candidates of a mass revocation, and revoking a list of
//! sessions at once.

use crate::error::db_error;
use crate::rows::{FamilyRow, FAMILY_COLUMNS};
use crate::PgStore;
use async_trait::async_trait;
use portcullis_core::admin::SessionFilter;
use portcullis_core::SessionAdminStore;
use portcullis_core::{Family, RevocationReason, SessionId, StoreResult, UserId};
use sqlx::QueryBuilder;
use time::OffsetDateTime;
use uuid::Uuid;

#[async_trait]
impl SessionAdminStore for PgStore {
    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn sessions_of(
        &self,
        user: UserId,
        revoked_since: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Family>> {
        let sql = format!(
            "SELECT {FAMILY_COLUMNS} FROM refresh_families WHERE user_id = $1 AND \
             ((revoked_at IS NULL AND idle_expires_at > $2 AND absolute_expires_at > $2) OR revoked_at > $3) \
             ORDER BY created_at DESC"
        );
        let rows: Vec<FamilyRow> = sqlx::query_as(&sql)
            .bind(user.0)
            .bind(now)
            .bind(revoked_since)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(rows.into_iter().map(Family::from).collect())
    }

    #[tracing::instrument(skip_all)]
    async fn live_sessions_matching(
        &self,
        filter: &SessionFilter,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Family>> {
        let columns = FAMILY_COLUMNS
            .split(',')
            .map(|column| format!("f.{}", column.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let mut query = QueryBuilder::new(format!(
            "SELECT {columns} FROM refresh_families f WHERE f.revoked_at IS NULL AND f.idle_expires_at > "
        ));
        query
            .push_bind(now)
            .push(" AND f.absolute_expires_at > ")
            .push_bind(now);
        if let Some(before) = filter.created_before {
            query.push(" AND f.created_at < ").push_bind(before);
        }
        if let Some(role) = &filter.role {
            query
                .push(" AND EXISTS (SELECT 1 FROM users u WHERE u.id = f.user_id AND ")
                .push_bind(role.clone())
                .push(" = ANY (u.roles))");
        }
        let rows: Vec<FamilyRow> = query
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(rows.into_iter().map(Family::from).collect())
    }

    #[tracing::instrument(skip_all, fields(sessions = sessions.len()))]
    async fn revoke_sessions(
        &self,
        sessions: &[SessionId],
        reason: RevocationReason,
        deny_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Family>> {
        let ids: Vec<Uuid> = sessions.iter().map(|session| session.0).collect();
        let sql = format!(
            "UPDATE refresh_families SET revoked_at = $1, revoked_reason = $2, deny_until = $3 \
             WHERE id = ANY ($4) AND revoked_at IS NULL RETURNING {FAMILY_COLUMNS}"
        );
        let rows: Vec<FamilyRow> = sqlx::query_as(&sql)
            .bind(now)
            .bind(reason.as_str())
            .bind(deny_until)
            .bind(&ids)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(rows.into_iter().map(Family::from).collect())
    }
}
