//! Method overrides: the headers and query parameter through which frameworks let a request name
//! another method than its own, so that a route policy judges every method a request may be
//! read as.

use crate::header_spelling::reads_as;
use axum::http::HeaderMap;

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
            METHOD_OVERRIDE_HEADERS
                .iter()
                .any(|canonical| reads_as(name.as_str(), canonical))
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderName, HeaderValue};

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
}
