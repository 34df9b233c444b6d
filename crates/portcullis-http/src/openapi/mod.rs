//! The OpenAPI 3.1 document of the gateway's own API, served at `GET /openapi.json`.
//!
//! It is generated from the code and cannot drift: every route group builds its router with
//! utoipa-axum's `routes!`, which registers a handler with axum *and* adds its
//! `#[utoipa::path]` to the document in one call, and `api()` in `lib.rs` is the only place the
//! groups are put together, for the router and for the document alike. This module adds what no
//! single handler knows: the title, the security schemes, and the errors every route shares
//! (`errors`). It never decides anything about a request.

mod errors;
pub mod inputs;
mod security;

use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{OpenApi as Document, RefOr, Required};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portcullis",
        description = "An authentication gateway: sessions with rotating refresh tokens, short-lived \
            access JWTs, instant revocation, forward-auth for reverse proxies, and an admin API. \
            Every error is JSON `{\"error\": \"<code>\", \"message\": \"...\"}`; `error` is a \
            stable snake_case code, `message` is for people. The demo app of development mode \
            (`/demo/`) and the applications the gateway proxies are not part of this API.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    tags(
        (name = "auth", description = "Registration, login, and the refresh-cookie session."),
        (name = "account", description = "The caller's own account, by access token."),
        (name = "forward-auth", description = "The check reverse proxies call for every request."),
        (name = "admin", description = "The security team's API, by admin key only."),
        (name = "meta", description = "Keys, discovery, health, and this document."),
    ),
)]
struct ApiDoc;

/// The document of `api`: its paths with the parts this module adds.
pub fn document(api: &OpenApiRouter<AppState>) -> Document {
    let mut document = ApiDoc::openapi();
    document.merge(api.get_openapi().clone());
    // After the merge: the shared errors are added to every operation.
    for modify in [
        &security::Schemes as &dyn utoipa::Modify,
        &errors::SharedErrors,
    ] {
        modify.modify(&mut document);
    }
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    document
}

/// The route serving the document, itself part of it.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json))
}

/// The document as served: rendered once, when the `AppState` is made.
#[derive(Clone)]
pub struct Published(Arc<str>);

impl Published {
    pub fn new(document: &Document) -> Self {
        // Serialising plain data cannot fail; an empty object would still be valid JSON.
        Self(Arc::from(
            document.to_json().unwrap_or_else(|_| "{}".to_owned()),
        ))
    }
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses((status = OK, description = "The OpenAPI 3.1 document of this API.",
        content_type = "application/json", body = Object)),
)]
async fn openapi_json(State(state): State<AppState>) -> Response {
    let json = HeaderValue::from_static("application/json");
    let body = state.openapi.0.to_string();
    ([(header::CONTENT_TYPE, json)], body).into_response()
}

/// A documented parameter, for the `IntoParams` impls of inputs that no extractor types: the
/// derive drops the description and the requiredness of a parameter with a hand-made schema.
pub fn parameter(
    name: &str,
    location: ParameterIn,
    required: bool,
    description: &str,
    schema: impl Into<RefOr<Schema>>,
) -> Parameter {
    let required = match required {
        true => Required::True,
        false => Required::False,
    };
    ParameterBuilder::new()
        .name(name)
        .parameter_in(location)
        .required(required)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}
