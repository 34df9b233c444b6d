//! The identity headers: the ones the gateway sets for the application (`X-Auth-User-Id`,
//! `X-Auth-Email`, `X-Auth-Roles`, `X-Auth-Session-Id`), and the removal of every client header
//! that any server behind the gateway could read as one of them.

use crate::header_spelling::reads_as_prefixed;
use axum::http::header::InvalidHeaderValue;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use portcullis_service::Authorization;
use uuid::Uuid;

/// Every identity header starts with this; client-sent headers with it are never trusted.
pub const IDENTITY_HEADER_PREFIX: &str = "x-auth-";

/// Whether some server could read header `name` as an identity header.
pub fn is_identity_header_spelling(name: &str) -> bool {
    reads_as_prefixed(name, IDENTITY_HEADER_PREFIX)
}

/// The headers that tell the application who is calling; none for anonymous access.
pub fn identity_headers(authorization: &Authorization) -> HeaderMap {
    let Authorization::Identified(principal) = authorization else {
        return HeaderMap::new();
    };
    let mut identity = HeaderMap::with_capacity(4);
    let claims = &principal.claims;
    // Every value is ASCII by construction (UUIDs, validated emails and role names). Each is
    // copied once, into the header value's own buffer: this runs for every verify.
    let mut put = |name: &'static str, value: Result<HeaderValue, InvalidHeaderValue>| {
        if let Ok(value) = value {
            identity.insert(HeaderName::from_static(name), value);
        }
    };
    let mut uuid = Uuid::encode_buffer();
    put(
        "x-auth-user-id",
        HeaderValue::from_str(claims.sub.0.as_hyphenated().encode_lower(&mut uuid)),
    );
    put("x-auth-email", HeaderValue::from_str(&claims.email));
    put(
        "x-auth-roles",
        HeaderValue::try_from(claims.roles.join(",")),
    );
    put(
        "x-auth-session-id",
        HeaderValue::from_str(claims.sid.0.as_hyphenated().encode_lower(&mut uuid)),
    );
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
