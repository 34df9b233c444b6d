//! Extractors: JSON bodies and path parameters whose rejections come out in the API's error
//! shape, and bearer authentication. Also the one answer to a request body that stopped
//! arriving (408), which the proxy gives too.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use portcullis_service::Principal;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A JSON body, which must be an object. Wrong content type → 415, too large → 413, stalled →
/// 408, anything unparsable or of another shape → 400.
///
/// The body is read as an object before it is read as `T`: serde would otherwise also build a
/// struct from an array of its fields in order (`[]` for a struct whose fields all have
/// defaults), a second spelling of every body that no client is meant to use.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let object = match axum::Json::<Map<String, Value>>::from_request(request, state).await {
            Ok(axum::Json(object)) => object,
            Err(rejection) => return Err(json_rejection(&rejection)),
        };
        serde_json::from_value(Value::Object(object))
            .map(Self)
            .map_err(|error| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    format!("Failed to deserialize the JSON body into the target type: {error}"),
                )
            })
    }
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    if caused_by_body_timeout(rejection) {
        return body_timed_out();
    }
    match rejection.status() {
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the request body must be JSON (Content-Type: application/json)",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "the request body must not exceed {} bytes",
                crate::MAX_BODY_BYTES
            ),
        ),
        _ => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            rejection.body_text(),
        ),
    }
}

/// Path parameters. A segment that cannot be one (say, not UTF-8 once percent-decoded) is
/// 400 `invalid_request` in the API's shape rather than axum's plain text; a route whose
/// parameters do not fit its handler is our bug, a 500.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(rejection) if rejection.status().is_client_error() => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                rejection.body_text(),
            )),
            Err(rejection) => Err(ApiError::internal(&rejection)),
        }
    }
}

/// Whether `error` or one of its causes is the server's request-body deadline
/// (`http_body_timeout`, tower-http's `TimeoutBody`): the client's fault, not a bad body.
pub(crate) fn caused_by_body_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(error), |error| error.source())
        .any(|cause| cause.is::<tower_http::timeout::TimeoutError>())
}

pub(crate) fn body_timed_out() -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        "the request body stopped arriving before it was complete",
    )
}

/// The bearer token of the `Authorization` header, if there is one.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A caller authenticated by a valid, unrevoked access token.
pub struct Authenticated(pub Principal);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let principal = state
            .gateway
            .authenticate(bearer_token(&parts.headers))
            .await?;
        Ok(Self(principal))
    }
}
