//! `/admin/*`: the security team's API, authenticated by admin API keys only (a user's access
//! token is never accepted here). Every action is recorded with the key's name.
//!
//! A 401 here only ever means the admin key: the key is checked before anything else is read,
//! and every malformed input after it (a token to revoke included) is 400 `invalid_request`.

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::views::{
    EventView, EventsPage, LockState, MassRevoked, RolesChanged, SessionView, TokenRevoked,
    UserCreated, UserRevoked,
};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_core::admin::{parse_address_range, EventQuery, SessionFilter};
use portcullis_core::{EventKind, SessionId};
use portcullis_service::{Password, TokenToRevoke};
use std::collections::HashMap;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

mod bodies;
mod docs;
mod extract;
mod users;

pub use extract::Admin;

use bodies::{NewUser, RevocationFilter, Roles, TokenBody};
use docs::{EventFilter, UserRef};

const DEFAULT_EVENTS_PAGE: u32 = 50;
pub(super) const MAX_EVENTS_PAGE: u32 = 500;
pub(super) const MAX_USERS_PAGE: u32 = 500;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_user, users::list_users))
        .routes(routes!(change_roles, users::erase_user))
        .routes(routes!(users::set_password))
        .routes(routes!(revoke_user))
        .routes(routes!(lock_user))
        .routes(routes!(unlock_user))
        .routes(routes!(user_sessions))
        .routes(routes!(revoke_session))
        .routes(routes!(revoke_token))
        .routes(routes!(events))
        .routes(routes!(mass_revoke))
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
}

fn parse_time(name: &str, text: &str) -> ApiResult<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| bad_request(format!("{name} must be an RFC 3339 time")))
}

/// Create a user, with roles and optionally a password.
#[utoipa::path(
    post,
    path = "/admin/users",
    tag = "admin",
    request_body = NewUser,
    security(("admin_key" = [])),
    responses(
        (status = CREATED, description = "The user exists.", body = UserCreated),
        (status = BAD_REQUEST, body = ErrorBody, description = "`invalid_email`, \
            `weak_password`, `invalid_role`, or `invalid_request`."),
        (status = CONFLICT, body = ErrorBody,
            description = "`email_taken`: an account with this email exists."),
    ),
)]
async fn create_user(
    State(state): State<AppState>,
    Admin(actor): Admin,
    ApiJson(body): ApiJson<NewUser>,
) -> ApiResult<(StatusCode, Json<UserCreated>)> {
    let password = body.password.map(Password::new);
    let user_id = state
        .gateway
        .admin_create_user(&body.email, password.as_ref(), &body.roles, &actor)
        .await?;
    Ok((StatusCode::CREATED, Json(UserCreated { user_id })))
}

/// Replace a user's roles. Access tokens issued before stop working at once.
#[utoipa::path(
    patch,
    path = "/admin/users/{user}",
    tag = "admin",
    params(UserRef),
    request_body = Roles,
    security(("admin_key" = [])),
    responses(
        (status = OK, description = "The roles now, and the new token version.",
            body = RolesChanged),
        (status = BAD_REQUEST, body = ErrorBody,
            description = "`invalid_role`, or `invalid_request`."),
    ),
)]
async fn change_roles(
    State(state): State<AppState>,
    Admin(actor): Admin,
    ApiPath(user): ApiPath<String>,
    ApiJson(body): ApiJson<Roles>,
) -> ApiResult<Response> {
    let user = state.gateway.find_user(&user).await?;
    let changed = state
        .gateway
        .change_roles(user.id, &body.roles, &actor)
        .await?;
    let body = RolesChanged {
        roles: &changed.roles,
        token_version: changed.token_version,
        user_id: user.id,
    };
    Ok(Json(body).into_response())
}

