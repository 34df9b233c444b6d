//! `/admin/users` beyond creation and roles: listing accounts, setting a password, erasing an
//! account.

use super::bodies::NewPassword;
use super::docs::{UserFilter, UserRef};
use super::{bad_request, Admin, MAX_USERS_PAGE};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::views::{UserErased, UserRevoked, UserSummaryView, UsersPage};
use crate::AppState;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_core::account::UserQuery;
use portcullis_core::user::check_role;
use portcullis_service::Password;
use std::collections::HashSet;

const DEFAULT_USERS_PAGE: u32 = 50;
/// The longest email there is; a filter or cursor longer than it cannot match anything.
const MAX_EMAIL: usize = 254;

/// Accounts, by email, a page at a time; the filters combine.
#[utoipa::path(
    get,
    path = "/admin/users",
    tag = "admin",
    params(UserFilter),
    security(("admin_key" = [])),
    responses(
        (status = OK, description = "A page of accounts; follow `next_cursor` for the next.",
            body = UsersPage),
        (status = BAD_REQUEST, body = ErrorBody, description = "`invalid_request`: an unknown \
            parameter, a role name or `locked` value that is not one, a limit out of range, a \
            filter or cursor longer than an email."),
    ),
)]
pub(super) async fn list_users(
    State(state): State<AppState>,
    _admin: Admin,
    Query(params): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    let query = user_query(&params)?;
    let page = state.gateway.list_users(&query).await?;
    let next_cursor = (page.len() == query.limit as usize)
        .then(|| page.last().map(|user| user.email.clone()))
        .flatten();
    let body = UsersPage {
        next_cursor,
        users: page.iter().map(UserSummaryView::new).collect(),
    };
    Ok(Json(body).into_response())
}

/// Reads the listing's query; anything it does not know or cannot apply (a parameter given
/// twice included) is refused, so a misspelt filter cannot silently list everyone.
fn user_query(params: &[(String, String)]) -> ApiResult<UserQuery> {
    let mut query = UserQuery {
        limit: DEFAULT_USERS_PAGE,
        ..UserQuery::default()
    };
    // An email is printable ASCII without spaces; anything else (NUL, which Postgres cannot
    // store in text, among it) can match nothing and is refused like any malformed value.
    let email_text = |name: &str, value: &str| {
        let printable = value.bytes().all(|byte| byte.is_ascii_graphic());
        if value.is_empty() || value.len() > MAX_EMAIL || !printable {
            Err(bad_request(format!(
                "{name} must be 1 to {MAX_EMAIL} printable ASCII characters"
            )))
        } else {
            Ok(value.to_ascii_lowercase())
        }
    };
    let mut seen = HashSet::new();
    for (name, value) in params {
        if !seen.insert(name.as_str()) {
            return Err(bad_request(format!("{name:?} is given more than once")));
        }
        match name.as_str() {
            "email" => query.email_contains = Some(email_text("email", value)?),
            "role" => {
                check_role(value).map_err(|error| bad_request(error.to_string()))?;
                query.role = Some(value.clone());
            }
            "locked" => {
                query.locked = Some(match value.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(bad_request("locked must be true or false")),
                });
            }
            "limit" => {
                query.limit = value
                    .parse::<u32>()
                    .ok()
                    .filter(|limit| (1..=MAX_USERS_PAGE).contains(limit))
                    .ok_or_else(|| {
                        bad_request(format!("limit must be between 1 and {MAX_USERS_PAGE}"))
                    })?;
            }
            "cursor" => query.after_email = Some(email_text("cursor", value)?),
            other => return Err(bad_request(format!("unknown parameter {other:?}"))),
        }
    }
    Ok(query)
}

/// Set a user's password. Every session and access token of the user ends at once.
#[utoipa::path(
    put,
    path = "/admin/users/{user}/password",
    tag = "admin",
    params(UserRef),
    request_body = NewPassword,
    security(("admin_key" = [])),
    responses(
        (status = OK, description = "The password is set; what it revoked.", body = UserRevoked),
        (status = BAD_REQUEST, body = ErrorBody,
            description = "`weak_password`, or `invalid_request`."),
        (status = NOT_FOUND, body = ErrorBody, description = "`not_found`: no such user."),
    ),
)]
pub(super) async fn set_password(
    State(state): State<AppState>,
    Admin(actor): Admin,
    ApiPath(user): ApiPath<String>,
    ApiJson(body): ApiJson<NewPassword>,
) -> ApiResult<Json<UserRevoked>> {
    let user = state.gateway.find_user(&user).await?;
    let password = Password::new(body.password);
    let revocation = state
        .gateway
        .set_password(user.id, &password, &actor)
        .await?;
    Ok(Json(UserRevoked::from(&revocation)))
}

/// Erase an account: its sessions end and its access tokens are refused at once, its row and
/// personal data are deleted; its security events stay, naming it by id instead of email.
#[utoipa::path(
    delete,
    path = "/admin/users/{user}",
    tag = "admin",
    params(UserRef),
    security(("admin_key" = [])),
    responses(
        (status = OK, description = "The account is erased.", body = UserErased),
        (status = NOT_FOUND, body = ErrorBody, description = "`not_found`: no such user."),
    ),
)]
pub(super) async fn erase_user(
    State(state): State<AppState>,
    Admin(actor): Admin,
    ApiPath(user): ApiPath<String>,
) -> ApiResult<Json<UserErased>> {
    let user = state.gateway.find_user(&user).await?;
    let erased = state.gateway.erase_user(user.id, &actor).await?;
    Ok(Json(UserErased {
        deleted: true,
        sessions_revoked: erased.sessions_ended,
        user_id: user.id,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn every_filter_is_read_and_the_email_lower_cased() {
        let query = user_query(&params(&[
            ("email", "Example.COM"),
            ("role", "admin"),
            ("locked", "false"),
            ("limit", "10"),
            ("cursor", "bob@example.com"),
        ]))
        .expect("valid");
        assert_eq!(
            query,
            UserQuery {
                email_contains: Some("example.com".into()),
                role: Some("admin".into()),
                locked: Some(false),
                after_email: Some("bob@example.com".into()),
                limit: 10,
            }
        );
        assert_eq!(user_query(&[]).expect("valid").limit, DEFAULT_USERS_PAGE);
    }

    #[test]
    fn a_filter_it_cannot_apply_is_refused_not_ignored() {
        let long = "a".repeat(MAX_EMAIL + 1);
        for bad in [
            ("emial", "x"),
            ("email", ""),
            ("email", long.as_str()),
            ("cursor", ""),
            ("email", "a\u{0}b"),
            ("cursor", "\u{0}"),
            ("email", "é"),
            ("email", "a b"),
            ("role", "Not A Role"),
            ("locked", "yes"),
            ("limit", "0"),
            ("limit", "501"),
            ("limit", "ten"),
        ] {
            assert!(user_query(&params(&[bad])).is_err(), "{bad:?}");
        }
        let twice = params(&[("email", "a"), ("email", "b")]);
        assert!(user_query(&twice).is_err(), "a repeated filter is refused");
    }
}
