//! Refresh families and tokens in SQLite: creation, listing and the atomic rotation.

use crate::rows::{
    families, from_ms, parse_uuid, to_ms, FamilyRow, TokenRow, UserRow, FAMILY_COLUMNS,
    USER_COLUMNS,
};
use crate::{db_error, SqliteStore};
use async_trait::async_trait;
use portcullis_core::rotation::{
    apply, decide, FamilyState, RotationWrites, SuccessorState, TokenState,
};
use portcullis_core::store::{FamilyOpening, RotationOutcome, RotationRequest};
use portcullis_core::{
    Family, RefreshToken, RevocationReason, SessionId, StoreError, StoreResult, TokenHash, User,
    UserId,
};
use sqlx::SqliteConnection;
use time::OffsetDateTime;

impl SqliteStore {
    pub(crate) async fn family_in(
        conn: &mut SqliteConnection,
        id: &str,
    ) -> StoreResult<Option<Family>> {
        let sql = format!("SELECT {FAMILY_COLUMNS} FROM refresh_families WHERE id = ?");
        let row: Option<FamilyRow> = sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(conn)
            .await
            .map_err(db_error)?;
        row.map(Family::try_from).transpose()
    }

    pub(crate) async fn token_in(
        conn: &mut SqliteConnection,
        hash: &TokenHash,
    ) -> StoreResult<Option<TokenRow>> {
        sqlx::query_as(
            "SELECT family_id, generation, expires_at, used_at FROM refresh_tokens WHERE hash = ?",
        )
        .bind(&hash.0[..])
        .fetch_optional(conn)
        .await
        .map_err(db_error)
    }

    /// Reads one user inside a write transaction: `BEGIN IMMEDIATE` holds SQLite's write lock,
    /// so no lock or token-version bump can commit between this read and the commit.
    async fn user_in(conn: &mut SqliteConnection, id: UserId) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?");
        let row: Option<UserRow> = sqlx::query_as(&sql)
            .bind(id.0.to_string())
            .fetch_optional(conn)
            .await
            .map_err(db_error)?;
        row.map(User::try_from).transpose()
    }

    /// Marks one family revoked (if it is not already) and returns it as it now stands.
    pub(crate) async fn revoke_family_in(
        conn: &mut SqliteConnection,
        id: SessionId,
        reason: RevocationReason,
        deny_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Family>> {
        sqlx::query(
            "UPDATE refresh_families SET revoked_at = ?, revoked_reason = ?, deny_until = ? \
             WHERE id = ? AND revoked_at IS NULL",
        )
        .bind(to_ms(now))
        .bind(reason.as_str())
        .bind(to_ms(deny_until))
        .bind(id.0.to_string())
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
        Self::family_in(conn, &id.0.to_string()).await
    }

    async fn apply_rotation(
        conn: &mut SqliteConnection,
        request: &RotationRequest,
        token: &TokenRow,
        successor_expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        let now = to_ms(request.now);
        sqlx::query("UPDATE refresh_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL")
            .bind(now)
            .bind(&request.presented.0[..])
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
        // The UNIQUE (family_id, generation) constraint makes a second successor impossible even
        // if this code were wrong.
        sqlx::query(
            "INSERT INTO refresh_tokens (hash, family_id, generation, issued_at, expires_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&request.successor.0[..])
        .bind(&token.family_id)
        .bind(token.generation + 1)
        .bind(now)
        .bind(to_ms(successor_expires_at))
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
        sqlx::query(
            "UPDATE refresh_families SET current_generation = ?, last_used_at = ?, \
             idle_expires_at = ?, last_ip = ?, last_user_agent = ? WHERE id = ?",
        )
        .bind(token.generation + 1)
        .bind(now)
        .bind(to_ms(successor_expires_at))
        .bind(&request.client.ip)
        .bind(&request.client.user_agent)
        .bind(&token.family_id)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    /// The token stored one generation after `token` in its family, whichever it is: whether it
    /// is the one this request derives is for [`decide`] to judge. Only a used token can have
    /// one, and [`decide`] reads it only for a used token, so an ordinary rotation reads nothing.
    async fn successor_in(
        conn: &mut SqliteConnection,
        token: &TokenRow,
    ) -> StoreResult<Option<SuccessorState>> {
        if token.used_at.is_none() {
            return Ok(None);
        }
        let row: Option<(Vec<u8>, i64)> = sqlx::query_as(
            "SELECT hash, expires_at FROM refresh_tokens WHERE family_id = ? AND generation = ?",
        )
        .bind(&token.family_id)
        .bind(token.generation + 1)
        .fetch_optional(conn)
        .await
        .map_err(db_error)?;
        row.map(|(hash, expires_at)| {
            let hash: [u8; 32] = hash.try_into().map_err(|_| {
                StoreError::Backend("refresh token hash of the wrong length".into())
            })?;
            Ok(SuccessorState {
                hash: TokenHash(hash),
                expires_at: from_ms(expires_at),
            })
        })
        .transpose()
    }
}

/// The writes [`apply`] may make, inside the rotation's write transaction.
struct Writes<'a> {
    conn: &'a mut SqliteConnection,
    request: &'a RotationRequest,
    token: &'a TokenRow,
}

#[async_trait]
impl RotationWrites for Writes<'_> {
    async fn rotate(&mut self, successor_expires_at: OffsetDateTime) -> StoreResult<Family> {
        SqliteStore::apply_rotation(self.conn, self.request, self.token, successor_expires_at)
            .await?;
        SqliteStore::family_in(self.conn, &self.token.family_id)
            .await?
            .ok_or_else(|| StoreError::Backend("family vanished".into()))
    }

    async fn revoke_family(
        &mut self,
        family: SessionId,
        reason: RevocationReason,
    ) -> StoreResult<Option<Family>> {
        let request = self.request;
        SqliteStore::revoke_family_in(
            self.conn,
            family,
            reason,
            request.session_deny_until,
            request.now,
        )
        .await
    }
}

