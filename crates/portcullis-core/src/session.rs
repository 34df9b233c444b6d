//! Refresh-token families ("sessions") and the refresh tokens in them, as stored.

use crate::ids::{SessionId, TokenHash, UserId};
use time::OffsetDateTime;

/// Where a request came from, recorded on sessions and security events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// One login: a chain of refresh tokens, each replacing the last.
#[derive(Clone, Debug)]
pub struct Family {
    pub id: SessionId,
    pub user_id: UserId,
    pub created_at: OffsetDateTime,
    pub last_used_at: OffsetDateTime,
    /// When the newest token stops working if unused (moves forward on every rotation).
    pub idle_expires_at: OffsetDateTime,
    /// When the family ends whatever happens; never extended.
    pub absolute_expires_at: OffsetDateTime,
    /// Generation number of the family's newest token.
    pub current_generation: i64,
    /// The client of the most recent login or refresh.
    pub last_client: ClientInfo,
    pub revoked_at: Option<OffsetDateTime>,
    pub revoked_reason: Option<RevocationReason>,
}

impl Family {
    /// True while the family can still be refreshed.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && now < self.idle_expires_at && now < self.absolute_expires_at
    }
}

/// A refresh token as stored: its hash, never its text.
#[derive(Clone, Debug)]
pub struct RefreshToken {
    pub hash: TokenHash,
    pub family_id: SessionId,
    pub generation: i64,
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
}

/// Why a family was revoked, kept for the audit trail and the admin session listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevocationReason {
    Logout,
    LogoutAll,
    UserRevoked,
    RefreshTokenReused,
    SessionDeleted,
    AdminRevoked,
    /// The account was locked; a family that reaches rotation anyway is ended there.
    UserLocked,
    /// The password was set by an admin, or changed by its owner from another session.
    PasswordChanged,
}

impl RevocationReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::LogoutAll => "logout_all",
            Self::UserRevoked => "user_revoked",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::SessionDeleted => "session_deleted",
            Self::AdminRevoked => "admin_revoked",
            Self::UserLocked => "user_locked",
            Self::PasswordChanged => "password_changed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Logout,
            Self::LogoutAll,
            Self::UserRevoked,
            Self::RefreshTokenReused,
            Self::SessionDeleted,
            Self::AdminRevoked,
            Self::UserLocked,
            Self::PasswordChanged,
        ]
        .into_iter()
        .find(|reason| reason.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_round_trips_through_its_name() {
        for reason in [
            RevocationReason::Logout,
            RevocationReason::LogoutAll,
            RevocationReason::UserRevoked,
            RevocationReason::RefreshTokenReused,
            RevocationReason::SessionDeleted,
            RevocationReason::AdminRevoked,
            RevocationReason::UserLocked,
            RevocationReason::PasswordChanged,
        ] {
            assert_eq!(RevocationReason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(RevocationReason::parse("nope"), None);
    }
}
