//! The atomic refresh rotation in SQLite. `BEGIN IMMEDIATE` takes the database's write lock
//! before the first read, so concurrent presentations, locks and token-version bumps serialise
//! whole. The decision and which write it makes are always [`portcullis_core::rotation::decide`]
//! and [`portcullis_core::rotation::apply`]; this module only reads and writes.

use crate::error::db_error;
use crate::family_rows::{family_in, insert_token, revoke_family_in, token_in};
use crate::rows::{from_ms, to_ms, TokenRow};
use crate::users::user_in;
use crate::Conn;
use async_trait::async_trait;
use portcullis_core::rotation::{settle, RotationWrites, SuccessorState, TokenState};
use portcullis_core::store::{RotationOutcome, RotationRequest};
use portcullis_core::{
    Family, RefreshToken, RevocationReason, SessionId, StoreError, StoreResult, TokenHash,
};
use time::OffsetDateTime;

/// Read, then [`settle`], inside the caller's write transaction (which commits).
pub(crate) async fn rotate_in(
    tx: &mut Conn,
    request: &RotationRequest,
) -> StoreResult<RotationOutcome> {
    let Some(token) = token_in(tx, &request.presented).await? else {
        return Ok(RotationOutcome::Invalid);
    };
    let family = family_in(tx, &token.family_id)
        .await?
        .ok_or_else(|| StoreError::Backend("refresh token without a family".into()))?;
    let Some(user) = user_in(tx, family.user_id).await? else {
        return Ok(RotationOutcome::Invalid);
    };
    let successor = successor_in(tx, &token).await?;
    let presented = token_state(&token, request);
    let writes = &mut Writes {
        conn: tx,
        request,
        token: &token,
    };
    settle(writes, request, presented, user, family, successor).await
}

/// Marks the presented token used, stores its one successor and moves the family forward.
async fn apply_rotation(
    conn: &mut Conn,
    request: &RotationRequest,
    token: &TokenRow,
    successor_expires_at: OffsetDateTime,
) -> StoreResult<()> {
    sqlx::query("UPDATE refresh_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL")
        .bind(to_ms(request.now))
        .bind(&request.presented.0[..])
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    // The UNIQUE (family_id, generation) constraint makes a second successor impossible even if
    // this code were wrong.
    let family_id = SessionId(crate::rows::parse_uuid(&token.family_id)?);
    let successor = RefreshToken {
        hash: request.successor,
        family_id,
        generation: token.generation + 1,
        issued_at: request.now,
        expires_at: successor_expires_at,
        used_at: None,
    };
    insert_token(&mut *conn, &successor).await?;
    sqlx::query(
        "UPDATE refresh_families SET current_generation = ?, last_used_at = ?, \
         idle_expires_at = ?, last_ip = ?, last_user_agent = ? WHERE id = ?",
    )
    .bind(successor.generation)
    .bind(to_ms(request.now))
    .bind(to_ms(successor_expires_at))
    .bind(&request.client.ip)
    .bind(&request.client.user_agent)
    .bind(&token.family_id)
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// The token stored one generation after `token` in its family, whichever it is: whether it
/// is the one this request derives is for `decide` to judge. Only a used token can have
/// one, and `decide` reads it only for a used token, so an ordinary rotation reads nothing.
async fn successor_in(conn: &mut Conn, token: &TokenRow) -> StoreResult<Option<SuccessorState>> {
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
        let hash: [u8; 32] = hash
            .try_into()
            .map_err(|_| StoreError::Backend("refresh token hash of the wrong length".into()))?;
        Ok(SuccessorState {
            hash: TokenHash(hash),
            expires_at: from_ms(expires_at),
        })
    })
    .transpose()
}

/// The writes `apply` may make, inside the rotation's write transaction.
struct Writes<'a> {
    conn: &'a mut Conn,
    request: &'a RotationRequest,
    token: &'a TokenRow,
}

#[async_trait]
impl RotationWrites for Writes<'_> {
    async fn rotate(&mut self, successor_expires_at: OffsetDateTime) -> StoreResult<Family> {
        apply_rotation(self.conn, self.request, self.token, successor_expires_at).await?;
        family_in(self.conn, &self.token.family_id)
            .await?
            .ok_or_else(|| StoreError::Backend("family vanished".into()))
    }

    async fn revoke_family(
        &mut self,
        family: SessionId,
        reason: RevocationReason,
    ) -> StoreResult<Option<Family>> {
        let request = self.request;
        revoke_family_in(
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
