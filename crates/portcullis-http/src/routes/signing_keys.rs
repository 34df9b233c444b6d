//! `/admin/keys`: the signing-key lifecycle for the security team (list, rotate, retire), with
//! the same admin-key authentication and audit as the rest of `/admin/*`. The rules are the
//! gateway's; these handlers only read the request and shape the answer.

use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath};
use crate::routes::admin::Admin;
use crate::views::{SigningKeyView, SigningKeys};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/keys", get(list))
        .route("/admin/keys/rotate", post(rotate))
        .route("/admin/keys/{kid}/retire", post(retire))
}

async fn list(State(state): State<AppState>, Admin(_): Admin) -> ApiResult<Json<SigningKeys>> {
    let keys = state.gateway.signing_keys().await?;
    Ok(Json(SigningKeys {
        keys: keys.iter().map(SigningKeyView::from).collect(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rotation {
    /// Sign with the new key at once instead of after `signing_key_publish_ahead`.
    #[serde(default)]
    now: bool,
}

async fn rotate(
    State(state): State<AppState>,
    Admin(actor): Admin,
    ApiJson(rotation): ApiJson<Rotation>,
) -> ApiResult<(StatusCode, Json<SigningKeyView>)> {
    let key = state
        .gateway
        .rotate_signing_key(rotation.now, &actor)
        .await?;
    Ok((StatusCode::CREATED, Json(SigningKeyView::from(&key))))
}

async fn retire(
    State(state): State<AppState>,
    Admin(actor): Admin,
    ApiPath(kid): ApiPath<String>,
) -> ApiResult<Json<SigningKeyView>> {
    let key = state.gateway.retire_signing_key(&kid, &actor).await?;
    Ok(Json(SigningKeyView::from(&key)))
}
