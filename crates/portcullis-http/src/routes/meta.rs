//! Operational routes: JWKS, liveness, readiness, and the JSON 404/405 answers.

use crate::error::{ApiError, ErrorBody};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_service::Readiness;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(jwks))
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// The body of `/healthz` and a serving `/readyz` (fields in alphabetical order, as always).
#[derive(Serialize, ToSchema)]
struct Health {
    /// Why the gateway is degraded.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    message: Option<&'static str>,
    /// `ok` (`/healthz`), `ready` or `degraded` (`/readyz`).
    #[schema(pattern = "^(ok|ready|degraded)$")]
    status: &'static str,
}

/// The JSON Web Key Set (RFC 7517) as the document states it; the service layer builds the
/// real one, and the API tests check that it matches.
#[derive(ToSchema)]
#[allow(dead_code)]
struct Jwks {
    keys: Vec<Jwk>,
}

/// One public key: EC (`crv` P-256, with `y`) or OKP (`crv` Ed25519).
#[derive(ToSchema)]
#[allow(dead_code)]
struct Jwk {
    alg: String,
    crv: String,
    kid: String,
    kty: String,
    #[schema(rename = "use")]
    key_use: String,
    x: String,
    y: Option<String>,
}

impl Health {
    fn status(status: &'static str) -> Json<Self> {
        Json(Self {
            message: None,
            status,
        })
    }
}

/// How long verifiers may cache the JWKS (and the discovery document). A new signing key is
/// published at least this long before it signs (`signing_key_publish_ahead`), so a verifier
/// holding a cached copy never meets a token with a kid it does not know.
pub const JWKS_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(300);

/// The `Cache-Control` of the JWKS and the discovery document.
pub fn jwks_cache_control() -> HeaderValue {
    HeaderValue::from_str(&format!("public, max-age={}", JWKS_MAX_AGE.as_secs()))
        .unwrap_or_else(|_| HeaderValue::from_static("no-cache"))
}

/// The public keys that verify access tokens.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "meta",
    responses((status = OK, description = "The key set; cacheable for five minutes.", body = Jwks)),
)]
async fn jwks(State(state): State<AppState>) -> Response {
    let cache = jwks_cache_control();
    ([(header::CACHE_CONTROL, cache)], Json(state.gateway.jwks())).into_response()
}

/// Liveness: the process serves HTTP.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "meta",
    responses((status = OK, description = "`ok`.", body = Health)),
)]
async fn healthz() -> Json<Health> {
    Health::status("ok")
}

/// Readiness: whether this replica should get traffic.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "meta",
    responses(
        (status = OK, description = "`ready`, or `degraded` (serving without the revocation \
            cache).", body = Health),
        (status = SERVICE_UNAVAILABLE, body = ErrorBody, description = "`unavailable`: storage \
            is not answering; `shutting_down`: the process is stopping."),
    ),
)]
async fn readyz(State(state): State<AppState>) -> Response {
    if state.draining.is_draining() {
        let message = "the gateway is shutting down";
        return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", message)
            .into_response();
    }
    match state.gateway.readiness().await {
        Readiness::Ready => Health::status("ready").into_response(),
        Readiness::Degraded => Json(Health {
            message: Some(
                "the revocation cache is not answering; revocation checks use the database",
            ),
            status: "degraded",
        })
        .into_response(),
        Readiness::Unavailable => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "storage is not answering",
        )
        .into_response(),
    }
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that method",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_bodies_keep_their_shapes() {
        let json = |health: &Health| serde_json::to_string(health).expect("serialises");
        assert_eq!(json(&Health::status("ok")), r#"{"status":"ok"}"#);
        let degraded = Health {
            message: Some("the cache is down"),
            status: "degraded",
        };
        assert_eq!(
            json(&degraded),
            r#"{"message":"the cache is down","status":"degraded"}"#
        );
    }
}
