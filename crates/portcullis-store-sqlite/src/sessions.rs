//! [`SessionStore`] in SQLite: opening a family, its rotation (whose reads live in
//! [`crate::rotation`]), revoking one family, and a user's live families.

use crate::error::db_error;
use crate::family_rows::{family_in, insert_family, insert_token, revoke_family_in, token_in};
use crate::rows::{families, parse_uuid, to_ms, FamilyRow, FAMILY_COLUMNS};
use crate::users::user_logging_in;
use crate::{rotation, SqliteStore};
use async_trait::async_trait;
use portcullis_core::store::{FamilyOpening, RotationOutcome, RotationRequest, SessionStore};
use portcullis_core::{
    Family, RefreshToken, RevocationReason, SessionId, StoreResult, TokenHash, UserId,
};
use time::OffsetDateTime;

#[async_trait]
impl SessionStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(session_id = %family.id))]
    async fn insert_family(
        &self,
        family: &Family,
        first_token: &RefreshToken,
        proven_hash: &str,
    ) -> StoreResult<FamilyOpening> {
        let mut tx = self.begin_write().await?;
        // Re-read under the write lock: the caller's copy of the user predates the password
        // check, and a lock committed since must win.
        let user = user_logging_in(&mut tx, family.user_id, family.created_at).await?;
        let user = match FamilyOpening::admit(user, proven_hash) {
            Ok(user) => user,
            Err(refused) => return Ok(refused),
        };
        insert_family(&mut tx, family).await?;
        insert_token(&mut tx, first_token).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(FamilyOpening::Opened(user))
    }

    #[tracing::instrument(skip_all)]
    async fn rotate(&self, request: &RotationRequest) -> StoreResult<RotationOutcome> {
        let mut tx = self.begin_write().await?;
        let outcome = rotation::rotate_in(&mut tx, request).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(outcome)
    }

    #[tracing::instrument(skip_all)]
    async fn revoke_session_by_token(
        &self,
        token: &TokenHash,
        reason: RevocationReason,
        deny_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Family>> {
        let mut tx = self.begin_write().await?;
        let Some(token) = token_in(&mut tx, token).await? else {
            return Ok(None);
        };
        let id = SessionId(parse_uuid(&token.family_id)?);
        let family = revoke_family_in(&mut tx, id, reason, deny_until, now).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(family)
    }

    #[tracing::instrument(skip_all, fields(session_id = %session))]
    async fn revoke_session(
        &self,
        session: SessionId,
        owner: Option<UserId>,
        reason: RevocationReason,
        deny_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Family>> {
        let mut tx = self.begin_write().await?;
        let Some(family) = family_in(&mut tx, &session.0.to_string()).await? else {
            return Ok(None);
        };
        if owner.is_some_and(|owner| owner != family.user_id) {
            return Ok(None);
        }
        let family = revoke_family_in(&mut tx, session, reason, deny_until, now).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(family)
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn live_sessions(&self, user: UserId, now: OffsetDateTime) -> StoreResult<Vec<Family>> {
        let sql = format!(
            "SELECT {FAMILY_COLUMNS} FROM refresh_families WHERE user_id = ? AND revoked_at IS NULL \
             AND idle_expires_at > ? AND absolute_expires_at > ? ORDER BY created_at DESC"
        );
        let now = to_ms(now);
        let rows: Vec<FamilyRow> = sqlx::query_as(&sql)
            .bind(user.0.to_string())
            .bind(now)
            .bind(now)
            .fetch_all(&self.reader)
            .await
            .map_err(db_error)?;
        families(rows)
    }
}
