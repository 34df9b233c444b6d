//! Cross-site request defences of the cookie-authenticated endpoints (refresh, logout): a
//! custom `X-CSRF: 1` header, which a cross-site form cannot send and cross-site `fetch` cannot
//! send without a CORS preflight, and an `Origin` allow-list.

use crate::error::ApiError;
use axum::http::{HeaderMap, StatusCode};

pub const CSRF_HEADER: &str = "x-csrf";

/// Refuses requests that lack `X-CSRF: 1`, come from an origin not in `allowed_origins`
/// (including the opaque `null` origin), or that the browser labels cross-site.
pub fn guard(headers: &HeaderMap, allowed_origins: &[String]) -> Result<(), ApiError> {
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
        if origin == "null" || !allowed_origins.iter().any(|allowed| allowed == origin) {
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
        let cases: [(Headers, Option<&str>); 8] = [
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
