//! [`SessionAdminStore`] in SQLite, the security team's session queries: a user's sessions
//! including recently revoked ones, the candidates of a mass revocation, and revoking a list of
//! sessions at once.

use crate::error::db_error;
use crate::family_rows::{family_in, mark_revoked};
use crate::rows::{families, to_ms, FamilyRow, FAMILY_COLUMNS};
use crate::SqliteStore;
use async_trait::async_trait;
use portcullis_core::admin::SessionFilter;
use portcullis_core::SessionAdminStore;
use portcullis_core::{Family, RevocationReason, SessionId, StoreResult, UserId};
use sqlx::QueryBuilder;
use time::OffsetDateTime;

#[async_trait]
impl SessionAdminStore for SqliteStore {
    async fn sessions_of(
        &self,
        user: UserId,
        revoked_since: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Family>> {
        let sql = format!(
            "SELECT {FAMILY_COLUMNS} FROM refresh_families WHERE user_id = ? AND \
             ((revoked_at IS NULL AND idle_expires_at > ? AND absolute_expires_at > ?) OR revoked_at > ?) \
             ORDER BY created_at DESC"
        );
        let now = to_ms(now);
        let rows: Vec<FamilyRow> = sqlx::query_as(&sql)
            .bind(user.0.to_string())
            .bind(now)
            .bind(now)
            .bind(to_ms(revoked_since))
            .fetch_all(&self.reader)
            .await
            .map_err(db_error)?;
        families(rows)
    }

    async fn live_sessions_matching(
        &self,
        filter: &SessionFilter,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Family>> {
        let now = to_ms(now);
        let mut query = QueryBuilder::new(format!(
            "SELECT {FAMILY_COLUMNS} FROM refresh_families f WHERE f.revoked_at IS NULL AND f.idle_expires_at > "
        ));
        query
            .push_bind(now)
            .push(" AND f.absolute_expires_at > ")
            .push_bind(now);
        if let Some(before) = filter.created_before {
            query.push(" AND f.created_at < ").push_bind(to_ms(before));
        }
        if let Some(role) = &filter.role {
            query
                .push(" AND EXISTS (SELECT 1 FROM users u, json_each(u.roles) r WHERE u.id = f.user_id AND r.value = ")
                .push_bind(role.clone())
                .push(")");
        }
        let rows: Vec<FamilyRow> = query
            .build_query_as()
            .fetch_all(&self.reader)
            .await
            .map_err(db_error)?;
        families(rows)
    }

    async fn revoke_sessions(
        &self,
        sessions: &[SessionId],
        reason: RevocationReason,
        deny_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Family>> {
        let mut tx = self.begin_write().await?;
        let mut revoked = Vec::new();
        for &session in sessions {
            if mark_revoked(&mut tx, session, reason, deny_until, now).await? {
                if let Some(family) = family_in(&mut tx, &session.0.to_string()).await? {
                    revoked.push(family);
                }
            }
        }
        tx.commit().await.map_err(db_error)?;
        Ok(revoked)
    }
}
