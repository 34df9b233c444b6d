//! [`RevocationStore`] in Postgres, the durable revocation facts: user-wide revocation, the jti
//! denylist, and the answers the revocation cache falls back to (one query) or is filled from
//! (one consistent snapshot).

use crate::error::db_error;
use crate::family_rows::revoke_families_of_in;
use crate::PgStore;
use async_trait::async_trait;
use portcullis_core::revocation::DELETED_USER_VERSION;
use portcullis_core::RevocationStore;
use portcullis_core::{
    RevocationChange, RevocationProbe, RevocationReason, RevocationSnapshot, RevocationState,
    SessionId, StoreResult, UserId, UserRevocation,
};
use time::OffsetDateTime;
use uuid::Uuid;

#[async_trait]
impl RevocationStore for PgStore {
    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn revoke_user(
        &self,
        user: UserId,
        lock: bool,
        reason: RevocationReason,
        deny_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRevocation>> {
        let mut tx = self.begin().await?;
        let version: Option<i64> = sqlx::query_scalar(
            "UPDATE users SET token_version = token_version + 1, locked = (locked OR $1) \
             WHERE id = $2 RETURNING token_version",
        )
        .bind(lock)
        .bind(user.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        let Some(token_version) = version else {
            return Ok(None);
        };
        let sessions_revoked =
            revoke_families_of_in(&mut tx, user, None, reason, deny_until, now).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(Some(UserRevocation {
            token_version,
            sessions_revoked,
        }))
    }

    #[tracing::instrument(skip_all, fields(%jti))]
    async fn deny_jti(&self, jti: Uuid, until: OffsetDateTime) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO denied_jtis (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) \
             DO UPDATE SET expires_at = GREATEST(denied_jtis.expires_at, excluded.expires_at)",
        )
        .bind(jti)
        .bind(until)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    /// The three checks in one round trip and one statement snapshot.
    #[tracing::instrument(skip_all)]
    async fn revocation_state(
        &self,
        probe: &RevocationProbe,
        now: OffsetDateTime,
    ) -> StoreResult<RevocationState> {
        let (token_version, session_revoked, jti_denied, key_retired): (
            Option<i64>,
            bool,
            bool,
            bool,
        ) = sqlx::query_as(
            "SELECT (SELECT token_version FROM users WHERE id = $1), \
                 EXISTS (SELECT 1 FROM refresh_families WHERE id = $2 AND revoked_at IS NOT NULL), \
                 EXISTS (SELECT 1 FROM denied_jtis WHERE jti = $3 AND expires_at > $4), \
                 EXISTS (SELECT 1 FROM signing_keys WHERE kid = $5 AND retired_at IS NOT NULL)",
        )
        .bind(probe.user.0)
        .bind(probe.session.0)
        .bind(probe.jti)
        .bind(now)
        .bind(probe.kid.simple().to_string())
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(RevocationState {
            // An erased user has no valid version: -1 never matches an issued `ver`.
            token_version: token_version.unwrap_or(-1),
            session_revoked,
            jti_denied,
            key_retired,
        })
    }

    /// Reads the three kinds of fact in one repeatable-read transaction, so a cache is never
    /// filled from a mix of before and after one revocation.
    #[tracing::instrument(skip_all)]
    async fn revocation_snapshot(&self, now: OffsetDateTime) -> StoreResult<RevocationSnapshot> {
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(db_error)?;
        let versions: Vec<(Uuid, i64)> = sqlx::query_as(
            "SELECT id, token_version FROM users WHERE token_version <> 0 \
             UNION ALL SELECT id, $1 FROM erased_users WHERE deny_until > $2",
        )
        .bind(DELETED_USER_VERSION)
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        let sessions: Vec<(Uuid, OffsetDateTime)> =
            sqlx::query_as("SELECT id, deny_until FROM refresh_families WHERE deny_until > $1")
                .bind(now)
                .fetch_all(&mut *tx)
                .await
                .map_err(db_error)?;
        let jtis: Vec<(Uuid, OffsetDateTime)> =
            sqlx::query_as("SELECT jti, expires_at FROM denied_jtis WHERE expires_at > $1")
                .bind(now)
                .fetch_all(&mut *tx)
                .await
                .map_err(db_error)?;
        let keys: Vec<(String, OffsetDateTime)> = sqlx::query_as(
            "SELECT kid, deny_until FROM signing_keys \
             WHERE retired_at IS NOT NULL AND deny_until > $1",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        let versions = versions
            .into_iter()
            .map(|(user, version)| RevocationChange::TokenVersion {
                user: UserId(user),
                version,
            });
        let sessions =
            sessions
                .into_iter()
                .map(|(session, until)| RevocationChange::SessionDenied {
                    session: SessionId(session),
                    until,
                });
        let jtis = jtis
            .into_iter()
            .map(|(jti, until)| RevocationChange::JtiDenied { jti, until });
        // Every kid Portcullis makes is a UUID; a key stored otherwise never verified a token.
        let keys = keys.into_iter().filter_map(|(kid, until)| {
            Some(RevocationChange::KeyRetired {
                kid: Uuid::parse_str(&kid).ok()?,
                until,
            })
        });
        Ok(versions.chain(sessions).chain(jtis).chain(keys).collect())
    }
}
