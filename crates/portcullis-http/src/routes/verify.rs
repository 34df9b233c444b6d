//! `GET /auth/verify`: the forward-auth check reverse proxies call for every request.

use crate::error::ApiResult;
use crate::extract::bearer_token;
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::routing::get;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new().route("/auth/verify", get(verify))
}

async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<(StatusCode, HeaderMap)> {
    let principal = state.gateway.authenticate(bearer_token(&headers)).await?;
    let claims = &principal.claims;
    let mut identity = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        // Every value is ASCII by construction (UUIDs, validated emails and role names).
        if let Ok(value) = HeaderValue::from_str(&value) {
            identity.insert(HeaderName::from_static(name), value);
        }
    };
    put("x-auth-user-id", claims.sub.to_string());
    put("x-auth-email", claims.email.clone());
    put("x-auth-roles", claims.roles.join(","));
    put("x-auth-session-id", claims.sid.to_string());
    Ok((StatusCode::OK, identity))
}
