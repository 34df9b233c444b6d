//! The forward-auth conversation with reverse proxies: which original request a proxy is asking
//! about, and how its path is read (the identity headers of the answer are in `identity.rs`).
//!
//! Proxies describe the original request in different ways: Traefik sends `X-Forwarded-Method`
//! and `X-Forwarded-Uri`, nginx configs conventionally send `X-Original-Method` and
//! `X-Original-URI`, and Envoy appends the original path to the check URL
//! (`/auth/verify/<path>`) and keeps the method. A proxy sets its own family of headers but may
//! pass the client's copies of the other family through unchanged, so no family can be
//! preferred over another: every description present must agree, or the request is refused.

use crate::error::ApiError;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use portcullis_core::RequestPath;

/// The path under which Envoy-style checks append the original path.
pub const VERIFY_PATH: &str = "/auth/verify";

/// The request a proxy asks about: its method and target (path and query).
#[derive(Debug, PartialEq, Eq)]
pub struct OriginalRequest {
    pub method: String,
    pub target: String,
}

/// Reads the original request from a check request, or `None` when the caller described none
/// (a plain "is this token valid?" call).
pub fn original_request(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Option<OriginalRequest>, ApiError> {
    let appended = uri
        .path()
        .strip_prefix(VERIFY_PATH)
        .filter(|rest| rest.starts_with('/'))
        .map(|rest| match uri.query() {
            Some(query) => format!("{rest}?{query}"),
            None => rest.to_owned(),
        });
    let mut targets = header_values(headers, &["x-forwarded-uri", "x-original-uri"])?;
    let mut methods = header_values(headers, &["x-forwarded-method", "x-original-method"])?;
    if let Some(target) = appended {
        targets.push(target);
        methods.push(method.as_str().to_owned());
    }
    let target = agreed(targets, "URI")?;
    let method = agreed(methods, "method")?;
    match (target, method) {
        (None, None) => Ok(None),
        // A method no client could have sent (empty, or not an RFC 9110 token) would otherwise
        // be judged as if it were one, and match only the rules that name no method.
        (Some(_), Some(method)) if Method::from_bytes(method.as_bytes()).is_err() => {
            Err(conflict("the original method is not an HTTP method"))
        }
        (Some(target), Some(method)) => Ok(Some(OriginalRequest { method, target })),
        // A method-specific rule could be sidestepped by guessing the method: refuse instead.
        _ => Err(conflict(
            "the original request needs both its method and its URI (X-Forwarded-Method and \
             X-Forwarded-Uri, or X-Original-Method and X-Original-URI)",
        )),
    }
}

/// Refuses a check about a request that asks to switch to any protocol but WebSocket: a proxy
/// that relays upgrades (Traefik does, for any protocol) would otherwise hand the client a raw
/// connection to the application, say HTTP/2 over `h2c`, whose later requests nobody checks.
pub fn refuse_foreign_upgrade(headers: &HeaderMap) -> Result<(), ApiError> {
    let foreign = headers
        .get_all(header::UPGRADE)
        .iter()
        .any(|value| !value.as_bytes().eq_ignore_ascii_case(b"websocket"));
    match foreign {
        true => Err(conflict(
            "only WebSocket upgrades may pass the gateway (Upgrade: websocket)",
        )),
        false => Ok(()),
    }
}

fn header_values(headers: &HeaderMap, names: &[&str]) -> Result<Vec<String>, ApiError> {
    let mut values = Vec::new();
    for name in names {
        for value in headers.get_all(*name) {
            let value = value
                .to_str()
                .map_err(|_| conflict("the original request headers are not valid text"))?;
            values.push(value.to_owned());
        }
    }
    Ok(values)
}

fn agreed(values: Vec<String>, what: &str) -> Result<Option<String>, ApiError> {
    let mut values = values.into_iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.any(|other| other != first) {
        return Err(conflict(&format!(
            "the request describes its original {what} in conflicting ways"
        )));
    }
    Ok(Some(first))
}

fn conflict(message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
}

/// The path of a request target (path and query) as route policies read it, for a request the
/// gateway forwards itself (in canonical form); an ambiguous one is refused with 400
/// `invalid_path`.
pub fn request_path(target: &str) -> Result<RequestPath, ApiError> {
    Ok(RequestPath::parse(target)?)
}

/// The path of the original request a proxy asks about. That proxy forwards the target as it
/// is, so it must already be canonical (no dot or empty segments, `;params` or escaped
/// letters): the application could resolve anything else to another resource.
pub fn original_request_path(target: &str) -> Result<RequestPath, ApiError> {
    Ok(RequestPath::parse_exact(target)?)
}

/// The path and query of a request, as sent.
pub fn target_of(uri: &Uri) -> &str {
    uri.path_and_query().map_or("/", |pq| pq.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderName, HeaderValue};

    fn read(
        method: &str,
        uri: &str,
        pairs: &[(&str, &str)],
    ) -> Result<Option<(String, String)>, &'static str> {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let uri: Uri = uri.parse().expect("uri");
        original_request(&method, &uri, &headers)
            .map(|found| found.map(|r| (r.method, r.target)))
            .map_err(|error| error.code)
    }

    fn described(method: &str, target: &str) -> Result<Option<(String, String)>, &'static str> {
        Ok(Some((method.to_owned(), target.to_owned())))
    }

    #[test]
    fn each_proxy_style_is_understood() {
        assert_eq!(read("GET", "/auth/verify", &[]), Ok(None));
        assert_eq!(
            read(
                "GET",
                "/auth/verify",
                &[
                    ("x-forwarded-method", "POST"),
                    ("x-forwarded-uri", "/api/x?a=1")
                ]
            ),
            described("POST", "/api/x?a=1"),
            "Traefik"
        );
        assert_eq!(
            read(
                "GET",
                "/auth/verify",
                &[
                    ("x-original-method", "DELETE"),
                    ("x-original-uri", "/api/x")
                ]
            ),
            described("DELETE", "/api/x"),
            "nginx"
        );
        assert_eq!(
            read("PUT", "/auth/verify/api/x?a=1", &[]),
            described("PUT", "/api/x?a=1"),
            "Envoy"
        );
        assert_eq!(
            read("GET", "/auth/verify", &[("x-original-uri", "/api/x")]),
            Err("invalid_request"),
            "a URI without its method"
        );
    }

    type Pairs = &'static [(&'static str, &'static str)];

    #[test]
    fn conflicting_descriptions_are_refused() {
        let conflicts: [(&str, &str, Pairs); 4] = [
            (
                "GET",
                "/auth/verify",
                &[("x-original-uri", "/admin"), ("x-forwarded-uri", "/public")],
            ),
            (
                "GET",
                "/auth/verify",
                &[("x-original-uri", "/admin"), ("x-original-uri", "/public")],
            ),
            (
                "GET",
                "/auth/verify/admin",
                &[("x-forwarded-uri", "/public")],
            ),
            (
                "GET",
                "/auth/verify",
                &[
                    ("x-original-uri", "/a"),
                    ("x-original-method", "DELETE"),
                    ("x-forwarded-method", "GET"),
                ],
            ),
        ];
        for (method, uri, pairs) in conflicts {
            assert_eq!(
                read(method, uri, pairs),
                Err("invalid_request"),
                "{pairs:?}"
            );
        }
        assert_eq!(
            read(
                "GET",
                "/auth/verify",
                &[
                    ("x-original-uri", "/a"),
                    ("x-forwarded-uri", "/a"),
                    ("x-original-method", "GET")
                ],
            ),
            described("GET", "/a"),
            "agreeing descriptions are fine"
        );
    }
}
