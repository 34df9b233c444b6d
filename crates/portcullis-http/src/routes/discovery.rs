//! `/.well-known/openid-configuration`: what a resource server needs to verify this gateway's
//! access tokens, found from the issuer URL alone (RFC 8414 / OpenID Connect Discovery).
//!
//! It is published only when `public_url` is configured. Building `jwks_uri` from the request's
//! `Host` instead would let whoever sends the request choose where verifiers fetch keys from,
//! and a cache in between would hand that answer to everyone.

use crate::error::{ApiError, ErrorBody};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openid_configuration))
}

/// The discovery document. The gateway is not an OpenID provider (it has no authorization
/// endpoint), so it states only what verification uses, plus the three members discovery
/// clients insist on.
#[derive(Serialize, ToSchema)]
struct Discovery<'a> {
    issuer: &'a str,
    jwks_uri: String,
    /// Only `none`: tokens come from `/auth/login`, not from an authorization endpoint.
    response_types_supported: [&'static str; 1],
    subject_types_supported: [&'static str; 1],
    id_token_signing_alg_values_supported: [&'static str; 1],
    claims_supported: &'static [&'static str],
}

/// The claims of an access token (see `portcullis_core::AccessClaims`).
const CLAIMS: &[&str] = &[
    "iss", "aud", "sub", "iat", "nbf", "exp", "jti", "sid", "ver", "roles", "email",
];

/// What a resource server needs to verify access tokens, found from the issuer URL.
#[utoipa::path(
    get,
    path = "/.well-known/openid-configuration",
    tag = "meta",
    responses(
        (status = OK, description = "The discovery document.", body = Discovery),
        (status = NOT_FOUND, body = ErrorBody,
            description = "`not_found`: `public_url` is not configured."),
    ),
)]
async fn openid_configuration(State(state): State<AppState>) -> Response {
    let Some(public_url) = state.web.public_url.as_deref() else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "discovery is published once public_url is configured",
        )
        .into_response();
    };
    let settings = state.gateway.settings();
    let document = Discovery {
        issuer: &settings.issuer,
        jwks_uri: format!("{public_url}/.well-known/jwks.json"),
        response_types_supported: ["none"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: [settings.signing_alg.as_str()],
        claims_supported: CLAIMS,
    };
    // The same lifetime as the JWKS: both change only with the configuration or the keys.
    let cache = super::meta::jwks_cache_control();
    ([(header::CACHE_CONTROL, cache)], Json(document)).into_response()
}
