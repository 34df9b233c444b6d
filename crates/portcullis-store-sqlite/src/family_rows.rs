//! Reads and writes of one family and its tokens on a transaction's connection, shared by the
//! traits that touch sessions (opening, rotation, revocation). No rule is decided here.

use crate::error::db_error;
use crate::rows::{parse_uuid, to_ms, FamilyRow, TokenRow, FAMILY_COLUMNS};
use crate::Conn;
use portcullis_core::{
    Family, RefreshToken, RevocationReason, SessionId, StoreResult, TokenHash, UserId,
};
use time::OffsetDateTime;

pub(crate) async fn family_in(conn: &mut Conn, id: &str) -> StoreResult<Option<Family>> {
    let sql = format!("SELECT {FAMILY_COLUMNS} FROM refresh_families WHERE id = ?");
    let row: Option<FamilyRow> = sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db_error)?;
    row.map(Family::try_from).transpose()
}

pub(crate) async fn insert_family(conn: &mut Conn, family: &Family) -> StoreResult<()> {
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
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Marks one family revoked (if it is not already) and returns it as it now stands.
pub(crate) async fn revoke_family_in(
    conn: &mut Conn,
    id: SessionId,
    reason: RevocationReason,
    deny_until: OffsetDateTime,
    now: OffsetDateTime,
) -> StoreResult<Option<Family>> {
    mark_revoked(conn, id, reason, deny_until, now).await?;
    family_in(conn, &id.0.to_string()).await
}

/// Marks one family revoked unless it already is; true when this call revoked it.
pub(crate) async fn mark_revoked(
    conn: &mut Conn,
    id: SessionId,
    reason: RevocationReason,
    deny_until: OffsetDateTime,
    now: OffsetDateTime,
) -> StoreResult<bool> {
    let changed = sqlx::query(
        "UPDATE refresh_families SET revoked_at = ?, revoked_reason = ?, deny_until = ? \
         WHERE id = ? AND revoked_at IS NULL",
    )
    .bind(to_ms(now))
    .bind(reason.as_str())
    .bind(to_ms(deny_until))
    .bind(id.0.to_string())
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(changed.rows_affected() == 1)
}

/// Revokes every family of `user` that has not ended for good, but `except`, and returns the
/// ids of those it revoked.
pub(crate) async fn revoke_families_of_in(
    conn: &mut Conn,
    user: UserId,
    except: Option<SessionId>,
    reason: RevocationReason,
    deny_until: OffsetDateTime,
    now: OffsetDateTime,
) -> StoreResult<Vec<SessionId>> {
    let ids: Vec<String> = sqlx::query_scalar(
        "UPDATE refresh_families SET revoked_at = ?1, revoked_reason = ?2, deny_until = ?3 \
         WHERE user_id = ?4 AND revoked_at IS NULL AND absolute_expires_at > ?1 \
         AND id IS NOT ?5 RETURNING id",
    )
    .bind(to_ms(now))
    .bind(reason.as_str())
    .bind(to_ms(deny_until))
    .bind(user.0.to_string())
    .bind(except.map(|session| session.0.to_string()))
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    ids.iter().map(|id| parse_uuid(id).map(SessionId)).collect()
}

/// A token of any generation, with its family.
pub(crate) async fn token_in(conn: &mut Conn, hash: &TokenHash) -> StoreResult<Option<TokenRow>> {
    sqlx::query_as(
        "SELECT family_id, generation, expires_at, used_at FROM refresh_tokens WHERE hash = ?",
    )
    .bind(&hash.0[..])
    .fetch_optional(conn)
    .await
    .map_err(db_error)
}

pub(crate) async fn insert_token(conn: &mut Conn, token: &RefreshToken) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (hash, family_id, generation, issued_at, expires_at) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&token.hash.0[..])
    .bind(token.family_id.0.to_string())
    .bind(token.generation)
    .bind(to_ms(token.issued_at))
    .bind(to_ms(token.expires_at))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}
