//! [`RevocationStore`] in SQLite, the durable revocation facts: user-wide revocation, the jti
//! denylist, and the answers the revocation cache falls back to or is filled from.

use crate::error::db_error;
use crate::family_rows::revoke_families_of_in;
use crate::rows::{parse_uuid, to_ms};
use crate::SqliteStore;
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
impl RevocationStore for SqliteStore {
    async fn revoke_user(
        &self,
        user: UserId,
        lock: bool,
        reason: RevocationReason,
        deny_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRevocation>> {
        let mut tx = self.begin_write().await?;
        let version: Option<i64> = sqlx::query_scalar(
            "UPDATE users SET token_version = token_version + 1, locked = (locked OR ?) \
             WHERE id = ? RETURNING token_version",
        )
        .bind(lock)
        .bind(user.0.to_string())
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

    async fn deny_jti(&self, jti: Uuid, until: OffsetDateTime) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO denied_jtis (jti, expires_at) VALUES (?, ?) \
             ON CONFLICT (jti) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)",
        )
        .bind(jti.to_string())
        .bind(to_ms(until))
        .execute(&self.writer)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn revocation_state(
        &self,
        probe: &RevocationProbe,
        now: OffsetDateTime,
    ) -> StoreResult<RevocationState> {
        let (token_version, session_revoked, jti_denied, key_retired): (Option<i64>, bool, bool, bool) = sqlx::query_as(
            "SELECT (SELECT token_version FROM users WHERE id = ?1), \
                    EXISTS (SELECT 1 FROM refresh_families WHERE id = ?2 AND revoked_at IS NOT NULL), \
                    EXISTS (SELECT 1 FROM denied_jtis WHERE jti = ?3 AND expires_at > ?4), \
                    EXISTS (SELECT 1 FROM signing_keys WHERE kid = ?5 AND retired_at IS NOT NULL)",
        )
        .bind(probe.user.0.to_string())
        .bind(probe.session.0.to_string())
        .bind(probe.jti.to_string())
        .bind(to_ms(now))
        .bind(probe.kid.simple().to_string())
        .fetch_one(&self.reader)
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

    async fn revocation_snapshot(&self, now: OffsetDateTime) -> StoreResult<RevocationSnapshot> {
        let now = to_ms(now);
        let versions: Vec<(String, i64)> = sqlx::query_as(
            "SELECT id, token_version FROM users WHERE token_version <> 0 \
             UNION ALL SELECT id, ?1 FROM erased_users WHERE deny_until > ?2",
        )
        .bind(DELETED_USER_VERSION)
        .bind(now)
        .fetch_all(&self.reader)
        .await
        .map_err(db_error)?;
        let sessions: Vec<(String, i64)> =
            sqlx::query_as("SELECT id, deny_until FROM refresh_families WHERE deny_until > ?")
                .bind(now)
                .fetch_all(&self.reader)
                .await
                .map_err(db_error)?;
        let jtis: Vec<(String, i64)> =
            sqlx::query_as("SELECT jti, expires_at FROM denied_jtis WHERE expires_at > ?")
                .bind(now)
                .fetch_all(&self.reader)
                .await
                .map_err(db_error)?;
        let keys: Vec<(String, i64)> = sqlx::query_as(
            "SELECT kid, deny_until FROM signing_keys \
             WHERE retired_at IS NOT NULL AND deny_until > ?",
        )
        .bind(now)
        .fetch_all(&self.reader)
        .await
        .map_err(db_error)?;
        let mut snapshot =
            Vec::with_capacity(versions.len() + sessions.len() + jtis.len() + keys.len());
        for (id, version) in versions {
            snapshot.push(RevocationChange::TokenVersion {
                user: UserId(parse_uuid(&id)?),
                version,
            });
        }
        for (id, until) in sessions {
            let until = crate::rows::from_ms(until);
            snapshot.push(RevocationChange::SessionDenied {
                session: SessionId(parse_uuid(&id)?),
                until,
            });
        }
        for (jti, until) in jtis {
            let until = crate::rows::from_ms(until);
            snapshot.push(RevocationChange::JtiDenied {
                jti: parse_uuid(&jti)?,
                until,
            });
        }
        // Every kid Portcullis makes is a UUID; a key stored otherwise never verified a token.
        for (kid, until) in keys {
            if let Ok(kid) = uuid::Uuid::parse_str(&kid) {
                snapshot.push(RevocationChange::KeyRetired {
                    kid,
                    until: crate::rows::from_ms(until),
                });
            }
        }
        Ok(snapshot)
    }
}
