//! The caller's own account: `/auth/me`, `/auth/sessions` and `/auth/password`.

use crate::client::Client;
use crate::csrf::{self, CrossSite};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Authenticated};
use crate::openapi::inputs;
use crate::views::{rfc3339, PasswordChanged};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use portcullis_core::{SessionId, UserId};
use portcullis_service::{AuthError, Password, SessionView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(sessions))
        .routes(routes!(delete_session))
        .routes(routes!(change_password))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    /// The proof that the caller is the account's owner, not only a token's holder.
    #[schema(schema_with = inputs::any_password)]
    current_password: String,
    #[schema(schema_with = inputs::password)]
    new_password: String,
}

// Fields in alphabetical order, the order these bodies have always had (see `views`).

/// `GET /auth/me`: who the access token says the caller is.
#[derive(Serialize, ToSchema)]
struct Me {
    email: String,
    roles: Vec<String>,
    #[schema(value_type = uuid::Uuid)]
    session_id: SessionId,
    #[schema(value_type = uuid::Uuid)]
    user_id: UserId,
}

/// One of the caller's own sessions; `current` marks the one their token belongs to.
#[derive(Serialize, ToSchema)]
struct OwnSession {
    #[schema(format = DateTime)]
    created_at: String,
    current: bool,
    #[schema(value_type = uuid::Uuid)]
    id: SessionId,
    ip: Option<String>,
    #[schema(format = DateTime)]
    last_used_at: String,
    user_agent: Option<String>,
}

impl From<SessionView> for OwnSession {
    fn from(view: SessionView) -> Self {
        let family = view.family;
        Self {
            created_at: rfc3339(family.created_at),
            current: view.current,
            id: family.id,
            ip: family.last_client.ip,
            last_used_at: rfc3339(family.last_used_at),
            user_agent: family.last_client.user_agent,
        }
    }
}

/// Who the access token says the caller is.
#[utoipa::path(
    get,
    path = "/auth/me",
    tag = "account",
    security(("bearer" = [])),
    responses((status = OK, description = "The caller.", body = Me)),
)]
async fn me(Authenticated(principal): Authenticated) -> Json<Me> {
    let claims = &principal.claims;
    Json(Me {
        email: claims.email.clone(),
        roles: claims.roles.clone(),
        session_id: claims.sid,
        user_id: claims.sub,
    })
}

/// The caller's live sessions, newest first.
#[utoipa::path(
    get,
    path = "/auth/sessions",
    tag = "account",
    security(("bearer" = [])),
    responses((status = OK, description = "The caller's sessions.", body = Vec<OwnSession>)),
)]
async fn sessions(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
) -> ApiResult<Json<Vec<OwnSession>>> {
    let sessions = state.gateway.sessions(&principal).await?;
    Ok(Json(sessions.into_iter().map(OwnSession::from).collect()))
}

/// End one of the caller's own sessions. Another user's session reads as not found.
#[utoipa::path(
    delete,
    path = "/auth/sessions/{id}",
    tag = "account",
    params(("id" = String, Path, description = "The session's id (a UUID).")),
    security(("bearer" = [])),
    responses(
        (status = NO_CONTENT, description = "The session is revoked."),
        (status = NOT_FOUND, body = ErrorBody,
            description = "`not_found`: the caller has no session with this id."),
    ),
)]
async fn delete_session(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    Client(client): Client,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| AuthError::NotFound)?;
    state
        .gateway
        .delete_session(&principal, SessionId(id), &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change the caller's password, proven by the current one. The session making the change goes
/// on; every other session of the caller ends, with its access tokens. Attempts count against
/// the same limits as logins.
#[utoipa::path(
    post,
    path = "/auth/password",
    tag = "account",
    params(CrossSite),
    request_body = PasswordChange,
    security(("bearer" = [])),
    responses(
        (status = OK, description = "Changed; how many other sessions ended.",
            body = PasswordChanged),
        (status = BAD_REQUEST, body = ErrorBody, description = "`weak_password`: the new \
            password breaks the length rules, or `invalid_request`."),
        (status = FORBIDDEN, body = ErrorBody, description = "`invalid_current_password`, or \
            `csrf_required` / `origin_not_allowed`."),
        (status = TOO_MANY_REQUESTS, body = ErrorBody,
            description = "`rate_limited`: too many failed attempts; see `Retry-After`."),
    ),
)]
async fn change_password(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    Client(client): Client,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PasswordChange>,
) -> ApiResult<Json<PasswordChanged>> {
    // A bearer token cannot ride along cross-site, but the password is a credential worth the
    // same defence as the cookie's endpoints.
    csrf::guard(&headers, &state.web.allowed_origins)?;
    let revocation = state
        .gateway
        .change_own_password(
            &principal,
            &Password::new(body.current_password),
            &Password::new(body.new_password),
            &client,
        )
        .await?;
    Ok(Json(PasswordChanged {
        sessions_revoked: revocation.sessions_revoked.len(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::{ClientInfo, Family};
    use time::OffsetDateTime;
    use uuid::Uuid;

    #[test]
    fn me_and_own_sessions_keep_their_shapes() {
        let user = UserId(Uuid::from_u128(1));
        let session = SessionId(Uuid::from_u128(2));
        let me = Me {
            email: "alice@example.com".into(),
            roles: vec!["admin".into()],
            session_id: session,
            user_id: user,
        };
        assert_eq!(
            serde_json::to_string(&me).expect("serialises"),
            r#"{"email":"alice@example.com","roles":["admin"],"session_id":"00000000-0000-0000-0000-000000000002","user_id":"00000000-0000-0000-0000-000000000001"}"#
        );
        let at = OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time");
        let family = Family {
            id: session,
            user_id: user,
            created_at: at,
            last_used_at: at,
            idle_expires_at: at,
            absolute_expires_at: at,
            current_generation: 0,
            last_client: ClientInfo {
                ip: None,
                user_agent: Some("Firefox".into()),
            },
            revoked_at: None,
            revoked_reason: None,
        };
        let own = OwnSession::from(SessionView {
            family,
            current: true,
        });
        assert_eq!(
            serde_json::to_string(&own).expect("serialises"),
            r#"{"created_at":"2023-11-14T22:13:20Z","current":true,"id":"00000000-0000-0000-0000-000000000002","ip":null,"last_used_at":"2023-11-14T22:13:20Z","user_agent":"Firefox"}"#
        );
    }
}
