//! The caller's own account: `/auth/me` and `/auth/sessions`.

use crate::client::Client;
use crate::error::ApiResult;
use crate::extract::Authenticated;
use crate::views::rfc3339;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use portcullis_core::SessionId;
use portcullis_service::AuthError;
use serde_json::{json, Value};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/me", get(me))
        .route("/auth/sessions", get(sessions))
        .route("/auth/sessions/{id}", delete(delete_session))
}

async fn me(Authenticated(principal): Authenticated) -> Json<Value> {
    let claims = &principal.claims;
    Json(json!({
        "user_id": claims.sub,
        "email": claims.email,
        "roles": claims.roles,
        "session_id": claims.sid,
    }))
}

async fn sessions(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
) -> ApiResult<Json<Value>> {
    let sessions = state.gateway.sessions(&principal).await?;
    let list: Vec<Value> = sessions
        .into_iter()
        .map(|view| {
            let family = view.family;
            json!({
                "id": family.id,
                "created_at": rfc3339(family.created_at),
                "last_used_at": rfc3339(family.last_used_at),
                "user_agent": family.last_client.user_agent,
                "ip": family.last_client.ip,
                "current": view.current,
            })
        })
        .collect();
    Ok(Json(Value::Array(list)))
}

async fn delete_session(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| AuthError::NotFound)?;
    state
        .gateway
        .delete_session(&principal, SessionId(id), &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
