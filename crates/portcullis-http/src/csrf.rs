//! Cross-site request defences of the cookie-authenticated endpoints (refresh, logout): a
//! custom `X-CSRF: 1` header, which a cross-site form cannot send and cross-site `fetch` cannot
//! send without a CORS preflight, and an `Origin` check: the page's own origin (the `Origin`
//! names the `Host` the request was sent to) or one of the allowed origins.
//!
//! Handlers never call [`guard`] themselves: `cookies::RefreshCookie`, the only way to read the
//! refresh cookie, runs it before reading.

use crate::error::ApiError;
use crate::openapi::parameter;
use axum::http::{header, HeaderMap, StatusCode};
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::IntoParams;

pub const CSRF_HEADER: &str = "x-csrf";

/// The headers of a cookie-authenticated request, as the API document states them. Documentation
/// only: [`guard`] reads the headers themselves.
pub(crate) struct CrossSite;

impl IntoParams for CrossSite {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let one = ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(["1"]));
        let origin = ObjectBuilder::new().schema_type(Type::String);
        vec![
            parameter(
                "X-CSRF",
                ParameterIn::Header,
                true,
                "Must be `1`: a cross-site form cannot send it.",
                one,
            ),
            parameter(
                "Origin",
                ParameterIn::Header,
                false,
                "The page's origin, as browsers send it: the gateway's own or an allowed one.",
                origin,
            ),
        ]
    }
}

/// Refuses requests that lack `X-CSRF: 1`, come from another origin than the gateway's own
/// that is not in `allowed_origins` (including the opaque `null` origin), or that the browser
/// labels cross-site.
pub(crate) fn guard(headers: &HeaderMap, allowed_origins: &[String]) -> Result<(), ApiError> {
    if headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) != Some("1") {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf_required",
            "the X-CSRF: 1 header is required",
        ));
    }
    let origin_refused = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "requests from this origin are not allowed",
        )
    };
    if let Some(origin) = headers.get("origin") {
        let origin = origin.to_str().map_err(|_| origin_refused())?;
        let allowed = allowed_origins.iter().any(|allowed| allowed == origin);
        if origin == "null" || !(allowed || is_same_origin(origin, headers)) {
            return Err(origin_refused());
        }
    }
    if headers
        .get("sec-fetch-site")
        .is_some_and(|site| site == "cross-site")
    {
        return Err(origin_refused());
    }
    Ok(())
}

/// Whether `origin` (`scheme://host[:port]`) names the host the request was sent to. A
/// cross-site page cannot choose the `Host` its visitor's browser sends, so a match means the
/// request comes from a page the gateway itself served.
fn is_same_origin(origin: &str, headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok());
    let authority = origin.split_once("://").map(|(_, authority)| authority);
    matches!((host, authority), (Some(host), Some(authority)) if host.eq_ignore_ascii_case(authority))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: Headers) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    type Headers = &'static [(&'static str, &'static str)];

    #[test]
    fn guard_table() {
        let allowed = vec!["https://app.example".to_owned()];
        let cases: [(Headers, Option<&str>); 11] = [
            (
                &[
                    ("x-csrf", "1"),
                    ("origin", "http://gw.example:8080"),
                    ("host", "gw.example:8080"),
                ],
                None,
            ),
            (
                &[
                    ("x-csrf", "1"),
                    ("origin", "https://evil.example"),
                    ("host", "gw.example"),
                ],
                Some("origin_not_allowed"),
            ),
            (
                &[
                    ("x-csrf", "1"),
                    ("origin", "http://gw.example:8080"),
                    ("host", "gw.example"),
                ],
                Some("origin_not_allowed"),
            ),
            (&[], Some("csrf_required")),
            (&[("x-csrf", "true")], Some("csrf_required")),
            (&[("x-csrf", "1")], None),
            (&[("x-csrf", "1"), ("origin", "https://app.example")], None),
            (
                &[("x-csrf", "1"), ("origin", "https://evil.example")],
                Some("origin_not_allowed"),
            ),
            (
                &[("x-csrf", "1"), ("origin", "null")],
                Some("origin_not_allowed"),
            ),
            (
                &[("x-csrf", "1"), ("sec-fetch-site", "cross-site")],
                Some("origin_not_allowed"),
            ),
            (&[("x-csrf", "1"), ("sec-fetch-site", "same-origin")], None),
        ];
        for (pairs, expected) in cases {
            let got = guard(&headers(pairs), &allowed).err().map(|e| e.code);
            assert_eq!(got, expected, "{pairs:?}");
        }
    }
}
