//! The JSON bodies of the admin API, most of which `portcullis admin --json` prints too, so the
//! API and the command line speak the same shapes. Every body is a type here, never ad-hoc JSON.
//!
//! Field order is part of the shape: these bodies were `json!` objects, which serde_json (built
//! without `preserve_order`) writes with their keys sorted, so every struct declares its fields
//! in alphabetical order. `tests.rs` pins each shape byte for byte.

use portcullis_core::account::UserSummary;
use portcullis_core::admin::StoredEvent;
use portcullis_core::{Family, SessionId, UserId, UserRevocation};
use serde::Serialize;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// A session as the security team sees it: live or not, and why it was revoked.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView<'a> {
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(value_type = Uuid)]
    id: SessionId,
    ip: Option<&'a str>,
    #[schema(format = DateTime)]
    last_used_at: String,
    live: bool,
    #[schema(value_type = Option<String>, format = DateTime)]
    revoked_at: Option<String>,
    revoked_reason: Option<&'static str>,
    user_agent: Option<&'a str>,
    #[schema(value_type = Uuid)]
    user_id: UserId,
}

impl<'a> SessionView<'a> {
    /// `family` as it stands now (`live` is judged at this moment).
    pub fn new(family: &'a Family) -> Self {
        Self::at(family, OffsetDateTime::now_utc())
    }

    fn at(family: &'a Family, now: OffsetDateTime) -> Self {
        Self {
            created_at: rfc3339(family.created_at),
            id: family.id,
            ip: family.last_client.ip.as_deref(),
            last_used_at: rfc3339(family.last_used_at),
            live: family.is_live(now),
            revoked_at: family.revoked_at.map(rfc3339),
            revoked_reason: family.revoked_reason.map(|reason| reason.as_str()),
            user_agent: family.last_client.user_agent.as_deref(),
            user_id: family.user_id,
        }
    }
}

/// One security event of the audit trail.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView<'a> {
    actor: Option<&'a str>,
    #[schema(format = DateTime)]
    at: String,
    /// Stored as JSON text whose shape depends on the kind (and on the version that wrote it),
    /// so it is passed on as whatever JSON it holds; text that is not JSON reads as `null`.
    details: Value,
    id: i64,
    ip: Option<&'a str>,
    kind: &'static str,
    #[schema(value_type = Option<Uuid>)]
    session_id: Option<SessionId>,
    user_agent: Option<&'a str>,
    #[schema(value_type = Option<Uuid>)]
    user_id: Option<UserId>,
}

impl<'a> EventView<'a> {
    pub fn new(stored: &'a StoredEvent) -> Self {
        let event = &stored.event;
        Self {
            actor: event.actor.as_deref(),
            at: rfc3339(event.at),
            details: serde_json::from_str(&event.details).unwrap_or(Value::Null),
            id: stored.id,
            ip: event.client.ip.as_deref(),
            kind: event.kind.as_str(),
            session_id: event.session_id,
            user_agent: event.client.user_agent.as_deref(),
            user_id: event.user_id,
        }
    }
}

/// A page of the audit trail (`GET /admin/events`); `next_cursor` is set when the page is full.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventsPage<'a> {
    pub events: Vec<EventView<'a>>,
    pub next_cursor: Option<String>,
}

/// One account of the admin listing (`GET /admin/users`, `portcullis admin users --json`).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserSummaryView<'a> {
    #[schema(format = DateTime)]
    created_at: String,
    email: &'a str,
    #[schema(value_type = Uuid)]
    id: UserId,
    /// When the account last logged in; `null` if it never has.
    #[schema(format = DateTime)]
    last_login_at: Option<String>,
    locked: bool,
    roles: &'a [String],
}

impl<'a> UserSummaryView<'a> {
    pub fn new(user: &'a UserSummary) -> Self {
        Self {
            created_at: rfc3339(user.created_at),
            email: &user.email,
            id: user.id,
            last_login_at: user.last_login_at.map(rfc3339),
            locked: user.locked,
            roles: &user.roles,
        }
    }
}