/// Revoke every session and access token of a user; they can log in again.
#[utoipa::path(
    post,
    path = "/admin/users/{user}/revoke",
    tag = "admin",
    params(UserRef),
    security(("admin_key" = [])),
    responses((status = OK, description = "What was revoked.", body = UserRevoked)),
)]
async fn revoke_user(
    State(state): State<AppState>,
    Admin(actor): Admin,
    ApiPath(user): ApiPath<String>,
) -> ApiResult<Json<UserRevoked>> {
    let user = state.gateway.find_user(&user).await?;
    let revocation = state.gateway.revoke_user(user.id, &actor).await?;
    Ok(Json(UserRevoked::from(&revocation)))
}

/// Lock a user out: everything is revoked and logins are refused until unlocked.
#[utoipa::path(
    post,
    path = "/admin/users/{user}/lock",
    tag = "admin",
    params(UserRef),
    security(("admin_key" = [])),
    responses((status = OK, description = "Locked, with what the lock revoked.", body = LockState)),
)]
async fn lock_user(
    State(state): State<AppState>,
    Admin(actor): Admin,
    ApiPath(user): ApiPath<String>,
) -> ApiResult<Json<LockState>> {
    let user = state.gateway.find_user(&user).await?;
    let revocation = state.gateway.lock_user(user.id, &actor).await?;
    Ok(Json(LockState::locked(&revocation)))
}

/// Let a locked user log in again.
#[utoipa::path(
    post,
    path = "/admin/users/{user}/unlock",
    tag = "admin",
    params(UserRef),
    security(("admin_key" = [])),
    responses((status = OK, description = "Unlocked.", body = LockState)),
)]
async fn unlock_user(
    State(state): State<AppState>,
    Admin(actor): Admin,
    ApiPath(user): ApiPath<String>,
) -> ApiResult<Json<LockState>> {
    let user = state.gateway.find_user(&user).await?;
    state.gateway.unlock_user(user.id, &actor).await?;
    Ok(Json(LockState::unlocked()))
}

/// A user's sessions, live or not.
#[utoipa::path(
    get,
    path = "/admin/users/{user}/sessions",
    tag = "admin",
    params(UserRef),
    security(("admin_key" = [])),
    responses((status = OK, description = "The user's sessions.", body = Vec<SessionView>)),
)]
async fn user_sessions(
    State(state): State<AppState>,
    _admin: Admin,
    ApiPath(user): ApiPath<String>,
) -> ApiResult<Response> {
    let user = state.gateway.find_user(&user).await?;
    let sessions = state.gateway.user_sessions(user.id).await?;
    let views: Vec<SessionView> = sessions.iter().map(SessionView::new).collect();
    Ok(Json(views).into_response())
}

/// Revoke one session (any user's).
#[utoipa::path(
    delete,
    path = "/admin/sessions/{id}",
    tag = "admin",
    params(("id" = uuid::Uuid, Path, description = "The session's id.")),
    security(("admin_key" = [])),
    responses(
        (status = NO_CONTENT, description = "The session is revoked."),
        (status = BAD_REQUEST, body = ErrorBody,
            description = "`invalid_request`: the id is not a UUID."),
        (status = NOT_FOUND, body = ErrorBody, description = "`not_found`: no such session."),
    ),
)]
async fn revoke_session(
    State(state): State<AppState>,
    Admin(actor): Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    // Malformed, unlike a well-formed id of no session (404): the caller has something to fix.
    let id =
        uuid::Uuid::parse_str(&id).map_err(|_| bad_request("the session id must be a UUID"))?;
    state
        .gateway
        .admin_revoke_session(SessionId(id), &actor)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Denylist one access token until it expires, by the token itself or by its `jti` and `exp`.
#[utoipa::path(
    post,
    path = "/admin/tokens/revoke",
    tag = "admin",
    request_body = TokenBody,
    security(("admin_key" = [])),
    responses(
        (status = OK, description = "The token is denylisted.", body = TokenRevoked),
        (status = BAD_REQUEST, body = ErrorBody, description = "`invalid_request`: the token \
            is not one this gateway signed, `exp` is out of range, or the body is not one of \
            the two shapes."),
    ),
)]
async fn revoke_token(
    State(state): State<AppState>,
    Admin(actor): Admin,
    ApiJson(body): ApiJson<TokenBody>,
) -> ApiResult<Json<TokenRevoked>> {
    let target = match body {
        TokenBody {
            token: Some(token),
            jti: None,
            exp: None,
        } => TokenToRevoke::Token(token),
        TokenBody {
            token: None,
            jti: Some(jti),
            exp: Some(exp),
        } => TokenToRevoke::Id { jti, exp },
        _ => {
            return Err(bad_request(
                "send either {\"token\": ...} or {\"jti\": ..., \"exp\": ...}",
            ))
        }
    };
    let jti = state.gateway.revoke_token(&target, &actor).await?;
    Ok(Json(TokenRevoked { jti }))
}

