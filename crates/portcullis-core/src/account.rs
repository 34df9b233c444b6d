//! An account's life after registration, as the stores see it: listing accounts, setting or
//! changing a password (and which sessions that ends), and erasing an account.

use crate::ids::{SessionId, UserId};
use crate::store::UserRevocation;
use time::OffsetDateTime;

/// Which accounts to list, ordered by email. `after_email` is the pagination cursor: the email of
/// the last account of the previous page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// Accounts whose email contains this text (already lower-cased, as emails are stored).
    pub email_contains: Option<String>,
    /// Accounts holding this role.
    pub role: Option<String>,
    pub locked: Option<bool>,
    pub after_email: Option<String>,
    pub limit: u32,
}

/// One account in a listing: what an operator needs to recognise it, never its password hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSummary {
    pub id: UserId,
    pub email: String,
    pub roles: Vec<String>,
    pub locked: bool,
    pub created_at: OffsetDateTime,
    /// When the account last opened a session; `None` if it never has.
    pub last_login_at: Option<OffsetDateTime>,
}

/// A new password hash and the sessions it ends, applied in one transaction.
#[derive(Clone, Copy, Debug)]
pub struct PasswordReset<'a> {
    pub password_hash: &'a str,
    /// `None` (an admin set the password): every session ends and the token version is bumped,
    /// so every access token dies. `Some(session)` (the owner changed it from that session):
    /// every other live session ends and its access tokens are denied with it; the owner's own
    /// session and tokens go on.
    pub keep_session: Option<SessionId>,
    /// The hash the owner's current password was checked against: the change applies only if
    /// it is still the stored one (an admin's reset, or another change, that committed since
    /// wins). `None` for an admin, whose reset applies whatever the password is.
    pub replaces: Option<&'a str>,
    /// Until when the access tokens of the sessions it ends stay denied.
    pub deny_until: OffsetDateTime,
    pub now: OffsetDateTime,
}

/// What a password reset did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordResetOutcome {
    /// Stored; the token version as it now stands and the sessions ended.
    Reset(UserRevocation),
    /// The password it replaces was changed meanwhile, or the session to keep has ended:
    /// nothing was changed.
    Stale,
}

/// Erasing an account: its row, sessions and refresh tokens go; its security events stay, with
/// the email in them replaced by the account's id; a tombstone keeps every access token it
/// holds refused until `deny_until`, when the last of them would have expired anyway.
#[derive(Clone, Copy, Debug)]
pub struct Erasure {
    pub deny_until: OffsetDateTime,
    pub now: OffsetDateTime,
}

/// What erasing an account ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erased {
    /// The email the account had (no row holds it any more).
    pub email: String,
    /// The sessions that were live when the account was erased.
    pub sessions_ended: Vec<SessionId>,
}
