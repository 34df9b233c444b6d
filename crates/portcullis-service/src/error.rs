//! The service layer's error: one variant per outcome a client must be able to tell apart.

use crate::access_token::TokenError;
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
    #[error("a backing service is unavailable; try again shortly")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

impl From<StoreError> for AuthError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::EmailTaken => Self::EmailTaken,
            StoreError::AdminKeyNameTaken => Self::AdminKeyNameTaken,
            StoreError::Unavailable(detail) => Self::Unavailable(detail.to_string()),
            StoreError::Backend(detail) => Self::Internal(detail.to_string()),
        }
    }
}

pub type AuthResult<T> = Result<T, AuthError>;
