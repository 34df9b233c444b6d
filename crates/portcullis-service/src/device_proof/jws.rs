//! The part every device proof shares: one compact JWS, size-bounded, whose header names its
//! type and algorithm and embeds the public key that must verify its signature.
//! [`verify_embedded_key_jws`] returns the key's thumbprint and the payload bytes; reading the
//! claims is each proof kind's own business.

use super::jwk::{present, KeyError, ProofAlgorithm, ProofKey, RawJwk};
use super::thumbprint::JwkThumbprint;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use std::fmt;

/// Proofs longer than this are refused before anything is decoded. A proof with a 4096-bit RSA
/// key fits in about 2 KiB.
pub const MAX_PROOF_BYTES: usize = 8 * 1024;

/// Which part of a compact JWS was badly encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwsPart {
    Header,
    Payload,
    Signature,
}

impl fmt::Display for JwsPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Header => "header",
            Self::Payload => "payload",
            Self::Signature => "signature",
        })
    }
}

/// Why a proof failed the checks both proof kinds share. Says which rule, never the proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    #[error("the proof is longer than {MAX_PROOF_BYTES} bytes")]
    TooLarge,
    #[error("the proof is not one compact JWS")]
    NotCompact,
    #[error("the proof's {0} is not unpadded base64url")]
    BadBase64(JwsPart),
    #[error("the proof's header is not a JSON object of the expected shape")]
    BadHeader,
    #[error("the proof's typ is not {0}")]
    WrongType(&'static str),
    #[error("the proof's algorithm is not accepted (ES256 or RS256)")]
    AlgorithmNotAllowed,
    #[error("the proof's header names critical extensions")]
    CriticalHeader,
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("the proof's signature does not verify with its own key")]
    BadSignature,
}

/// A proof whose signature verified under the key in its own header.
#[derive(Debug)]
pub(crate) struct VerifiedJws {
    pub thumbprint: JwkThumbprint,
    pub payload: Vec<u8>,
}

#[derive(Deserialize)]
struct RawHeader {
    typ: Option<String>,
    alg: String,
    jwk: Option<RawJwk>,
    /// No extension is understood here, so any `crit` at all is refused (RFC 7515 §4.1.11).
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

/// The three parts of a compact JWS, still encoded.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CompactParts<'a> {
    pub header: &'a str,
    pub payload: &'a str,
    pub signature: &'a str,
}

impl CompactParts<'_> {
    /// What the signature covers: `header.payload`, exactly as sent.
    fn signing_input(&self) -> String {
        format!("{}.{}", self.header, self.payload)
    }
}

/// Splits a compact JWS into exactly three non-empty parts; anything else (a JWE's five parts,
/// a JSON serialization, several proofs in one) is refused.
pub(crate) fn split_compact(proof: &str) -> Result<CompactParts<'_>, JwsError> {
    if proof.len() > MAX_PROOF_BYTES {
        return Err(JwsError::TooLarge);
    }
    let mut parts = proof.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::NotCompact);
    };
    if header.is_empty() || payload.is_empty() || signature.is_empty() {
        return Err(JwsError::NotCompact);
    }
    Ok(CompactParts {
        header,
        payload,
        signature,
    })
}

fn decode(part: &str, which: JwsPart) -> Result<Vec<u8>, JwsError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwsError::BadBase64(which))
}

/// Checks a proof's shared rules in order: size, shape, header (`typ` equal to `expected_typ`
/// ignoring ASCII case as RFC 7515 §4.1.9 asks, an accepted `alg`, no `crit`), the embedded
/// key, and the signature over the exact bytes sent.
pub(crate) fn verify_embedded_key_jws(
    proof: &str,
    expected_typ: &'static str,
) -> Result<VerifiedJws, JwsError> {
    let parts = split_compact(proof)?;
    let header_json = decode(parts.header, JwsPart::Header)?;
    let payload = decode(parts.payload, JwsPart::Payload)?;
    let signature = decode(parts.signature, JwsPart::Signature)?;
    let header: RawHeader =
        serde_json::from_slice(&header_json).map_err(|_| JwsError::BadHeader)?;
    if !header
        .typ
        .as_deref()
        .is_some_and(|typ| typ.eq_ignore_ascii_case(expected_typ))
    {
        return Err(JwsError::WrongType(expected_typ));
    }
    let algorithm = ProofAlgorithm::from_alg(&header.alg).ok_or(JwsError::AlgorithmNotAllowed)?;
    if header.crit {
        return Err(JwsError::CriticalHeader);
    }
    let key: ProofKey = header
        .jwk
        .ok_or(KeyError::Missing)?
        .into_proof_key(algorithm)?;
    if !key.verifies(parts.signing_input().as_bytes(), &signature) {
        return Err(JwsError::BadSignature);
    }
    Ok(VerifiedJws {
        thumbprint: key.thumbprint().clone(),
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compact_jws_splits_into_its_three_parts() {
        assert_eq!(
            split_compact("aGVhZA.Ym9keQ.c2ln"),
            Ok(CompactParts {
                header: "aGVhZA",
                payload: "Ym9keQ",
                signature: "c2ln"
            })
        );
    }

    #[test]
    fn anything_but_three_non_empty_parts_is_not_a_compact_jws() {
        for refused in [
            "",
            "a",
            "a.b",
            "a.b.c.d",
            "a.b.c.d.e",
            "..",
            "a..c",
            ".b.c",
            "a.b.",
            "a.b.c.",
        ] {
            assert_eq!(
                split_compact(refused),
                Err(JwsError::NotCompact),
                "{refused:?}"
            );
        }
    }

    #[test]
    fn an_oversize_proof_is_refused_before_it_is_split() {
        let oversize = "a".repeat(MAX_PROOF_BYTES + 1);
        assert_eq!(split_compact(&oversize), Err(JwsError::TooLarge));
        let at_limit = format!("{}.b.c", "a".repeat(MAX_PROOF_BYTES - 4));
        assert!(split_compact(&at_limit).is_ok());
    }

    #[test]
    fn no_error_message_repeats_what_the_client_sent() {
        // Every variant's text is fixed: nothing from the proof can be formatted into it.
        let shown = JwsError::WrongType("dpop+jwt").to_string();
        assert_eq!(shown, "the proof's typ is not dpop+jwt");
        assert_eq!(
            JwsError::BadBase64(JwsPart::Signature).to_string(),
            "the proof's signature is not unpadded base64url"
        );
    }
}
