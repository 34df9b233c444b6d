//! Row types and the conversions between SQLite values and domain types.

use portcullis_core::account::UserSummary;
use portcullis_core::{
    ClientInfo, Family, RevocationReason, SessionId, StoreError, StoreResult, User, UserId,
};
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) fn to_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub(crate) fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub(crate) fn parse_uuid(text: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(text)
        .map_err(|error| StoreError::Backend(format!("bad uuid in database: {error}").into()))
}

pub(crate) const USER_COLUMNS: &str =
    "id, email, password_hash, roles, token_version, locked, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: String,
    email: String,
    password_hash: String,
    roles: String,
    token_version: i64,
    locked: bool,
    created_at: i64,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(row: UserRow) -> StoreResult<Self> {
        let roles = roles_from(&row.roles)?;
        Ok(User {
            id: UserId(parse_uuid(&row.id)?),
            email: row.email,
            password_hash: row.password_hash,
            roles,
            token_version: row.token_version,
            locked: row.locked,
            created_at: from_ms(row.created_at),
        })
    }
}

/// Roles as stored: a JSON array of names.
fn roles_from(text: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(text)
        .map_err(|error| StoreError::Backend(format!("bad roles in database: {error}").into()))
}

pub(crate) const USER_SUMMARY_COLUMNS: &str = "id, email, roles, locked, created_at, last_login_at";

#[derive(sqlx::FromRow)]
pub(crate) struct UserSummaryRow {
    id: String,
    email: String,
    roles: String,
    locked: bool,
    created_at: i64,
    last_login_at: Option<i64>,
}

impl TryFrom<UserSummaryRow> for UserSummary {
    type Error = StoreError;

    fn try_from(row: UserSummaryRow) -> StoreResult<Self> {
        Ok(UserSummary {
            id: UserId(parse_uuid(&row.id)?),
            email: row.email,
            roles: roles_from(&row.roles)?,
            locked: row.locked,
            created_at: from_ms(row.created_at),
            last_login_at: row.last_login_at.map(from_ms),
        })
    }
}

pub(crate) const FAMILY_COLUMNS: &str = "id, user_id, created_at, last_used_at, idle_expires_at, \
     absolute_expires_at, current_generation, last_ip, last_user_agent, revoked_at, revoked_reason";

#[derive(sqlx::FromRow)]
pub(crate) struct FamilyRow {
    id: String,
    user_id: String,
    created_at: i64,
    last_used_at: i64,
    idle_expires_at: i64,
    absolute_expires_at: i64,
    current_generation: i64,
    last_ip: Option<String>,
    last_user_agent: Option<String>,
    revoked_at: Option<i64>,
    revoked_reason: Option<String>,
}

impl TryFrom<FamilyRow> for Family {
    type Error = StoreError;

    fn try_from(row: FamilyRow) -> StoreResult<Self> {
        Ok(Family {
            id: SessionId(parse_uuid(&row.id)?),
            user_id: UserId(parse_uuid(&row.user_id)?),
            created_at: from_ms(row.created_at),
            last_used_at: from_ms(row.last_used_at),
            idle_expires_at: from_ms(row.idle_expires_at),
            absolute_expires_at: from_ms(row.absolute_expires_at),
            current_generation: row.current_generation,
            last_client: ClientInfo {
                ip: row.last_ip,
                user_agent: row.last_user_agent,
            },
            revoked_at: row.revoked_at.map(from_ms),
            revoked_reason: row
                .revoked_reason
                .as_deref()
                .and_then(RevocationReason::parse),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    pub family_id: String,
    pub generation: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

pub(crate) fn families(rows: Vec<FamilyRow>) -> StoreResult<Vec<Family>> {
    rows.into_iter().map(Family::try_from).collect()
}