/// The audit trail, newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/admin/events",
    tag = "admin",
    params(EventFilter),
    security(("admin_key" = [])),
    responses(
        (status = OK, description = "A page of events; follow `next_cursor` for the next.",
            body = EventsPage),
        (status = BAD_REQUEST, body = ErrorBody, description = "`invalid_request`: an unknown \
            parameter or kind, a time that is not RFC 3339, a limit out of range, a bad cursor."),
        (status = NOT_FOUND, body = ErrorBody,
            description = "`not_found`: `user` names no user."),
    ),
)]
async fn events(
    State(state): State<AppState>,
    _admin: Admin,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let mut query = EventQuery {
        limit: DEFAULT_EVENTS_PAGE,
        ..EventQuery::default()
    };
    for (name, value) in &params {
        match name.as_str() {
            "user" => query.user = Some(state.gateway.event_subject(value).await?),
            "kind" => {
                query.kind = Some(
                    EventKind::parse(value)
                        .ok_or_else(|| bad_request(format!("unknown event kind {value:?}")))?,
                );
            }
            "since" => query.since = Some(parse_time("since", value)?),
            "until" => query.until = Some(parse_time("until", value)?),
            "limit" => {
                query.limit = value
                    .parse::<u32>()
                    .ok()
                    .filter(|limit| (1..=MAX_EVENTS_PAGE).contains(limit))
                    .ok_or_else(|| {
                        bad_request(format!("limit must be between 1 and {MAX_EVENTS_PAGE}"))
                    })?;
            }
            "cursor" => {
                query.before_id = Some(
                    value
                        .parse()
                        .map_err(|_| bad_request("cursor is not valid"))?,
                )
            }
            other => return Err(bad_request(format!("unknown parameter {other:?}"))),
        }
    }
    let page = state.gateway.events(&query).await?;
    let next_cursor = (page.len() == query.limit as usize)
        .then(|| page.last().map(|e| e.id.to_string()))
        .flatten();
    let body = EventsPage {
        events: page.iter().map(EventView::new).collect(),
        next_cursor,
    };
    Ok(Json(body).into_response())
}

/// Revoke every live session matching a filter (at least one criterion), or count them first
/// with `dry_run`.
#[utoipa::path(
    post,
    path = "/admin/revocations",
    tag = "admin",
    request_body = RevocationFilter,
    security(("admin_key" = [])),
    responses(
        (status = OK, description = "What was (or would be) revoked.", body = MassRevoked),
        (status = BAD_REQUEST, body = ErrorBody, description = "`invalid_request`: no \
            criterion, a time that is not RFC 3339, or an address that is not one."),
    ),
)]
async fn mass_revoke(
    State(state): State<AppState>,
    Admin(actor): Admin,
    ApiJson(body): ApiJson<RevocationFilter>,
) -> ApiResult<Json<MassRevoked>> {
    let filter = SessionFilter {
        created_before: body
            .created_before
            .as_deref()
            .map(|text| parse_time("created_before", text))
            .transpose()?,
        last_ip_in: body
            .last_ip_in
            .as_deref()
            .map(|text| {
                parse_address_range(text)
                    .ok_or_else(|| bad_request("last_ip_in must be an address or CIDR range"))
            })
            .transpose()?,
        role: body.role,
    };
    let outcome = state
        .gateway
        .mass_revoke(&filter, body.dry_run, &actor)
        .await?;
    Ok(Json(MassRevoked {
        dry_run: body.dry_run,
        sessions: outcome.sessions,
        users: outcome.users,
    }))
}
