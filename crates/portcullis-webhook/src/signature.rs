//! The signature of webhook deliveries: `sha256=` and the lowercase hex of
//! HMAC-SHA256(secret, "<timestamp>.<body>"), made by the sender and checked by receivers.

use aws_lc_rs::hmac;

/// What every `X-Portcullis-Signature` value starts with.
pub(crate) const SIGNATURE_PREFIX: &str = "sha256=";

/// `sha256=<lowercase hex of HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub(crate) fn sign(key: &hmac::Key, timestamp: &str, body: &[u8]) -> String {
    let mut context = hmac::Context::with_key(key);
    context.update(timestamp.as_bytes());
    context.update(b".");
    context.update(body);
    let tag = context.sign();
    let mut header = String::with_capacity(SIGNATURE_PREFIX.len() + 2 * tag.as_ref().len());
    header.push_str(SIGNATURE_PREFIX);
    for byte in tag.as_ref() {
        header.push_str(&format!("{byte:02x}"));
    }
    header
}

/// Whether `header` (an `X-Portcullis-Signature` value) is the signature of `timestamp` and
/// `body` under `secret`, compared in constant time. Receivers should also reject timestamps
/// too far from their own clock, which is what makes a captured request useless later.
pub fn verify_signature(secret: &[u8], timestamp: &str, body: &[u8], header: &str) -> bool {
    let Some(tag) = header
        .strip_prefix(SIGNATURE_PREFIX)
        .and_then(|hex| decode_hex(hex.trim()))
    else {
        return false;
    };
    let mut message = Vec::with_capacity(timestamp.len() + 1 + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.push(b'.');
    message.extend_from_slice(body);
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    hmac::verify(&key, &message, &tag).is_ok()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let pairs = text.as_bytes().chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return None;
    }
    pairs
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secret: &[u8]) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, secret)
    }

    #[test]
    fn the_signature_is_sha256_then_lowercase_hex_of_the_hmac() {
        let header = sign(&key(b"Jefe"), "1700000000", br#"{"a":1}"#);
        // Computed independently: HMAC-SHA256(b"Jefe", b'1700000000.{"a":1}').
        assert_eq!(
            header,
            "sha256=fa5f6481efc59da48b19c9dc10196c9953e5651f8304b3a318b6b87d70272e0a"
        );
    }

    #[test]
    fn the_signature_covers_the_timestamp_a_dot_and_the_body() {
        let header = sign(&key(b"k"), "42", b"body");
        let expected = hmac::sign(&key(b"k"), b"42.body");
        assert_eq!(
            decode_hex(&header["sha256=".len()..]),
            Some(expected.as_ref().to_vec())
        );
    }

    #[test]
    fn verify_signature_accepts_exactly_what_sign_produced() {
        let header = sign(&key(b"secret"), "100", b"{}");
        // (secret, timestamp, body, header, valid)
        type Case<'a> = (&'a [u8], &'a str, &'a [u8], &'a str, bool);
        let cases: [Case; 8] = [
            (b"secret", "100", b"{}", &header, true),
            (b"other", "100", b"{}", &header, false),
            (b"secret", "101", b"{}", &header, false),
            (b"secret", "100", b"{ }", &header, false),
            (b"secret", "100", b"{}", &header["sha256=".len()..], false),
            (b"secret", "100", b"{}", &header[..header.len() - 1], false),
            (b"secret", "100", b"{}", "sha256=zz", false),
            (b"secret", "100", b"{}", "", false),
        ];
        for (secret, timestamp, body, candidate, valid) in cases {
            assert_eq!(
                verify_signature(secret, timestamp, body, candidate),
                valid,
                "{candidate:?}"
            );
        }
    }
}
