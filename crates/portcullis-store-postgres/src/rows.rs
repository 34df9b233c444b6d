//! Row types and their conversion to domain types. Postgres types map directly (uuid, timestamptz,
//! text[]), so conversions cannot fail; an unknown revocation reason reads as none.

use portcullis_core::account::UserSummary;
use portcullis_core::{ClientInfo, Family, RevocationReason, SessionId, User, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) const USER_COLUMNS: &str =
    "id, email, password_hash, roles, token_version, locked, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: Uuid,
    email: String,
    password_hash: String,
    roles: Vec<String>,
    token_version: i64,
    locked: bool,
    created_at: OffsetDateTime,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            id: UserId(row.id),
            email: row.email,
            password_hash: row.password_hash,
            roles: row.roles,
            token_version: row.token_version,
            locked: row.locked,
            created_at: row.created_at,
        }
    }
}

pub(crate) const USER_SUMMARY_COLUMNS: &str = "id, email, roles, locked, created_at, last_login_at";

#[derive(sqlx::FromRow)]
pub(crate) struct UserSummaryRow {
    id: Uuid,
    email: String,
    roles: Vec<String>,
    locked: bool,
    created_at: OffsetDateTime,
    last_login_at: Option<OffsetDateTime>,
}

impl From<UserSummaryRow> for UserSummary {
    fn from(row: UserSummaryRow) -> Self {
        UserSummary {
            id: UserId(row.id),
            email: row.email,
            roles: row.roles,
            locked: row.locked,
            created_at: row.created_at,
            last_login_at: row.last_login_at,
        }
    }
}

pub(crate) const FAMILY_COLUMNS: &str = "id, user_id, created_at, last_used_at, idle_expires_at, \
     absolute_expires_at, current_generation, last_ip, last_user_agent, revoked_at, revoked_reason";

#[derive(sqlx::FromRow)]
pub(crate) struct FamilyRow {
    id: Uuid,
    user_id: Uuid,
    created_at: OffsetDateTime,
    last_used_at: OffsetDateTime,
    idle_expires_at: OffsetDateTime,
    absolute_expires_at: OffsetDateTime,
    current_generation: i64,
    last_ip: Option<String>,
    last_user_agent: Option<String>,
    revoked_at: Option<OffsetDateTime>,
    revoked_reason: Option<String>,
}

impl From<FamilyRow> for Family {
    fn from(row: FamilyRow) -> Self {
        Family {
            id: SessionId(row.id),
            user_id: UserId(row.user_id),
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            idle_expires_at: row.idle_expires_at,
            absolute_expires_at: row.absolute_expires_at,
            current_generation: row.current_generation,
            last_client: ClientInfo {
                ip: row.last_ip,
                user_agent: row.last_user_agent,
            },
            revoked_at: row.revoked_at,
            revoked_reason: row
                .revoked_reason
                .as_deref()
                .and_then(RevocationReason::parse),
        }
    }
}

/// What rotation needs to know about a stored refresh token.
#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    pub family_id: Uuid,
    pub generation: i64,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
}
