//! The atomic refresh rotation in Postgres. Concurrent presentations of one family's tokens
//! serialise on the family row (`SELECT ... FOR UPDATE`); before it, the user row is share-locked
//! so a lock or token-version bump either committed first (and is seen) or waits for this
//! rotation (and then revokes what it produced). The decision and which write it makes are always
//! [`portcullis_core::rotation::decide`] and [`portcullis_core::rotation::apply`]; this module
//! only reads and writes.

use crate::error::db_error;
use crate::family_rows::{family_in, insert_token, revoke_family_in, token_family};
use crate::rows::TokenRow;
use crate::users::user_in;
use crate::Conn;
use async_trait::async_trait;
use portcullis_core::rotation::{settle, RotationWrites, SuccessorState, TokenState};
use portcullis_core::store::{RotationOutcome, RotationRequest};
use portcullis_core::{
    Family, RefreshToken, RevocationReason, SessionId, StoreError, StoreResult, TokenHash, UserId,
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

/// The token stored one generation after `token` in its family, whichever it is: whether it is
/// the one this request derives is for `decide` to judge. Only a used token can have one, and
/// `decide` reads it only for a used token, so an ordinary rotation reads nothing here.
async fn successor_in(conn: &mut Conn, token: &TokenRow) -> StoreResult<Option<SuccessorState>> {
    if token.used_at.is_none() {
        return Ok(None);
    }
    let row: Option<([u8; 32], OffsetDateTime)> = sqlx::query_as(
        "SELECT hash, expires_at FROM refresh_tokens WHERE family_id = $1 AND generation = $2",
    )
    .bind(token.family_id)
    .bind(token.generation + 1)
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    Ok(row.map(|(hash, expires_at)| SuccessorState {
        hash: TokenHash(hash),
        expires_at,
    }))
}

/// The writes `apply` may make, over the transaction that holds the family lock.
struct Writes<'a> {
    conn: &'a mut Conn,
    request: &'a RotationRequest,
    token: &'a TokenRow,
}

#[async_trait]
impl RotationWrites for Writes<'_> {
    async fn rotate(&mut self, successor_expires_at: OffsetDateTime) -> StoreResult<Family> {
        apply_rotation(self.conn, self.request, self.token, successor_expires_at).await?;
        family_in(self.conn, self.token.family_id, false)
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

/// Lock, read, then [`settle`], inside the caller's transaction (which commits). Records
/// the family as `session_id` on the caller's span.
pub(crate) async fn rotate_in(
    tx: &mut Conn,
    request: &RotationRequest,
) -> StoreResult<RotationOutcome> {
    let Some(family_id) = token_family(tx, &request.presented).await? else {
        return Ok(RotationOutcome::Invalid);
    };
    tracing::Span::current().record("session_id", tracing::field::display(family_id));
    let Some(owner) = family_owner(tx, family_id).await? else {
        return Ok(RotationOutcome::Invalid);
    };
    // User row before family row: the order of every transaction that takes both.
    let Some(user) = user_in(tx, owner).await? else {
        return Ok(RotationOutcome::Invalid);
    };
    let Some(family) = family_in(tx, family_id, true).await? else {
        return Ok(RotationOutcome::Invalid);
    };
    // Read the token again now that the family is locked: a concurrent rotation that
    // committed while this one waited has marked it used, and under READ COMMITTED only a
    // statement started after the lock was granted sees that.
    let Some(token) = token_in(tx, request).await? else {
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

fn token_state(token: &TokenRow, request: &RotationRequest) -> TokenState {
    TokenState {
        generation: token.generation,
        expires_at: token.expires_at,
        used_at: token.used_at,
        derived_successor: request.successor,
    }
}