fn token_state(token: &TokenRow, request: &RotationRequest) -> TokenState {
    TokenState {
        generation: token.generation,
        expires_at: from_ms(token.expires_at),
        used_at: token.used_at.map(from_ms),
        derived_successor: request.successor,
    }
}

#[async_trait]
impl portcullis_core::SessionStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(session_id = %family.id))]
    async fn insert_family(
        &self,
        family: &Family,
        first_token: &RefreshToken,
    ) -> StoreResult<FamilyOpening> {
        let mut tx = self.begin_write().await?;
        // Re-read under the write lock: the caller's copy of the user predates the password
        // check, and a lock committed since must win.
        let Some(user) = Self::user_in(&mut tx, family.user_id).await? else {
            return Ok(FamilyOpening::UserGone);
        };
        if user.locked {
            return Ok(FamilyOpening::Locked);
        }
        sqlx::query(
            "INSERT INTO refresh_families (id, user_id, created_at, last_used_at, idle_expires_at, \
             absolute_expires_at, current_generation, last_ip, last_user_agent) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(family.id.0.to_string())
        .bind(family.user_id.0.to_string())
        .bind(to_ms(family.created_at))
        .bind(to_ms(family.last_used_at))
        .bind(to_ms(family.idle_expires_at))
        .bind(to_ms(family.absolute_expires_at))
        .bind(family.current_generation)
        .bind(&family.last_client.ip)
        .bind(&family.last_client.user_agent)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        sqlx::query(
            "INSERT INTO refresh_tokens (hash, family_id, generation, issued_at, expires_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&first_token.hash.0[..])
        .bind(family.id.0.to_string())
        .bind(first_token.generation)
        .bind(to_ms(first_token.issued_at))
        .bind(to_ms(first_token.expires_at))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(FamilyOpening::Opened(user))
    }

    #[tracing::instrument(skip_all)]
    async fn rotate(&self, request: &RotationRequest) -> StoreResult<RotationOutcome> {
        let mut tx = self.begin_write().await?;
        let Some(token) = Self::token_in(&mut tx, &request.presented).await? else {
            return Ok(RotationOutcome::Invalid);
        };
        let family = Self::family_in(&mut tx, &token.family_id)
            .await?
            .ok_or_else(|| StoreError::Backend("refresh token without a family".into()))?;
        let Some(user) = Self::user_in(&mut tx, family.user_id).await? else {
            return Ok(RotationOutcome::Invalid);
        };
        let successor = Self::successor_in(&mut tx, &token).await?;
        let decision = decide(
            token_state(&token, request),
            FamilyState::of(&family, &user),
            successor,
            request.now,
            request.policy,
        );
        let writes = &mut Writes {
            conn: &mut tx,
            request,
            token: &token,
        };
        let outcome = apply(writes, decision, user, family).await?;
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
        let Some(token) = Self::token_in(&mut tx, token).await? else {
            return Ok(None);
        };
        let id = SessionId(parse_uuid(&token.family_id)?);
        let family = Self::revoke_family_in(&mut tx, id, reason, deny_until, now).await?;
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
        let Some(family) = Self::family_in(&mut tx, &session.0.to_string()).await? else {
            return Ok(None);
        };
        if owner.is_some_and(|owner| owner != family.user_id) {
            return Ok(None);
        }
        let family = Self::revoke_family_in(&mut tx, session, reason, deny_until, now).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(family)
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn revoke_user(
        &self,
        user: UserId,
        lock: bool,
        reason: RevocationReason,
        deny_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Option<portcullis_core::UserRevocation>> {
        self.revoke_user_sessions(user, lock, reason, deny_until, now)
            .await
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

    async fn deny_jti(&self, jti: uuid::Uuid, until: OffsetDateTime) -> StoreResult<()> {
        self.insert_denied_jti(jti, until).await
    }

    async fn revocation_state(
        &self,
        probe: &portcullis_core::RevocationProbe,
        now: OffsetDateTime,
    ) -> StoreResult<portcullis_core::RevocationState> {
        self.durable_revocation_state(probe, now).await
    }

    async fn revocation_snapshot(
        &self,
        now: OffsetDateTime,
    ) -> StoreResult<portcullis_core::RevocationSnapshot> {
        self.durable_revocation_snapshot(now).await
    }
}
