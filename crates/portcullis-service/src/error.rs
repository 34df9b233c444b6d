//! The service layer's error: one variant per outcome a client must be able to tell apart, and
//! for the outcomes no client may look into (a backend down, a failure inside the gateway) the
//! typed cause, kept for the log and never part of the message.

use crate::access_token::{SigningError, TokenError};
use crate::password::PasswordError;
use crate::secret::SecretError;
use crate::signing_keys::KeyError;
use portcullis_core::signing_key::RetireRefused;
use portcullis_core::user::InputError;
use portcullis_core::{PathError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("an account with this email address already exists")]
    EmailTaken,
    #[error("an admin key with this name exists already")]
    AdminKeyNameTaken,
    #[error("self-service registration is disabled")]
    RegistrationDisabled,
    #[error("the email address or password is wrong")]
    InvalidCredentials,
    #[error("too many failed logins; try again later")]
    RateLimited { retry_after: std::time::Duration },
    #[error("this account is locked")]
    AccountLocked,
    /// A password change whose proof, the current password, was wrong.
    #[error("the current password is wrong")]
    WrongCurrentPassword,
    #[error("no refresh token was presented")]
    MissingRefreshToken,
    #[error("the refresh token is invalid or has expired")]
    InvalidRefreshToken,
    #[error("the refresh token was already used; the session has been revoked")]
    RefreshTokenReused,
    #[error("the session has been revoked")]
    SessionRevoked,
    #[error(transparent)]
    InvalidToken(#[from] TokenError),
    #[error("your roles do not allow this request")]
    Forbidden,
    #[error(transparent)]
    InvalidPath(#[from] PathError),
    #[error("not found")]
    NotFound,
    /// An admin named a user by something that is neither a user id nor an email address.
    #[error("a user is named by their id (a UUID) or their email address")]
    InvalidUserReference,
    /// An admin asked to revoke a token this gateway did not sign (or that is not a JWT).
    #[error("not a token this gateway signed ({0})")]
    ForeignToken(TokenError),
    /// An admin gave a token expiry outside the range of times.
    #[error("exp must be a Unix time in seconds")]
    InvalidExpiry,
    #[error("a mass revocation needs at least one criterion")]
    EmptyFilter,
    #[error("the admin key is missing, invalid or revoked")]
    InvalidAdminKey,
    /// A signing key could not be retired.
    #[error(transparent)]
    SigningKey(RetireRefused),
    /// Always a `StoreError::Unavailable`: the one store failure worth retrying.
    #[error("a backing service is unavailable; try again shortly")]
    Unavailable(#[source] StoreError),
    #[error("internal error")]
    Internal(#[source] InternalError),
}

/// A failure inside the gateway rather than of the request: its message and causes are for the
/// log only.
#[derive(Debug, thiserror::Error)]
pub enum InternalError {
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    Signing(#[from] SigningError),
}

impl From<StoreError> for AuthError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::EmailTaken => Self::EmailTaken,
            StoreError::AdminKeyNameTaken => Self::AdminKeyNameTaken,
            error @ StoreError::Unavailable(_) => Self::Unavailable(error),
            error @ StoreError::Backend(_) => Self::Internal(InternalError::Store(error)),
        }
    }
}

/// Every internal failure converts with `?`, as `AuthError::Internal`.
macro_rules! internal_from {
    ($($source:ty),+) => {$(
        impl From<$source> for AuthError {
            fn from(error: $source) -> Self {
                Self::Internal(error.into())
            }
        }
    )+};
}

internal_from!(KeyError, SecretError, PasswordError, SigningError);

pub type AuthResult<T> = Result<T, AuthError>;

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::Causes;

    #[test]
    fn the_message_stays_generic_and_the_causes_stay_with_the_error() {
        let unavailable = AuthError::from(StoreError::Unavailable("redis timed out".into()));
        assert_eq!(
            unavailable.to_string(),
            "a backing service is unavailable; try again shortly"
        );
        assert_eq!(
            Causes(&unavailable).to_string(),
            "a backing service is unavailable; try again shortly: storage is unavailable: \
             redis timed out"
        );
        let internal = AuthError::from(StoreError::Backend("disk I/O error".into()));
        assert_eq!(internal.to_string(), "internal error");
        assert_eq!(
            Causes(&internal).to_string(),
            "internal error: storage failed: disk I/O error"
        );
        let undecryptable = AuthError::from(KeyError::Undecryptable {
            kid: "k1".into(),
            source: aws_lc_rs::error::Unspecified,
        });
        assert_eq!(undecryptable.to_string(), "internal error");
        assert!(Causes(&undecryptable)
            .to_string()
            .starts_with("internal error: signing key k1 cannot be decrypted"));
        assert!(matches!(
            AuthError::from(StoreError::EmailTaken),
            AuthError::EmailTaken
        ));
    }
}
