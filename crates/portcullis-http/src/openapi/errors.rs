//! The error responses the document adds to operations by rule, because they follow from what an
//! operation is rather than from what its handler does: every route has a deadline and can fail
//! inside; a JSON body can be malformed, too large or not JSON; a token or key can be missing;
//! a path segment can name nothing. A handler's annotation lists only its own errors, and one it
//! lists for a status wins over the rule's.

use super::security::{ADMIN_KEY, BEARER, REFRESH_COOKIE};
use crate::error::ErrorBody;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, OpenApi, Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// A shared error response: its status, component name and description.
struct Shared {
    status: &'static str,
    name: &'static str,
    description: &'static str,
}

const TIMEOUT: Shared = Shared {
    status: "408",
    name: "RequestTimeout",
    description: "`request_timeout`: the request was not complete in time.",
};
const INTERNAL: Shared = Shared {
    status: "500",
    name: "InternalError",
    description: "`internal_error`: the gateway failed; the details are in its log only.",
};
const UNAVAILABLE: Shared = Shared {
    status: "503",
    name: "Unavailable",
    description: "`unavailable`: a backing store is not answering; try again shortly.",
};
const BAD_BODY: Shared = Shared {
    status: "400",
    name: "InvalidRequest",
    description: "`invalid_request`: the request is malformed (say, a body that is not the \
        documented JSON, or a path segment that is not text); the message says what.",
};
const TOO_LARGE: Shared = Shared {
    status: "413",
    name: "PayloadTooLarge",
    description: "`payload_too_large`: the body exceeds 16 KiB.",
};
const NOT_JSON: Shared = Shared {
    status: "415",
    name: "UnsupportedMediaType",
    description: "`unsupported_media_type`: the body must be `application/json`.",
};
const UNAUTHORIZED: Shared = Shared {
    status: "401",
    name: "InvalidToken",
    description: "`invalid_token`: the bearer token (or admin key) is missing, malformed, \
        expired or revoked. `WWW-Authenticate` names the scheme.",
};
const NOT_FOUND: Shared = Shared {
    status: "404",
    name: "NotFound",
    description: "`not_found`: nothing has the id or email the path names.",
};
const CROSS_SITE: Shared = Shared {
    status: "403",
    name: "CrossSiteRefused",
    description: "`csrf_required`: the `X-CSRF: 1` header is missing; `origin_not_allowed`: the \
        request comes from an origin that is neither the gateway's own nor an allowed one.",
};

/// Adds the shared error responses to every operation, by rule.
pub struct SharedErrors;

impl utoipa::Modify for SharedErrors {
    fn modify(&self, document: &mut OpenApi) {
        let mut used = Vec::new();
        for item in document.paths.paths.values_mut() {
            for operation in operations(item) {
                for shared in rules(operation) {
                    let responses = &mut operation.responses.responses;
                    if !responses.contains_key(shared.status) {
                        let reference = Ref::from_response_name(shared.name);
                        responses.insert(shared.status.to_owned(), RefOr::Ref(reference));
                        used.push(shared);
                    }
                }
            }
        }
        let components = document.components.get_or_insert_with(Default::default);
        for shared in used {
            let response = RefOr::T(response(shared));
            components
                .responses
                .insert(shared.name.to_owned(), response);
        }
        components
            .schemas
            .insert(ErrorBody::name().into_owned(), ErrorBody::schema());
    }
}

/// An error response with the one error body, described by `description`.
fn error_response(description: &str) -> ResponseBuilder {
    let body = ContentBuilder::new()
        .schema(Some(RefOr::Ref(Ref::from_schema_name(ErrorBody::name()))))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content("application/json", body)
}

fn response(shared: &Shared) -> Response {
    let builder = error_response(shared.description);
    // Every 401 names the scheme (RFC 6750).
    match shared.status == UNAUTHORIZED.status {
        true => builder
            .header(
                "WWW-Authenticate",
                HeaderBuilder::new()
                    .schema(Some(String::schema()))
                    .description(Some(
                        "`Bearer error=\"invalid_token\"`, or `Bearer realm=\"portcullis\"`.",
                    ))
                    .build(),
            )
            .build(),
        false => builder.build(),
    }
}

/// The shared errors of one operation.
fn rules(operation: &Operation) -> Vec<&'static Shared> {
    let mut shared = vec![&TIMEOUT, &INTERNAL];
    let schemes = security_schemes(operation);
    let authenticated = schemes.iter().any(|s| s == BEARER || s == ADMIN_KEY);
    let by_cookie = schemes.iter().any(|s| s == REFRESH_COOKIE);
    if operation.request_body.is_some() {
        shared.extend([&BAD_BODY, &TOO_LARGE, &NOT_JSON]);
    }
    if has_path_parameters(operation) {
        shared.extend([&BAD_BODY, &NOT_FOUND]);
    }
    if authenticated && !optional(operation) {
        shared.push(&UNAUTHORIZED);
    }
    if by_cookie {
        shared.extend([&CROSS_SITE, &BAD_BODY]);
    }
    if authenticated || by_cookie || operation.request_body.is_some() {
        shared.push(&UNAVAILABLE);
    }
    shared
}

/// The names of the security schemes an operation accepts.
fn security_schemes(operation: &Operation) -> Vec<String> {
    let requirements = operation.security.iter().flatten();
    requirements
        .filter_map(|requirement| serde_json::to_value(requirement).ok())
        .filter_map(|value| value.as_object().cloned())
        .flat_map(|object| object.into_iter().map(|(name, _)| name))
        .collect()
}

/// Whether the operation also serves callers without credentials (an empty requirement).
fn optional(operation: &Operation) -> bool {
    operation.security.iter().flatten().any(|requirement| {
        serde_json::to_value(requirement)
            .ok()
            .and_then(|value| value.as_object().map(|object| object.is_empty()))
            .unwrap_or(false)
    })
}

fn has_path_parameters(operation: &Operation) -> bool {
    operation
        .parameters
        .iter()
        .flatten()
        .any(|parameter| matches!(parameter, RefOr::T(p) if p.parameter_in == ParameterIn::Path))
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}
