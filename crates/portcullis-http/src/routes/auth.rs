//! `/auth/register`, `/auth/login`, `/auth/refresh`, `/auth/logout`, `/auth/logout-all`.
//!
//! Refresh and logout authenticate by the refresh cookie, which they can only read through
//! [`RefreshCookie`]: it runs the CSRF and origin checks first.

use crate::client::Client;
use crate::cookies::{CookieSettings, RefreshCookie};
use crate::error::{ApiError, ApiResult};
use crate::extract::{bearer_token, ApiJson, Authenticated};
use crate::views::UserCreated;
use crate::{AppState, WebSettings};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use portcullis_service::{AuthError, Issued, Password};
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

/// A refused refresh. When the refusal means the presented cookie can never work again, the
/// response also deletes it, so the browser stops presenting a dead token; any other failure (a
/// backend down, say) leaves the cookie for the next attempt.
struct RefreshError {
    error: ApiError,
    clear_cookie: Option<HeaderValue>,
}

impl RefreshError {
    fn new(error: AuthError, cookie: &CookieSettings) -> Self {
        // No cookie, or one that is unknown, expired, replayed or from a revoked session.
        let dead = matches!(
            error,
            AuthError::MissingRefreshToken
                | AuthError::InvalidRefreshToken
                | AuthError::RefreshTokenReused
                | AuthError::SessionRevoked
        );
        Self {
            error: error.into(),
            clear_cookie: dead.then(|| cookie.clear()),
        }
    }
}

impl IntoResponse for RefreshError {
    fn into_response(self) -> Response {
        let mut response = self.error.into_response();
        if let Some(clear) = self.clear_cookie {
            response.headers_mut().append(header::SET_COOKIE, clear);
        }
        response
    }
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
) -> Result<Response, RefreshError> {
    let issued = state
        .gateway
        .refresh(presented.as_deref(), &client)
        .await
        .map_err(|error| RefreshError::new(error, &state.web.cookie))?;
    Ok(token_response(&state.web, &issued))
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
    use cookie::SameSite;
    use portcullis_core::StoreError;

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

    /// The cookie is cleared exactly on the refusals that answer 401: those say the cookie
    /// itself is dead. A refusal for any other reason keeps it.
    #[test]
    fn a_refused_refresh_clears_the_cookie_only_when_the_cookie_is_dead() {
        let cookie = CookieSettings::new("__Secure-rt", SameSite::Strict, false);
        let cases = [
            (AuthError::MissingRefreshToken, true),
            (AuthError::InvalidRefreshToken, true),
            (AuthError::RefreshTokenReused, true),
            (AuthError::SessionRevoked, true),
            (
                AuthError::from(StoreError::Unavailable("down".into())),
                false,
            ),
            (AuthError::from(StoreError::Backend("broken".into())), false),
            (AuthError::AccountLocked, false),
        ];
        for (error, cleared) in cases {
            let what = format!("{error:?}");
            let response = RefreshError::new(error, &cookie).into_response();
            assert_eq!(
                response.status() == StatusCode::UNAUTHORIZED,
                cleared,
                "{what}"
            );
            let set_cookie = response.headers().get(header::SET_COOKIE);
            assert_eq!(
                set_cookie,
                cleared.then(|| cookie.clear()).as_ref(),
                "{what}"
            );
        }
    }
}
