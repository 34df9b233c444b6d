//! The atomic refresh rotation in Postgres. Concurrent presentations of one family's tokens
//! serialise on the family row (`SELECT ... FOR UPDATE`); before it, the user row is share-locked
//! so a lock or token-version bump either committed first (and is seen) or waits for this
//! rotation (and then revokes what it produced). The decision itself is always
//! [`portcullis_core::rotation::decide`], never a rule of this module.

use crate::error::db_error;
use crate::rows::TokenRow;
use crate::sessions::{family_in, insert_token, revoke_family_in, token_family};
use crate::users::user_in;
use crate::{Conn, PgStore};
use portcullis_core::rotation::{decide, Decision, FamilyState, TokenState};
use portcullis_core::store::{RotationOutcome, RotationRequest};
use portcullis_core::{
    Family, RefreshToken, RevocationReason, SessionId, StoreError, StoreResult, User, UserId,
};
use time::OffsetDateTime;
use uuid::Uuid;

/// The owner of a family; never changes, so it is read without a lock.
async fn family_owner(conn: &mut Conn, family: Uuid) -> StoreResult<Option<UserId>> {
    let owner: Option<Uuid> =
        sqlx::query_scalar("SELECT user_id FROM refresh_families WHERE id = $1")
            .bind(family)
            .fetch_optional(conn)
            .await
            .map_err(db_error)?;
    Ok(owner.map(UserId))
}

async fn token_in(conn: &mut Conn, request: &RotationRequest) -> StoreResult<Option<TokenRow>> {
    sqlx::query_as(
        "SELECT family_id, generation, expires_at, used_at FROM refresh_tokens WHERE hash = $1",
    )
    .bind(&request.presented.0[..])
    .fetch_optional(conn)
    .await
    .map_err(db_error)
}

/// Marks the presented token used, stores its one successor and moves the family forward.
async fn apply_rotation(
    conn: &mut Conn,
    request: &RotationRequest,
    token: &TokenRow,
    successor_expires_at: OffsetDateTime,
) -> StoreResult<()> {
    sqlx::query("UPDATE refresh_tokens SET used_at = $1 WHERE hash = $2 AND used_at IS NULL")
        .bind(request.now)
        .bind(&request.presented.0[..])
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    // UNIQUE (family_id, generation) makes a second successor impossible even if the locking
    // above were wrong: the insert would fail and the transaction roll back.
    let successor = RefreshToken {
        hash: request.successor,
        family_id: SessionId(token.family_id),
        generation: token.generation + 1,
        issued_at: request.now,
        expires_at: successor_expires_at,
        used_at: None,
    };
    insert_token(&mut *conn, &successor).await?;
    sqlx::query(
        "UPDATE refresh_families SET current_generation = $1, last_used_at = $2, \
         idle_expires_at = $3, last_ip = $4, last_user_agent = $5 WHERE id = $6",
    )
    .bind(successor.generation)
    .bind(request.now)
    .bind(successor_expires_at)
    .bind(&request.client.ip)
    .bind(&request.client.user_agent)
    .bind(token.family_id)
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// The stored successor's expiry, if the stored successor is the one this request derived.
async fn successor_expiry(
    conn: &mut Conn,
    request: &RotationRequest,
    token: &TokenRow,
) -> StoreResult<Option<OffsetDateTime>> {
    sqlx::query_scalar(
        "SELECT expires_at FROM refresh_tokens \
         WHERE hash = $1 AND family_id = $2 AND generation = $3",
    )
    .bind(&request.successor.0[..])
    .bind(token.family_id)
    .bind(token.generation + 1)
    .fetch_optional(conn)
    .await
    .map_err(db_error)
}

async fn reuse_detected(
    conn: &mut Conn,
    request: &RotationRequest,
    family: Family,
) -> StoreResult<RotationOutcome> {
    let revoked = revoke_family_in(
        conn,
        family.id,
        RevocationReason::RefreshTokenReused,
        request.session_deny_until,
        request.now,
    )
    .await?
    .unwrap_or(family);
    Ok(RotationOutcome::ReuseDetected { family: revoked })
}

/// Applies what [`decide`] said, inside the transaction that holds the family lock.
async fn apply_decision(
    conn: &mut Conn,
    request: &RotationRequest,
    token: &TokenRow,
    family: Family,
    user: User,
    decision: Decision,
) -> StoreResult<RotationOutcome> {
    Ok(match decision {
        Decision::Rotate {
            successor_expires_at,
        } => {
            apply_rotation(conn, request, token, successor_expires_at).await?;
            let family = family_in(conn, token.family_id, false)
                .await?
                .ok_or_else(|| StoreError::Backend("family vanished".into()))?;
            RotationOutcome::Rotated {
                user,
                family,
                successor_expires_at,
            }
        }
        Decision::ReplayWithinGrace => match successor_expiry(conn, request, token).await? {
            Some(successor_expires_at) => RotationOutcome::Replayed {
                user,
                family,
                successor_expires_at,
            },
            // The stored successor is not the one this token derives: the idempotent answer
            // cannot be given, so treat the presentation as the reuse it looks like.
            None => reuse_detected(conn, request, family).await?,
        },
        Decision::ReuseDetected => reuse_detected(conn, request, family).await?,
        Decision::FamilyRevoked => RotationOutcome::FamilyRevoked { family },
        Decision::UserLocked => {
            let revoked = revoke_family_in(
                conn,
                family.id,
                RevocationReason::UserLocked,
                request.session_deny_until,
                request.now,
            )
            .await?
            .unwrap_or(family);
            RotationOutcome::UserLocked { family: revoked }
        }
        Decision::Expired => RotationOutcome::Invalid,
    })
}

impl PgStore {
    #[tracing::instrument(skip_all, fields(session_id = tracing::field::Empty))]
    pub(crate) async fn rotate_token(
        &self,
        request: &RotationRequest,
    ) -> StoreResult<RotationOutcome> {
        let mut tx = self.begin().await?;
        let Some(family_id) = token_family(&mut tx, &request.presented).await? else {
            return Ok(RotationOutcome::Invalid);
        };
        tracing::Span::current().record("session_id", tracing::field::display(family_id));
        let Some(owner) = family_owner(&mut tx, family_id).await? else {
            return Ok(RotationOutcome::Invalid);
        };
        // User row before family row: the order of every transaction that takes both.
        let Some(user) = user_in(&mut tx, owner).await? else {
            return Ok(RotationOutcome::Invalid);
        };
        let Some(family) = family_in(&mut tx, family_id, true).await? else {
            return Ok(RotationOutcome::Invalid);
        };
        // Read the token again now that the family is locked: a concurrent rotation that
        // committed while this one waited has marked it used, and under READ COMMITTED only a
        // statement started after the lock was granted sees that.
        let Some(token) = token_in(&mut tx, request).await? else {
            return Ok(RotationOutcome::Invalid);
        };
        let decision = decide(
            token_state(&token),
            family_state(&family, &user),
            request.now,
            request.policy,
        );
        let outcome = apply_decision(&mut tx, request, &token, family, user, decision).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(outcome)
    }
}

fn token_state(token: &TokenRow) -> TokenState {
    TokenState {
        generation: token.generation,
        expires_at: token.expires_at,
        used_at: token.used_at,
    }
}

fn family_state(family: &Family, user: &User) -> FamilyState {
    FamilyState {
        current_generation: family.current_generation,
        absolute_expires_at: family.absolute_expires_at,
        revoked: family.revoked_at.is_some(),
        user_locked: user.locked,
    }
}
