//! The security schemes of the document: the access token, the admin key, and the refresh
//! cookie, named the way every `#[utoipa::path(security(...))]` refers to them.

use crate::csrf::CSRF_HEADER;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi;

/// A user's access JWT, from `/auth/login` or `/auth/refresh`.
pub const BEARER: &str = "bearer";
/// An admin API key, also sent as a bearer token.
pub const ADMIN_KEY: &str = "admin_key";
/// The refresh token's `HttpOnly` cookie.
pub const REFRESH_COOKIE: &str = "refresh_cookie";

/// The cookie's default name; operators may choose another (`cookie_name`).
const DEFAULT_COOKIE_NAME: &str = "__Secure-portcullis-refresh";

pub struct Schemes;

impl utoipa::Modify for Schemes {
    fn modify(&self, document: &mut OpenApi) {
        let components = document.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A user's access token (`access_token` of `/auth/login` or \
                         `/auth/refresh`), as `Authorization: Bearer <token>`. Short-lived; \
                         verifiable offline with `/.well-known/jwks.json`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            ADMIN_KEY,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An admin API key, made with `portcullis admin key create`, as \
                         `Authorization: Bearer <key>`. Only `/admin/*` accepts it, and \
                         `/admin/*` accepts nothing else: a user's access token is refused \
                         there whatever its roles.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            REFRESH_COOKIE,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                DEFAULT_COOKIE_NAME.to_owned(),
                format!(
                    "The refresh token, set by `/auth/login` and `/auth/refresh` as an \
                     `HttpOnly; Secure; SameSite` cookie on `/auth` (its name is the \
                     `cookie_name` setting; this is the default). Browsers send it by \
                     themselves. Every request that uses it must also send `{CSRF_HEADER}: 1`, \
                     and an `Origin`, if any, that is the gateway's own or an allowed one; \
                     otherwise it is refused with 403 `csrf_required` or `origin_not_allowed`."
                ),
            ))),
        );
    }
}