/// A page of accounts, by email (`GET /admin/users`); `next_cursor` is set when the page is full.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsersPage<'a> {
    pub next_cursor: Option<String>,
    pub users: Vec<UserSummaryView<'a>>,
}

/// What erasing an account ended (`DELETE /admin/users/{user}`).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserErased {
    pub deleted: bool,
    /// The sessions that were live, all ended.
    pub sessions_revoked: usize,
    #[schema(value_type = Uuid)]
    pub user_id: UserId,
}

/// What the owner's password change ended (`POST /auth/password`): every other session.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordChanged {
    pub sessions_revoked: usize,
}

/// What revoking a user did (`POST /admin/users/{user}/revoke`).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserRevoked {
    sessions_revoked: usize,
    token_version: i64,
}

impl From<&UserRevocation> for UserRevoked {
    fn from(revocation: &UserRevocation) -> Self {
        Self {
            sessions_revoked: revocation.sessions_revoked.len(),
            token_version: revocation.token_version,
        }
    }
}

/// An account's lock state after `lock` (with what the lock revoked) or `unlock`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LockState {
    locked: bool,
    /// Only after a lock: the sessions it revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    sessions_revoked: Option<usize>,
    /// Only after a lock: the token version that retired every access token.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    token_version: Option<i64>,
}

impl LockState {
    pub fn locked(revocation: &UserRevocation) -> Self {
        let revoked = UserRevoked::from(revocation);
        Self {
            locked: true,
            sessions_revoked: Some(revoked.sessions_revoked),
            token_version: Some(revoked.token_version),
        }
    }

    pub fn unlocked() -> Self {
        Self {
            locked: false,
            sessions_revoked: None,
            token_version: None,
        }
    }
}

/// An outcome with the user it concerns. The command line names the user it resolved from an
/// email; the API does not, its caller named the user in the path.
#[derive(Debug, Serialize)]
pub struct ForUser<T> {
    #[serde(flatten)]
    pub outcome: T,
    pub user_id: UserId,
}

/// A user just created (`POST /auth/register`, `POST /admin/users`).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserCreated {
    #[schema(value_type = Uuid)]
    pub user_id: UserId,
}

/// A user's roles after a change, and the token version that retired the old ones.
#[derive(Debug, Serialize, ToSchema)]
pub struct RolesChanged<'a> {
    pub roles: &'a [String],
    pub token_version: i64,
    #[schema(value_type = Uuid)]
    pub user_id: UserId,
}

/// The access token that was denylisted.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenRevoked {
    pub jti: Uuid,
}

/// What a mass revocation hit, or in a dry run would hit.
#[derive(Debug, Serialize, ToSchema)]
pub struct MassRevoked {
    pub dry_run: bool,
    pub sessions: usize,
    pub users: usize,
}

/// A signing key and where it is in its life (`GET /admin/keys`, `portcullis keys list`).
#[derive(Debug, Serialize, ToSchema)]
pub struct SigningKeyView {
    /// When it signs (or signed) first.
    #[schema(format = DateTime)]
    pub activates_at: String,
    pub alg: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub kid: String,
    /// When it leaves the JWKS, once known.
    #[schema(format = DateTime)]
    pub retires_at: Option<String>,
    /// `next`, `active`, `retiring` or `retired`.
    #[schema(value_type = String, pattern = "^(next|active|retiring|retired)$")]
    pub state: &'static str,
}

impl From<&portcullis_service::SigningKeyView> for SigningKeyView {
    fn from(key: &portcullis_service::SigningKeyView) -> Self {
        Self {
            activates_at: rfc3339(key.activates_at),
            alg: key.alg.clone(),
            created_at: rfc3339(key.created_at),
            kid: key.kid.clone(),
            retires_at: key.retires_at.map(rfc3339),
            state: key.state.as_str(),
        }
    }
}

/// Every signing key, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SigningKeys {
    pub keys: Vec<SigningKeyView>,
}

#[cfg(test)]
mod tests;
