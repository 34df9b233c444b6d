//! `/auth/register`, `/auth/login`, `/auth/refresh`, `/auth/logout`, `/auth/logout-all`.
//!
//! Refresh and logout authenticate by the refresh cookie, which they can only read through
//! [`RefreshCookie`]: it runs the CSRF and origin checks first.

use crate::client::Client;
use crate::cookies::{CookieSettings, RefreshCookie};
use crate::csrf::CrossSite;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{bearer_token, ApiJson, Authenticated};
use crate::openapi::inputs;
use crate::views::UserCreated;
use crate::{AppState, WebSettings};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_service::{AuthError, Issued, Password};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(logout_all))
}

#[derive(Deserialize, ToSchema)]
struct Credentials {
    #[schema(schema_with = inputs::email)]
    email: String,
    #[schema(schema_with = inputs::password)]
    password: String,
}

/// The body of a successful login or refresh (fields in alphabetical order, as always).
#[derive(Serialize, ToSchema)]
struct Tokens<'a> {
    /// The access JWT, for `Authorization: Bearer`.
    access_token: &'a str,
    /// Seconds until the access token expires.
    expires_in: u64,
    /// Always `Bearer`.
    #[schema(pattern = "^Bearer$")]
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

/// Create an account (unless registration is disabled). Logs nobody in.
#[utoipa::path(
    post,
    path = "/auth/register",
    tag = "auth",
    request_body = Credentials,
    responses(
        (status = CREATED, description = "The account exists.", body = UserCreated),
        (status = BAD_REQUEST, body = ErrorBody, description = "`invalid_email`, `weak_password`, \
            or `invalid_request` (a body that is not the documented JSON)."),
        (status = FORBIDDEN, body = ErrorBody,
            description = "`registration_disabled`: accounts are made by admins only."),
        (status = CONFLICT, body = ErrorBody,
            description = "`email_taken`: an account with this email exists."),
    ),
)]
async fn register(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(body): ApiJson<Credentials>,
) -> ApiResult<Response> {
    let user_id = state
        .gateway
        .register(&body.email, &Password::new(body.password), &client)
        .await?;
    Ok((StatusCode::CREATED, Json(UserCreated { user_id })).into_response())
}

/// Log in: opens a session, returns an access token, and sets the refresh cookie.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    request_body = Credentials,
    responses(
        (status = OK, description = "Logged in.", body = Tokens, headers(
            ("Set-Cookie" = String, description = "The refresh cookie (`HttpOnly; Secure`)."),
        )),
        (status = UNAUTHORIZED, body = ErrorBody, headers(
            ("WWW-Authenticate" = String, description = "`Bearer realm=\"portcullis\"`."),
        ), description = "`invalid_credentials`: no such account, or the wrong password."),
        (status = FORBIDDEN, body = ErrorBody,
            description = "`account_locked`: an admin locked this account."),
        (status = TOO_MANY_REQUESTS, body = ErrorBody, headers(
            ("Retry-After" = u64, description = "Seconds until another attempt may succeed."),
        ), description = "`rate_limited`: too many failed logins for this account or address."),
    ),
)]
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

/// Trade the refresh cookie for a new access token; the cookie rotates.
#[utoipa::path(
    post,
    path = "/auth/refresh",
    tag = "auth",
    params(CrossSite),
    security(("refresh_cookie" = [])),
    responses(
        (status = OK, description = "A new access token; the cookie is replaced.", body = Tokens,
            headers(("Set-Cookie" = String, description = "The rotated refresh cookie."))),
        (status = UNAUTHORIZED, body = ErrorBody, headers(
            ("WWW-Authenticate" = String, description = "`Bearer realm=\"portcullis\"`."),
            ("Set-Cookie" = String, description = "Deletes the refresh cookie, which can \
                never work again."),
        ), description = "`missing_refresh_token`, `invalid_refresh_token` (unknown or \
            expired), `refresh_token_reused` (the session is revoked), or `session_revoked`."),
        (status = FORBIDDEN, body = ErrorBody, description = "`account_locked`, or \
            `csrf_required` / `origin_not_allowed` (see the `refresh_cookie` scheme)."),
    ),
)]
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

/// End this session: the refresh cookie's session is revoked and the cookie deleted; an access
/// token sent along is denylisted too. Always 204, with or without a live session.
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    params(CrossSite),
    security((), ("refresh_cookie" = []), ("refresh_cookie" = [], "bearer" = [])),
    responses(
        (status = NO_CONTENT, description = "Logged out.",
            headers(("Set-Cookie" = String, description = "Deletes the refresh cookie."))),
    ),
)]
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

/// End every session of the caller, on every device.
#[utoipa::path(
    post,
    path = "/auth/logout-all",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = NO_CONTENT, description = "Every session is revoked.",
            headers(("Set-Cookie" = String, description = "Deletes the refresh cookie."))),
    ),
)]
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
