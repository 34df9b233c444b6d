//! [`ApiError`]: every error response, always `{"error": "<code>", "message": "..."}` with the
//! right status. Internal details are logged here, once, and never sent.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_core::user::InputError;
use portcullis_service::AuthError;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        let message = error.to_string();
        let (status, code) = match &error {
            AuthError::Input(InputError::InvalidEmail) => {
                (StatusCode::BAD_REQUEST, "invalid_email")
            }
            AuthError::Input(InputError::WeakPassword) => {
                (StatusCode::BAD_REQUEST, "weak_password")
            }
            AuthError::Input(InputError::InvalidRole) => (StatusCode::BAD_REQUEST, "invalid_role"),
            AuthError::EmailTaken => (StatusCode::CONFLICT, "email_taken"),
            AuthError::RegistrationDisabled => (StatusCode::FORBIDDEN, "registration_disabled"),
            AuthError::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            AuthError::AccountLocked => (StatusCode::FORBIDDEN, "account_locked"),
            AuthError::MissingRefreshToken => (StatusCode::UNAUTHORIZED, "missing_refresh_token"),
            AuthError::InvalidRefreshToken => (StatusCode::UNAUTHORIZED, "invalid_refresh_token"),
            AuthError::RefreshTokenReused => (StatusCode::UNAUTHORIZED, "refresh_token_reused"),
            AuthError::SessionRevoked => (StatusCode::UNAUTHORIZED, "session_revoked"),
            AuthError::InvalidToken(_) => (StatusCode::UNAUTHORIZED, "invalid_token"),
            AuthError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            AuthError::Unavailable(detail) => {
                tracing::warn!(%detail, "backend unavailable");
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            }
            AuthError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
            }
        };
        Self {
            status,
            code,
            message,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({ "error": self.code, "message": self.message }));
        let mut response = (self.status, body).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 6750: bearer-token failures say so; every other 401 still names the scheme.
            let challenge = if self.code == "invalid_token" {
                r#"Bearer error="invalid_token""#
            } else {
                r#"Bearer realm="portcullis""#
            };
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
