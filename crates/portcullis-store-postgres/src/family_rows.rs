//! Reads and writes of one family and its tokens on a transaction's connection, shared by the
//! traits that touch sessions (opening, rotation, revocation). No rule is decided here.

use crate::error::db_error;
use crate::rows::{FamilyRow, FAMILY_COLUMNS};
use crate::Conn;
use portcullis_core::{
    Family, RefreshToken, RevocationReason, SessionId, StoreResult, TokenHash, UserId,
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

pub(crate) async fn insert_family(conn: &mut Conn, family: &Family) -> StoreResult<()> {
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
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
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

/// Revokes every family of `user` that has not ended for good, but `except`, and returns the
/// ids of those it revoked. Callers hold the user's row first (lock order: user, then families).
pub(crate) async fn revoke_families_of_in(
    conn: &mut Conn,
    user: UserId,
    except: Option<SessionId>,
    reason: RevocationReason,
    deny_until: OffsetDateTime,
    now: OffsetDateTime,
) -> StoreResult<Vec<SessionId>> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE refresh_families SET revoked_at = $1, revoked_reason = $2, deny_until = $3 \
         WHERE user_id = $4 AND revoked_at IS NULL AND absolute_expires_at > $1 \
         AND id IS DISTINCT FROM $5 RETURNING id",
    )
    .bind(now)
    .bind(reason.as_str())
    .bind(deny_until)
    .bind(user.0)
    .bind(except.map(|session| session.0))
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    Ok(ids.into_iter().map(SessionId).collect())
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
