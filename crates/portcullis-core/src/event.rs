//! Security events: the append-only audit trail of what happened to accounts and sessions.

use crate::ids::{SessionId, UserId};
use crate::session::ClientInfo;
use time::OffsetDateTime;

/// The kinds of security event Portcullis records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    LoginSucceeded,
    LoginFailed,
    LoginRateLimited,
    RefreshTokenReused,
    SessionRevoked,
    Logout,
    LogoutAll,
    UserRevoked,
    UserLocked,
    UserUnlocked,
    RolesChanged,
    TokenRevoked,
    AdminKeyCreated,
    AdminKeyRevoked,
    SigningKeyRotated,
    SigningKeyRetired,
    UserRegistered,
    PasswordChanged,
    UserDeleted,
}

impl EventKind {
    pub const ALL: [EventKind; 19] = [
        Self::LoginSucceeded,
        Self::LoginFailed,
        Self::LoginRateLimited,
        Self::RefreshTokenReused,
        Self::SessionRevoked,
        Self::Logout,
        Self::LogoutAll,
        Self::UserRevoked,
        Self::UserLocked,
        Self::UserUnlocked,
        Self::RolesChanged,
        Self::TokenRevoked,
        Self::AdminKeyCreated,
        Self::AdminKeyRevoked,
        Self::SigningKeyRotated,
        Self::SigningKeyRetired,
        Self::UserRegistered,
        Self::PasswordChanged,
        Self::UserDeleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::LoginRateLimited => "login_rate_limited",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::SessionRevoked => "session_revoked",
            Self::Logout => "logout",
            Self::LogoutAll => "logout_all",
            Self::UserRevoked => "user_revoked",
            Self::UserLocked => "user_locked",
            Self::UserUnlocked => "user_unlocked",
            Self::RolesChanged => "roles_changed",
            Self::TokenRevoked => "token_revoked",
            Self::AdminKeyCreated => "admin_key_created",
            Self::AdminKeyRevoked => "admin_key_revoked",
            Self::SigningKeyRotated => "signing_key_rotated",
            Self::SigningKeyRetired => "signing_key_retired",
            Self::UserRegistered => "user_registered",
            Self::PasswordChanged => "password_changed",
            Self::UserDeleted => "user_deleted",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// One security event.
#[derive(Clone, Debug)]
pub struct SecurityEvent {
    pub at: OffsetDateTime,
    pub kind: EventKind,
    pub user_id: Option<UserId>,
    pub session_id: Option<SessionId>,
    pub client: ClientInfo,
    /// The admin key name (or `cli`) behind an admin action.
    pub actor: Option<String>,
    /// Kind-specific facts as a JSON object text (e.g. the replayer's address on reuse).
    pub details: String,
}

impl SecurityEvent {
    pub fn new(kind: EventKind, at: OffsetDateTime) -> Self {
        Self {
            at,
            kind,
            user_id: None,
            session_id: None,
            client: ClientInfo::default(),
            actor: None,
            details: "{}".to_owned(),
        }
    }

    pub fn user(mut self, user: UserId) -> Self {
        self.user_id = Some(user);
        self
    }

    pub fn session(mut self, session: SessionId) -> Self {
        self.session_id = Some(session);
        self
    }

    pub fn client(mut self, client: &ClientInfo) -> Self {
        self.client = client.clone();
        self
    }

    pub fn actor(mut self, actor: &str) -> Self {
        self.actor = Some(actor.to_owned());
        self
    }

    pub fn details(mut self, details: String) -> Self {
        self.details = details;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_name() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
    }
}
