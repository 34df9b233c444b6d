//! The public key a proof carries in its header: read strictly, refused unless it is a public
//! P-256 key for ES256 or a 2048–4096-bit RSA key for RS256, and turned into a key that can
//! check the proof's signature plus its thumbprint. Never holds or accepts private material.

use super::thumbprint::JwkThumbprint;
use aws_lc_rs::signature::{
    ParsedPublicKey, RsaPublicKeyComponents, ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Deserializer};

/// RSA moduli outside this range are refused: below is too weak, above costs a verifier more
/// than a renewal is worth to an attacker who wants to burn CPU.
const RSA_MODULUS_BITS: std::ops::RangeInclusive<usize> = 2048..=4096;
const P256_COORDINATE_BYTES: usize = 32;

/// The signature algorithms a proof may use. Asymmetric only: never `none`, never HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofAlgorithm {
    Es256,
    Rs256,
}

impl ProofAlgorithm {
    /// Reads a JWS `alg`; names are case-sensitive (RFC 7515 §4.1.1).
    pub fn from_alg(alg: &str) -> Option<Self> {
        match alg {
            "ES256" => Some(Self::Es256),
            "RS256" => Some(Self::Rs256),
            _ => None,
        }
    }
}

/// Why a proof's embedded key was refused. Says which rule, never the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the proof's header carries no jwk")]
    Missing,
    #[error("the proof's jwk is symmetric (kty oct)")]
    Symmetric,
    #[error("the proof's jwk carries private key members")]
    PrivateMaterial,
    #[error("the proof's jwk has an unsupported key type")]
    UnsupportedType,
    #[error("the proof's jwk does not fit its algorithm")]
    DoesNotFitAlgorithm,
    #[error("the proof's EC jwk is not on P-256")]
    WrongCurve,
    #[error("the proof's jwk misses a member or encodes one badly")]
    BadEncoding,
    #[error("the proof's RSA modulus is not 2048 to 4096 bits")]
    RsaModulusSize,
    #[error("the proof's jwk is not a valid public key")]
    Invalid,
}

/// A JWK as it arrives. Private and symmetric members are read only to learn that they are
/// there; members nobody reads (`kid`, `alg`, `use`, `key_ops`, `ext` from WebCrypto) are
/// ignored.
#[derive(Deserialize)]
pub(crate) struct RawJwk {
    kty: String,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    n: Option<String>,
    e: Option<String>,
    #[serde(default, deserialize_with = "present")]
    d: bool,
    #[serde(default, deserialize_with = "present")]
    p: bool,
    #[serde(default, deserialize_with = "present")]
    q: bool,
    #[serde(default, deserialize_with = "present")]
    dp: bool,
    #[serde(default, deserialize_with = "present")]
    dq: bool,
    #[serde(default, deserialize_with = "present")]
    qi: bool,
    #[serde(default, deserialize_with = "present")]
    oth: bool,
    #[serde(default, deserialize_with = "present")]
    k: bool,
}

/// True for any value, `null` included: a member that is there at all is refused.
pub(super) fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(deserializer).map(|_| true)
}

/// A checked public key, ready to verify one signature.
pub(crate) struct ProofKey {
    verifier: ParsedPublicKey,
    thumbprint: JwkThumbprint,
}

impl ProofKey {
    pub fn thumbprint(&self) -> &JwkThumbprint {
        &self.thumbprint
    }

    pub fn verifies(&self, signing_input: &[u8], signature: &[u8]) -> bool {
        self.verifier.verify_sig(signing_input, signature).is_ok()
    }
}

impl RawJwk {
    /// Checks this is a public key of the kind `algorithm` needs, and parses it.
    pub fn into_proof_key(self, algorithm: ProofAlgorithm) -> Result<ProofKey, KeyError> {
        if self.kty == "oct" || self.k {
            return Err(KeyError::Symmetric);
        }
        if self.d || self.p || self.q || self.dp || self.dq || self.qi || self.oth {
            return Err(KeyError::PrivateMaterial);
        }
        match (algorithm, self.kty.as_str()) {
            (ProofAlgorithm::Es256, "EC") => self.p256_key(),
            (ProofAlgorithm::Rs256, "RSA") => self.rsa_key(),
            (_, "EC" | "RSA") => Err(KeyError::DoesNotFitAlgorithm),
            _ => Err(KeyError::UnsupportedType),
        }
    }

    fn p256_key(&self) -> Result<ProofKey, KeyError> {
        if self.crv.as_deref() != Some("P-256") {
            return Err(KeyError::WrongCurve);
        }
        let x = component(self.x.as_deref())?;
        let y = component(self.y.as_deref())?;
        if x.len() != P256_COORDINATE_BYTES || y.len() != P256_COORDINATE_BYTES {
            return Err(KeyError::BadEncoding);
        }
        let mut uncompressed_point = Vec::with_capacity(1 + 2 * P256_COORDINATE_BYTES);
        uncompressed_point.push(0x04);
        uncompressed_point.extend_from_slice(&x);
        uncompressed_point.extend_from_slice(&y);
        let verifier = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &uncompressed_point)
            .map_err(|_| KeyError::Invalid)?;
        Ok(ProofKey {
            verifier,
            thumbprint: JwkThumbprint::of_p256(&x, &y),
        })
    }

    fn rsa_key(&self) -> Result<ProofKey, KeyError> {
        let modulus = component(self.n.as_deref())?;
        let exponent = component(self.e.as_deref())?;
        // A leading zero octet would give one key two thumbprints (RFC 7518 §6.3.1.1).
        if modulus.first().is_none_or(|&octet| octet == 0)
            || exponent.first().is_none_or(|&octet| octet == 0)
        {
            return Err(KeyError::BadEncoding);
        }
        if !RSA_MODULUS_BITS.contains(&bit_length(&modulus)) {
            return Err(KeyError::RsaModulusSize);
        }
        let verifier = RsaPublicKeyComponents {
            n: &modulus,
            e: &exponent,
        }
        .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
        .map_err(|_| KeyError::Invalid)?;
        Ok(ProofKey {
            verifier,
            thumbprint: JwkThumbprint::of_rsa(&modulus, &exponent),
        })
    }
}

/// A base64url member, decoded; the base64 crate refuses padding and non-zero trailing bits,
/// so each value has one spelling.
fn component(member: Option<&str>) -> Result<Vec<u8>, KeyError> {
    let text = member.ok_or(KeyError::BadEncoding)?;
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| KeyError::BadEncoding)
}

/// Bits in a big-endian number without leading zero octets.
fn bit_length(big_endian: &[u8]) -> usize {
    match big_endian.first() {
        Some(&first) => big_endian.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_length_counts_from_the_highest_set_bit() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[1]), 1);
        assert_eq!(bit_length(&[0x80, 0]), 16);
        assert_eq!(bit_length(&[0x7f, 0]), 15);
    }

    #[test]
    fn only_es256_and_rs256_are_proof_algorithms() {
        assert_eq!(
            ProofAlgorithm::from_alg("ES256"),
            Some(ProofAlgorithm::Es256)
        );
        assert_eq!(
            ProofAlgorithm::from_alg("RS256"),
            Some(ProofAlgorithm::Rs256)
        );
        for refused in ["none", "HS256", "es256", "PS256", "EdDSA", "ES384", ""] {
            assert_eq!(ProofAlgorithm::from_alg(refused), None, "{refused}");
        }
    }
}
