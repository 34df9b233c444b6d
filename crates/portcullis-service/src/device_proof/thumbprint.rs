//! [`JwkThumbprint`]: the RFC 7638 SHA-256 thumbprint of a proof's public key, the name a
//! refresh family is bound to, and the one comparison of two thumbprints (constant time).
//!
//! The thumbprint is computed from the key's decoded components, re-encoded here, so one key
//! has exactly one thumbprint however its JWK was spelled.

use aws_lc_rs::digest::{digest, SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::fmt;

/// The base64url (unpadded) SHA-256 JWK thumbprint of a public key (RFC 7638).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct JwkThumbprint(String);

impl JwkThumbprint {
    /// The thumbprint of a P-256 key from its 32-byte coordinates.
    pub(crate) fn of_p256(x: &[u8], y: &[u8]) -> Self {
        // Members in lexicographic order, no whitespace (RFC 7638 §3.3); base64url needs no
        // JSON escaping.
        Self::of_canonical_json(&format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            URL_SAFE_NO_PAD.encode(x),
            URL_SAFE_NO_PAD.encode(y)
        ))
    }

    /// The thumbprint of an RSA key from its modulus and exponent (big-endian, no leading
    /// zero octets, as RFC 7518 §6.3.1 requires).
    pub(crate) fn of_rsa(modulus: &[u8], exponent: &[u8]) -> Self {
        Self::of_canonical_json(&format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            URL_SAFE_NO_PAD.encode(exponent),
            URL_SAFE_NO_PAD.encode(modulus)
        ))
    }

    fn of_canonical_json(json: &str) -> Self {
        Self(URL_SAFE_NO_PAD.encode(digest(&SHA256, json.as_bytes())))
    }

    /// A thumbprint as it was stored when the family was bound.
    pub fn from_stored(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the thumbprint a family was bound to, compared in constant time so the
    /// time taken says nothing about how much of it matched.
    pub fn matches(&self, bound: &JwkThumbprint) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(self.0.as_bytes(), bound.0.as_bytes())
            .is_ok()
    }
}

impl fmt::Debug for JwkThumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JwkThumbprint({})", self.0)
    }
}

impl fmt::Display for JwkThumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(text: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(text).unwrap_or_default()
    }

    #[test]
    fn the_rfc_7638_example_rsa_key_has_the_published_thumbprint() {
        // RFC 7638 §3.1.
        let modulus = decoded(concat!(
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B",
            "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_F",
            "DW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4",
            "vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
        ));
        assert_eq!(modulus.len(), 256);
        let thumbprint = JwkThumbprint::of_rsa(&modulus, &decoded("AQAB"));
        assert_eq!(
            thumbprint.as_str(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn the_rfc_9449_example_ec_key_has_the_published_thumbprint() {
        // The proof key of RFC 9449 §4.1 and the `jkt` that §6.1 binds tokens to.
        let thumbprint = JwkThumbprint::of_p256(
            &decoded("l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs"),
            &decoded("9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"),
        );
        assert_eq!(
            thumbprint.as_str(),
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
        );
    }

    #[test]
    fn an_ec_thumbprint_agrees_with_jsonwebtokens_independent_computation() {
        let x = "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs";
        let y = "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA";
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(
            serde_json::json!({"kty": "EC", "crv": "P-256", "x": x, "y": y}),
        )
        .unwrap_or_else(|error| panic!("{error}"));
        let theirs = jwk.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256);
        assert_eq!(
            JwkThumbprint::of_p256(&decoded(x), &decoded(y)).as_str(),
            theirs
        );
    }

    #[test]
    fn matches_accepts_only_the_same_thumbprint() {
        let bound = JwkThumbprint::from_stored("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        assert!(JwkThumbprint::from_stored(bound.as_str()).matches(&bound));
        assert!(
            !JwkThumbprint::from_stored("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xt")
                .matches(&bound)
        );
        assert!(!JwkThumbprint::from_stored("NzbLsXh8").matches(&bound));
        assert!(!JwkThumbprint::from_stored("").matches(&bound));
    }
}
