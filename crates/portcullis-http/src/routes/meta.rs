//! Operational routes: JWKS, liveness, readiness, and the JSON 404/405 answers.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use portcullis_service::Readiness;
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn jwks(State(state): State<AppState>) -> Response {
    let cache = HeaderValue::from_static("public, max-age=300");
    (
        [(header::CACHE_CONTROL, cache)],
        Json(state.gateway.jwks().clone()),
    )
        .into_response()
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.draining.is_draining() {
        let message = "the gateway is shutting down";
        return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", message)
            .into_response();
    }
    match state.gateway.readiness().await {
        Readiness::Ready => Json(json!({ "status": "ready" })).into_response(),
        Readiness::Degraded => Json(json!({
            "status": "degraded",
            "message": "the revocation cache is not answering; revocation checks use the database",
        }))
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
