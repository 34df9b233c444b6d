//! `/auth/register`, `/auth/login`, `/auth/refresh`, `/auth/logout`, `/auth/logout-all`.
//!
//! Refresh and logout authenticate by the refresh cookie, which they can only read through
//! [`RefreshCookie`]: it runs the CSRF and origin checks first.

use crate::client::Client;
use crate::cookies::RefreshCookie;
use crate::error::{ApiError, ApiResult};
use crate::extract::{bearer_token, ApiJson, Authenticated};
use crate::views::UserCreated;
use crate::{AppState, WebSettings};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use portcullis_service::{Issued, Password};
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/auth/logout-all", post(logout_all))
}

#[derive(Deserialize)]
struct Credentials {
    email: String,
    password: String,
}

/// The body of a successful login or refresh (fields in alphabetical order, as always).
#[derive(Serialize)]
struct Tokens<'a> {
    access_token: &'a str,
    expires_in: u64,
    token_type: &'static str,
}

async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Credentials>,
) -> ApiResult<Response> {
    let user_id = state
        .gateway
        .register(&body.email, &Password::new(body.password))
        .await?;
    Ok((StatusCode::CREATED, Json(UserCreated { user_id })).into_response())
}

async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(body): ApiJson<Credentials>,
) -> ApiResult<Response> {
    let issued = state
        .gateway
        .login(&body.email, &Password::new(body.password), &client)
        .await?;
    Ok(token_response(&state.web, &issued))
}

async fn refresh(
    State(state): State<AppState>,
    Client(client): Client,
    RefreshCookie(presented): RefreshCookie,
) -> Response {
    match state.gateway.refresh(presented.as_deref(), &client).await {
        Ok(issued) => token_response(&state.web, &issued),
        Err(error) => {
            let error = ApiError::from(error);
            let unauthorized = error.status == StatusCode::UNAUTHORIZED;
            let mut response = error.into_response();
            if unauthorized {
                response
                    .headers_mut()
                    .append(header::SET_COOKIE, state.web.cookie.clear());
            }
            response
        }
    }
}

async fn logout(
    State(state): State<AppState>,
    Client(client): Client,
    RefreshCookie(presented): RefreshCookie,
    headers: HeaderMap,
) -> ApiResult<Response> {
    state
        .gateway
        .logout(presented.as_deref(), bearer_token(&headers), &client)
        .await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, state.web.cookie.clear())],
    )
        .into_response())
}

async fn logout_all(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    Client(client): Client,
) -> ApiResult<Response> {
    state.gateway.logout_all(&principal, &client).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, state.web.cookie.clear())],
    )
        .into_response())
}

/// The body and cookie of a successful login or refresh.
fn token_response(web: &WebSettings, issued: &Issued) -> Response {
    let body = Tokens {
        access_token: &issued.access_token,
        expires_in: issued.expires_in,
        token_type: "Bearer",
    };
    let cookie = web
        .cookie
        .set(issued.refresh_token.expose(), issued.refresh_expires_at);
    (
        [
            (header::SET_COOKIE, cookie),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Json(body),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_body_keeps_its_shape() {
        let body = Tokens {
            access_token: "a.b.c",
            expires_in: 900,
            token_type: "Bearer",
        };
        assert_eq!(
            serde_json::to_string(&body).expect("serialises"),
            r#"{"access_token":"a.b.c","expires_in":900,"token_type":"Bearer"}"#
        );
    }
}
