//! The forward-auth conversation with reverse proxies: which original request a proxy is asking
//! about, and the identity headers the answer carries to the application.
//!
//! Proxies describe the original request in different ways: Traefik sends `X-Forwarded-Method`
//! and `X-Forwarded-Uri`, nginx configs conventionally send `X-Original-Method` and
//! `X-Original-URI`, and Envoy appends the original path to the check URL
//! (`/auth/verify/<path>`) and keeps the method. A proxy sets its own family of headers but may
//! pass the client's copies of the other family through unchanged, so no family can be
//! preferred over another: every description present must agree, or the request is refused.

use crate::error::ApiError;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use portcullis_core::RequestPath;
use portcullis_service::{AuthError, Authorization};

/// Every identity header starts with this; client-sent headers with it are never trusted.
pub const IDENTITY_HEADER_PREFIX: &str = "x-auth-";

/// Header `name` as some server behind the gateway may read it. CGI, WSGI, PHP and others map
/// `-`, `_` (and some `.`) to one character and ignore case, so `X_Auth_User_Id` and
/// `x.auth.roles` reach the application as `X-Auth-User-Id` and `X-Auth-Roles` do.
pub fn header_name_as_read(name: &str) -> String {
    name.bytes()
        .map(|byte| match byte {
            b'_' | b'.' => '-',
            other => char::from(other.to_ascii_lowercase()),
        })
        .collect()
}

/// Whether some server could read header `name` as an identity header.
pub fn is_identity_header_spelling(name: &str) -> bool {
    header_name_as_read(name).starts_with(IDENTITY_HEADER_PREFIX)
}

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

/// Headers that frameworks read as a request's real method (Express's method-override,
/// Symfony, ASP.NET, Google's APIs, ...).
const METHOD_OVERRIDE_HEADERS: [&str; 3] = [
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];
/// The query parameter that Express's method-override, Symfony and Laravel read likewise.
const METHOD_OVERRIDE_PARAM: &str = "_method";

/// Every method the application may read a request as: `method` itself and each value of a
/// method-override header or `_method` query parameter in `target`'s query. A route policy
/// must pass all of them, or a `GET` the policy judged public becomes a `DELETE` behind it.
pub fn methods_read_as(method: &str, target: &str, headers: &HeaderMap) -> Vec<String> {
    let mut methods = vec![method.to_owned()];
    // Every spelling a CGI-style server reads as an override header (X_HTTP_Method_Override).
    let overrides = headers
        .iter()
        .filter(|(name, _)| {
            METHOD_OVERRIDE_HEADERS.contains(&header_name_as_read(name.as_str()).as_str())
        })
        .map(|(_, value)| String::from_utf8_lossy(value.as_bytes()).into_owned());
    for value in overrides {
        methods.extend(value.split(',').map(|one| one.trim().to_owned()));
    }
    if let Some((_, query)) = target.split_once('?') {
        let query = query.split('#').next().unwrap_or_default();
        methods.extend(
            form_urlencoded::parse(query.as_bytes())
                .filter(|(name, _)| param_name_as_read(name) == METHOD_OVERRIDE_PARAM)
                .map(|(_, value)| value.trim().to_owned()),
        );
    }
    methods.retain(|method| !method.is_empty());
    methods.sort_unstable();
    methods.dedup();
    methods
}

