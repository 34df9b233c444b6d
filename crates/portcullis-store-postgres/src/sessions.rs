//! Refresh families in Postgres: creation, listing, revocation of one family, and the
//! [`SessionStore`] seam, whose rotation and user-wide revocation live in their own modules.

use crate::error::db_error;
use crate::rows::{FamilyRow, FAMILY_COLUMNS};
use crate::users::user_in;
use crate::{Conn, PgStore};
use async_trait::async_trait;
use portcullis_core::store::{FamilyOpening, RotationOutcome, RotationRequest, SessionStore};
use portcullis_core::{
    Family, RefreshToken, RevocationProbe, RevocationReason, RevocationSnapshot, RevocationState,
    SessionId, StoreResult, TokenHash, UserId, UserRevocation,
};
use time::OffsetDateTime;
use uuid::Uuid;

/// Reads one family; with `lock`, also takes its row lock until the transaction ends.
pub(crate) async fn family_in(
    conn: &mut Conn,
    id: Uuid,
    lock: bool,
) -> StoreResult<Option<Family>> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {FAMILY_COLUMNS} FROM refresh_families WHERE id = $1{lock}");
    let row: Option<FamilyRow> = sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db_error)?;
    Ok(row.map(Family::from))
}

/// Marks one family revoked (unless it already is) and returns it as it now stands.
pub(crate) async fn revoke_family_in(
    conn: &mut Conn,
    id: SessionId,
    reason: RevocationReason,
    deny_until: OffsetDateTime,
    now: OffsetDateTime,
) -> StoreResult<Option<Family>> {
    sqlx::query(
        "UPDATE refresh_families SET revoked_at = $1, revoked_reason = $2, deny_until = $3 \
         WHERE id = $4 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(reason.as_str())
    .bind(deny_until)
    .bind(id.0)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    family_in(conn, id.0, false).await
}

/// The family holding a token of any generation.
pub(crate) async fn token_family(conn: &mut Conn, hash: &TokenHash) -> StoreResult<Option<Uuid>> {
    sqlx::query_scalar("SELECT family_id FROM refresh_tokens WHERE hash = $1")
        .bind(&hash.0[..])
        .fetch_optional(conn)
        .await
        .map_err(db_error)
}

pub(crate) async fn insert_token(conn: &mut Conn, token: &RefreshToken) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (hash, family_id, generation, issued_at, expires_at, used_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&token.hash.0[..])
    .bind(token.family_id.0)
    .bind(token.generation)
    .bind(token.issued_at)
    .bind(token.expires_at)
    .bind(token.used_at)
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

impl PgStore {
    #[tracing::instrument(skip_all, fields(session_id = %family.id))]
    async fn insert_family_row(
        &self,
        family: &Family,
        first_token: &RefreshToken,
    ) -> StoreResult<FamilyOpening> {
        let mut tx = self.begin().await?;
        // The foreign key alone takes only a KEY SHARE lock, which does not conflict with the
        // lock's `UPDATE users`: without this read a family could land after the lock revoked
        // every family, and live on.
        let Some(user) = user_in(&mut tx, family.user_id).await? else {
            return Ok(FamilyOpening::UserGone);
        };
        if user.locked {
            return Ok(FamilyOpening::Locked);
        }
        sqlx::query(
            "INSERT INTO refresh_families (id, user_id, created_at, last_used_at, idle_expires_at, \
             absolute_expires_at, current_generation, last_ip, last_user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(family.id.0)
        .bind(family.user_id.0)
        .bind(family.created_at)
        .bind(family.last_used_at)
        .bind(family.idle_expires_at)
        .bind(family.absolute_expires_at)
        .bind(family.current_generation)
        .bind(&family.last_client.ip)
        .bind(&family.last_client.user_agent)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        insert_token(&mut tx, first_token).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(FamilyOpening::Opened(user))
    }

    #[tracing::instrument(skip_all)]
    async fn revoke_by_token(
        &self,
        token: &TokenHash,
        reason: RevocationReason,
        deny_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Family>> {
        let mut tx = self.begin().await?;
        let Some(id) = token_family(&mut tx, token).await? else {
            return Ok(None);
        };
        let family = revoke_family_in(&mut tx, SessionId(id), reason, deny_until, now).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(family)
    }

    #[tracing::instrument(skip_all, fields(session_id = %session))]
    async fn revoke_one(
        &self,
        session: SessionId,
        owner: Option<UserId>,
        reason: RevocationReason,
        deny_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Family>> {
        let mut tx = self.begin().await?;
        let Some(family) = family_in(&mut tx, session.0, true).await? else {
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
    async fn live_families(&self, user: UserId, now: OffsetDateTime) -> StoreResult<Vec<Family>> {
        let sql = format!(
            "SELECT {FAMILY_COLUMNS} FROM refresh_families WHERE user_id = $1 \
             AND revoked_at IS NULL AND idle_expires_at > $2 AND absolute_expires_at > $2 \
             ORDER BY created_at DESC"
        );
        let rows: Vec<FamilyRow> = sqlx::query_as(&sql)
            .bind(user.0)
            .bind(now)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(rows.into_iter().map(Family::from).collect())
    }
}

#[async_trait]
impl SessionStore for PgStore {
    async fn insert_family(
        &self,
        family: &Family,
        first_token: &RefreshToken,
    ) -> StoreResult<FamilyOpening> {
        self.insert_family_row(family, first_token).await
    }

    async fn rotate(&self, request: &RotationRequest) -> StoreResult<RotationOutcome> {
        self.rotate_token(request).await
    }

    async fn revoke_session_by_token(
        &self,
        token: &TokenHash,
        reason: RevocationReason,
        deny_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Family>> {
        self.revoke_by_token(token, reason, deny_until, now).await
    }

    async fn revoke_session(
        &self,
        session: SessionId,
        owner: Option<UserId>,
        reason: RevocationReason,
        deny_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Family>> {
        self.revoke_one(session, owner, reason, deny_until, now)
            .await
    }

    async fn revoke_user(
        &self,
        user: UserId,
        lock: bool,
        reason: RevocationReason,
        deny_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRevocation>> {
        self.revoke_user_families(user, lock, reason, deny_until, now)
            .await
    }

    async fn live_sessions(&self, user: UserId, now: OffsetDateTime) -> StoreResult<Vec<Family>> {
        self.live_families(user, now).await
    }

    async fn sessions_of(
        &self,
        user: UserId,
        revoked_since: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Family>> {
        self.sessions_including_revoked(user, revoked_since, now)
            .await
    }

    async fn live_sessions_matching(
        &self,
        filter: &portcullis_core::admin::SessionFilter,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Family>> {
        self.live_sessions_filtered(filter, now).await
    }

    async fn revoke_sessions(
        &self,
        sessions: &[SessionId],
        reason: RevocationReason,
        deny_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Family>> {
        self.revoke_session_list(sessions, reason, deny_until, now)
            .await
    }

    async fn deny_jti(&self, jti: Uuid, until: OffsetDateTime) -> StoreResult<()> {
        self.insert_denied_jti(jti, until).await
    }

    async fn revocation_state(
        &self,
        probe: &RevocationProbe,
        now: OffsetDateTime,
    ) -> StoreResult<RevocationState> {
        self.durable_revocation_state(probe, now).await
    }

    async fn revocation_snapshot(&self, now: OffsetDateTime) -> StoreResult<RevocationSnapshot> {
        self.durable_revocation_snapshot(now).await
    }
}
