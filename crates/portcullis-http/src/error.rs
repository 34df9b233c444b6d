//! [`ApiError`]: every error response, always `{"error": "<code>", "message": "..."}` with the
//! right status. Internal details are logged here, once, and never sent.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_core::user::InputError;
use portcullis_service::{AuthError, Causes, RetireRefused};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds for a `Retry-After` header (429).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 500 `internal_error` for a failure of the gateway itself: `error` and its causes are
    /// logged, the client reads only "internal error".
    pub fn internal(error: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(detail = %Causes(error), "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "internal error",
        )
    }
}

/// The body of every error response.
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
pub(crate) struct ErrorBody<'a> {
    /// A stable snake_case code that programs can branch on, such as `invalid_token`.
    error: &'static str,
    /// What went wrong, for people; its wording may change.
    message: &'a str,
}

/// A refused request path is the service's `invalid_path`, wherever the HTTP layer reads one.
impl From<portcullis_core::PathError> for ApiError {
    fn from(error: portcullis_core::PathError) -> Self {
        AuthError::from(error).into()
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        let message = error.to_string();
        let retry_after = match &error {
            AuthError::RateLimited { retry_after } => Some(retry_after.as_secs().max(1)),
            _ => None,
        };
        let (status, code) = match &error {
            AuthError::Input(InputError::InvalidEmail) => {
                (StatusCode::BAD_REQUEST, "invalid_email")
            }
            AuthError::Input(InputError::WeakPassword) => {
                (StatusCode::BAD_REQUEST, "weak_password")
            }
            AuthError::Input(InputError::InvalidRole) => (StatusCode::BAD_REQUEST, "invalid_role"),
            AuthError::Input(InputError::InvalidKeyName) => {
                (StatusCode::BAD_REQUEST, "invalid_request")
            }
            AuthError::EmailTaken => (StatusCode::CONFLICT, "email_taken"),
            AuthError::AdminKeyNameTaken => (StatusCode::CONFLICT, "admin_key_name_taken"),
            AuthError::RegistrationDisabled => (StatusCode::FORBIDDEN, "registration_disabled"),
            AuthError::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            AuthError::AccountLocked => (StatusCode::FORBIDDEN, "account_locked"),
            AuthError::WrongCurrentPassword => (StatusCode::FORBIDDEN, "invalid_current_password"),
            AuthError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            AuthError::MissingRefreshToken => (StatusCode::UNAUTHORIZED, "missing_refresh_token"),
            AuthError::InvalidRefreshToken => (StatusCode::UNAUTHORIZED, "invalid_refresh_token"),
            AuthError::RefreshTokenReused => (StatusCode::UNAUTHORIZED, "refresh_token_reused"),
            AuthError::SessionRevoked => (StatusCode::UNAUTHORIZED, "session_revoked"),
            AuthError::InvalidToken(_) => (StatusCode::UNAUTHORIZED, "invalid_token"),
            AuthError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            AuthError::InvalidPath(_) => (StatusCode::BAD_REQUEST, "invalid_path"),
            AuthError::NotFound | AuthError::SigningKey(RetireRefused::NotFound(_)) => {
                (StatusCode::NOT_FOUND, "not_found")
            }
            AuthError::SigningKey(RetireRefused::AlreadyRetired(_)) => {
                (StatusCode::CONFLICT, "key_already_retired")
            }
            AuthError::SigningKey(RetireRefused::Active(_)) => (StatusCode::CONFLICT, "key_active"),
            // An admin's malformed input: a 401 here would read as "your admin key is bad".
            AuthError::EmptyFilter
            | AuthError::InvalidUserReference
            | AuthError::ForeignToken(_)
            | AuthError::InvalidExpiry => (StatusCode::BAD_REQUEST, "invalid_request"),
            AuthError::InvalidAdminKey => (StatusCode::UNAUTHORIZED, "invalid_token"),
            // The causes go to the log; the client reads only the generic message.
            AuthError::Unavailable(source) => {
                tracing::warn!(detail = %Causes(source), "backend unavailable");
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            }
            AuthError::Internal(source) => {
                tracing::error!(detail = %Causes(source), "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
            }
        };
        Self {
            status,
            code,
            message,
            retry_after,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(ErrorBody {
            error: self.code,
            message: &self.message,
        });
        let mut response = (self.status, body).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::StoreError;

    async fn body_of(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[tokio::test]
    async fn an_error_body_is_code_then_message() {
        let response =
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route").into_response();
        assert_eq!(
            body_of(response).await,
            r#"{"error":"not_found","message":"no such route"}"#
        );
    }

    #[tokio::test]
    async fn internal_details_never_reach_the_body() {
        for (error, status, body) in [
            (
                AuthError::from(StoreError::Backend("secret table name".into())),
                StatusCode::INTERNAL_SERVER_ERROR,
                r#"{"error":"internal_error","message":"internal error"}"#,
            ),
            (
                AuthError::from(StoreError::Unavailable("redis at 10.0.0.7".into())),
                StatusCode::SERVICE_UNAVAILABLE,
                r#"{"error":"unavailable","message":"a backing service is unavailable; try again shortly"}"#,
            ),
        ] {
            let response = ApiError::from(error).into_response();
            assert_eq!(response.status(), status);
            assert_eq!(body_of(response).await, body);
        }
        let response = ApiError::internal(&std::io::Error::other("the detail")).into_response();
        assert_eq!(
            body_of(response).await,
            r#"{"error":"internal_error","message":"internal error"}"#
        );
    }
}