/// A query parameter's name as PHP reads it (and so Symfony and Laravel): cut at a NUL, leading
/// spaces dropped, spaces, dots and `[` turned into `_`; case is ignored to be safe, so that
/// `.method`, `_method%00x` and ` _method` all count as `_method`.
fn param_name_as_read(name: &str) -> String {
    let name = name.split('\0').next().unwrap_or_default();
    name.trim_start_matches(' ')
        .chars()
        .map(|c| match c {
            ' ' | '.' | '[' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// The path of a request target (path and query) as route policies read it, for a request the
/// gateway forwards itself (in canonical form); an ambiguous one is refused with 400
/// `invalid_path`.
pub fn request_path(target: &str) -> Result<RequestPath, ApiError> {
    RequestPath::parse(target).map_err(|error| AuthError::from(error).into())
}

/// The path of the original request a proxy asks about. That proxy forwards the target as it
/// is, so it must already be canonical (no dot or empty segments, `;params` or escaped
/// letters): the application could resolve anything else to another resource.
pub fn original_request_path(target: &str) -> Result<RequestPath, ApiError> {
    RequestPath::parse_exact(target).map_err(|error| AuthError::from(error).into())
}

/// The path and query of a request, as sent.
pub fn target_of(uri: &Uri) -> &str {
    uri.path_and_query().map_or("/", |pq| pq.as_str())
}

/// The headers that tell the application who is calling; none for anonymous access.
pub fn identity_headers(authorization: &Authorization) -> HeaderMap {
    let mut identity = HeaderMap::new();
    let Authorization::Identified(principal) = authorization else {
        return identity;
    };
    let claims = &principal.claims;
    let mut put = |name: &'static str, value: String| {
        // Every value is ASCII by construction (UUIDs, validated emails and role names).
        if let Ok(value) = HeaderValue::from_str(&value) {
            identity.insert(HeaderName::from_static(name), value);
        }
    };
    put("x-auth-user-id", claims.sub.to_string());
    put("x-auth-email", claims.email.clone());
    put("x-auth-roles", claims.roles.join(","));
    put("x-auth-session-id", claims.sid.to_string());
    identity
}

/// Removes every header a client could use to claim an identity, in any spelling.
pub fn strip_identity_headers(headers: &mut HeaderMap) {
    let spoofable: Vec<HeaderName> = headers
        .keys()
        .filter(|name| is_identity_header_spelling(name.as_str()))
        .cloned()
        .collect();
    for name in spoofable {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_method_override_in_any_form_is_judged_too() {
        let mut headers = HeaderMap::new();
        assert_eq!(methods_read_as("GET", "/api/x", &headers), ["GET"]);
        headers.insert("x-http-method-override", HeaderValue::from_static("DELETE"));
        headers.insert("x-method-override", HeaderValue::from_static("put, patch"));
        assert_eq!(
            methods_read_as("GET", "/api/x", &headers),
            ["DELETE", "GET", "patch", "put"]
        );
        let none = HeaderMap::new();
        for target in [
            "/api/x?_method=DELETE",
            "/api/x?a=1&_method=DELETE#frag",
            "/api/x?_%6Dethod=DELETE",
            "/api/x?_method=%44ELETE",
        ] {
            let mut methods = methods_read_as("GET", target, &none);
            methods.sort_unstable();
            assert_eq!(methods, ["DELETE", "GET"], "{target}");
        }
        assert_eq!(
            methods_read_as("GET", "/api/x?method=DELETE", &none),
            ["GET"]
        );
        for target in [
            "/api/x?.method=DELETE",
            "/api/x?_method%00=DELETE",
            "/api/x?%20_method=DELETE",
            "/api/x?_METHOD=DELETE",
        ] {
            assert!(
                methods_read_as("POST", target, &none).contains(&"DELETE".to_owned()),
                "{target}"
            );
        }
        for name in [
            "X_HTTP_METHOD_OVERRIDE",
            "x.http.method.override",
            "X-Http_Method",
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_static("DELETE"),
            );
            assert!(
                methods_read_as("POST", "/api/x", &headers).contains(&"DELETE".to_owned()),
                "{name}"
            );
        }
    }

    #[test]
    fn every_client_identity_header_is_stripped() {
        let mut headers = HeaderMap::new();
        for name in [
            "x-auth-user-id",
            "x-auth-roles",
            "x-auth-anything",
            "x_auth_user_id",
            "x.auth.roles",
            "x-auth_email",
            "x_auth-session-id",
            "authorization",
            "x-authority",
            "x-auth",
        ] {
            headers.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static("spoof"),
            );
        }
        strip_identity_headers(&mut headers);
        let mut left: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        left.sort_unstable();
        assert_eq!(left, ["authorization", "x-auth", "x-authority"]);
    }

    mod header_spellings {
        use super::*;
        use proptest::prelude::*;

        const IDENTITY: [&str; 4] = [
            "x-auth-user-id",
            "x-auth-email",
            "x-auth-roles",
            "x-auth-session-id",
        ];

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1024))]

            /// Every spelling a CGI-style server would read as an identity header is stripped.
            #[test]
            fn no_spelling_of_an_identity_header_survives(
                which in 0..IDENTITY.len(),
                separators in proptest::collection::vec(prop_oneof![Just('-'), Just('_'), Just('.')], 8),
                uppercase in proptest::collection::vec(any::<bool>(), 20),
                suffix in "[a-z0-9_.-]{0,8}",
            ) {
                let mut dashes = separators.iter().cycle();
                let spelled: String = IDENTITY[which]
                    .chars()
                    .zip(uppercase.iter().cycle())
                    .map(|(c, up)| match c {
                        '-' => dashes.next().copied().unwrap_or('-'),
                        c if *up => c.to_ascii_uppercase(),
                        c => c,
                    })
                    .collect();
                let name = format!("{spelled}{suffix}");
                let mut headers = HeaderMap::new();
                headers.insert(
                    HeaderName::from_bytes(name.as_bytes()).expect("a valid header name"),
                    HeaderValue::from_static("spoof"),
                );
                headers.insert("x-kept", HeaderValue::from_static("yes"));
                strip_identity_headers(&mut headers);
                prop_assert_eq!(headers.len(), 1, "{} survived", name);
            }

            /// Names that are not identity headers in any spelling are never stripped.
            #[test]
            fn other_headers_are_kept(name in "[a-z][a-z0-9_.-]{0,20}") {
                prop_assume!(!name.replace(['_', '.'], "-").starts_with("x-auth-"));
                let mut headers = HeaderMap::new();
                headers.insert(
                    HeaderName::from_bytes(name.as_bytes()).expect("a valid header name"),
                    HeaderValue::from_static("kept"),
                );
                strip_identity_headers(&mut headers);
                prop_assert_eq!(headers.len(), 1);
            }
        }
    }
}
