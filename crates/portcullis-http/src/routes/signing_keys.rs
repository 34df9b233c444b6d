//! `/admin/keys`: the signing-key lifecycle for the security team (list, rotate, retire), with
//! the same admin-key authentication and audit as the rest of `/admin/*`. The rules are the
//! gateway's; these handlers only read the request and shape the answer.

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::routes::admin::Admin;
use crate::views::{SigningKeyView, SigningKeys};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(rotate))
        .routes(routes!(retire))
}

/// Every signing key with its state (`next`, `active`, `retiring`, `retired`), newest first.
#[utoipa::path(
    get,
    path = "/admin/keys",
    tag = "admin",
    security(("admin_key" = [])),
    responses((status = OK, description = "The keys.", body = SigningKeys)),
)]
async fn list(State(state): State<AppState>, Admin(_): Admin) -> ApiResult<Json<SigningKeys>> {
    let keys = state.gateway.signing_keys().await?;
    Ok(Json(SigningKeys {
        keys: keys.iter().map(SigningKeyView::from).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Rotation {
    /// Sign with the new key at once instead of after `signing_key_publish_ahead`.
    #[serde(default)]
    now: bool,
}

/// Make a new signing key: published at once, signing after `signing_key_publish_ahead`, or at
/// once with `"now": true` (the previous key then retires once its tokens have expired).
#[utoipa::path(
    post,
    path = "/admin/keys/rotate",
    tag = "admin",
    request_body = Rotation,
    security(("admin_key" = [])),
    responses((status = CREATED, description = "The new key.", body = SigningKeyView)),
)]
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

/// Retire a key at once: gone from the JWKS, and every token it signed refused on every
/// replica's next request.
#[utoipa::path(
    post,
    path = "/admin/keys/{kid}/retire",
    tag = "admin",
    params(("kid" = String, Path, description = "The key's id, as in the JWKS.")),
    security(("admin_key" = [])),
    responses(
        (status = OK, description = "The key, now retired.", body = SigningKeyView),
        (status = NOT_FOUND, body = ErrorBody, description = "`not_found`: no key has this id."),
        (status = CONFLICT, body = ErrorBody, description = "`key_active`: the key signs now \
            (rotate first), or `key_already_retired`."),
    ),
)]
async fn retire(
    State(state): State<AppState>,
    Admin(actor): Admin,
    ApiPath(kid): ApiPath<String>,
) -> ApiResult<Json<SigningKeyView>> {
    let key = state.gateway.retire_signing_key(&kid, &actor).await?;
    Ok(Json(SigningKeyView::from(&key)))
}
