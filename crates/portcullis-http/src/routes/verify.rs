//! `/auth/verify`: the forward-auth check reverse proxies call for every request. Any method,
//! so Envoy can ask with the original one; `/auth/verify/<path>` for Envoy's appended path.

use crate::error::{ApiResult, ErrorBody};
use crate::extract::bearer_token;
use crate::forward_auth::{original_request, original_request_path, refuse_foreign_upgrade};
use crate::identity::identity_headers;
use crate::method_override::methods_read_as;
use crate::openapi::parameter;
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::any;
use portcullis_service::{Authorization, Gateway};
use std::sync::Arc;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::IntoParams;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

/// Any method, not just the documented ones: the method router `routes!` would build (one
/// entry per documented method) is replaced by `any`. The appended-path form is a wildcard,
/// which OpenAPI cannot template, so its documented path (`{original_path}`) differs from the
/// route and the two are registered side by side.
pub fn router() -> OpenApiRouter<AppState> {
    let (schemas, paths, _): UtoipaMethodRouter<AppState> = routes!(verify);
    let (appended_schemas, appended_paths, _): UtoipaMethodRouter<AppState> =
        routes!(verify_appended);
    let mut router = OpenApiRouter::new()
        .routes((schemas, paths, any(verify)))
        .route("/auth/verify/{*original_path}", any(verify));
    let document = router.get_openapi_mut();
    document.paths.merge(appended_paths);
    let components = document.components.get_or_insert_with(Default::default);
    components.schemas.extend(appended_schemas);
    router
}

/// The identity of a token, and whether it may make the original request.
///
/// Without `X-Forwarded-Method`/`X-Forwarded-Uri` (or `X-Original-Method`/`X-Original-URI`)
/// it only checks the token; with them it also applies the route policy to that request. The
/// answer's headers carry the identity for the application (`X-Auth-User-Id`, `X-Auth-Email`,
/// `X-Auth-Roles`, `X-Auth-Session-Id`); the body is empty.
#[utoipa::path(
    method(get, head, post, put, patch, delete, options, trace),
    path = "/auth/verify",
    tag = "forward-auth",
    params(OriginalRequest),
    security((), ("bearer" = [])),
    responses(
        (status = OK, description = "Allowed; the identity is in the headers.", headers(
            ("X-Auth-User-Id" = String, description = "The user's id, when a token was sent."),
            ("X-Auth-Email" = String, description = "The user's email."),
            ("X-Auth-Roles" = String, description = "The user's roles, comma-separated."),
            ("X-Auth-Session-Id" = String, description = "The token's session."),
        )),
        (status = BAD_REQUEST, body = ErrorBody, description = "`invalid_request`: the \
            original request is described half, twice differently, or with a foreign \
            `Upgrade`; `invalid_path`: its path is not one the gateway will judge."),
        (status = UNAUTHORIZED, body = ErrorBody, headers(
            ("WWW-Authenticate" = String, description = "Names the bearer scheme."),
        ), description = "`invalid_token`: a token is needed and is missing, expired or \
            revoked."),
        (status = FORBIDDEN, body = ErrorBody,
            description = "`forbidden`: the route policy refuses this user that request."),
        (status = SERVICE_UNAVAILABLE, body = ErrorBody,
            description = "`unavailable`: revocation state cannot be read."),
    ),
)]
async fn verify(
    State(gateway): State<Arc<Gateway>>,
    request: Request,
) -> ApiResult<(StatusCode, HeaderMap)> {
    // The hottest route of the gateway: it borrows the request's method, URI and headers
    // rather than extracting copies, and takes only the gateway from the shared state. (A doc
    // comment here would end up in the published OpenAPI description.)
    let (method, uri, headers) = (request.method(), request.uri(), request.headers());
    refuse_foreign_upgrade(headers)?;
    let bearer = bearer_token(headers);
    let authorization = match original_request(method, uri, headers)? {
        Some(original) => {
            let path = original_request_path(&original.target)?;
            let methods = methods_read_as(&original.method, &original.target, headers);
            gateway.authorize(bearer, &methods, &path).await?
        }
        None => Authorization::Identified(gateway.authenticate(bearer).await?),
    };
    Ok((StatusCode::OK, identity_headers(&authorization)))
}

/// As `/auth/verify`, with the original request's path appended (Envoy's `ext_authz`), the
/// method being the original one.
#[utoipa::path(
    method(get, head, post, put, patch, delete, options, trace),
    path = "/auth/verify/{original_path}",
    tag = "forward-auth",
    params(
        ("original_path" = String, Path, description = "The original request's path, without \
            its leading `/`; it may contain further `/`."),
        OriginalRequest,
    ),
    security((), ("bearer" = [])),
    responses(
        (status = OK, description = "Allowed; the identity is in the headers (see \
            `/auth/verify`)."),
        (status = BAD_REQUEST, body = ErrorBody,
            description = "`invalid_request` or `invalid_path`, as for `/auth/verify`."),
        (status = UNAUTHORIZED, body = ErrorBody, headers(
            ("WWW-Authenticate" = String, description = "Names the bearer scheme."),
        ), description = "`invalid_token`."),
        (status = FORBIDDEN, body = ErrorBody, description = "`forbidden`."),
        (status = SERVICE_UNAVAILABLE, body = ErrorBody, description = "`unavailable`."),
    ),
)]
#[allow(dead_code)]
async fn verify_appended() {}

/// The headers that describe the original request to `/auth/verify`: a method and a URI (path
/// and query) from one family or both, never half a pair and never disagreeing. Documentation
/// only: `forward_auth` reads them.
struct OriginalRequest;

impl IntoParams for OriginalRequest {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let method = || {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"))
                .examples(["GET"])
        };
        let target = || {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^/[!-~]*$"))
                .examples(["/api/orders?page=2"])
        };
        let header = |name, description, schema| {
            parameter(name, ParameterIn::Header, false, description, schema)
        };
        vec![
            header(
                "X-Forwarded-Method",
                "The original method (Traefik's name).",
                method(),
            ),
            header(
                "X-Forwarded-Uri",
                "The original path and query, in canonical form (Traefik's name).",
                target(),
            ),
            header(
                "X-Original-Method",
                "The original method (nginx's convention).",
                method(),
            ),
            header(
                "X-Original-URI",
                "The original path and query, in canonical form (nginx's convention).",
                target(),
            ),
        ]
    }
}
