//! Signing keys as material: generated, their private half sealed under the key-encryption key
//! (so the durable store, shared by every replica, never holds it in the clear) and opened
//! again, their public half shaped as a JWK. Which key signs when is `crate::key_ring`'s.

use crate::secret::{random_bytes, KeyEncryptionKey, SecretError};
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::error::{KeyRejected, Unspecified};
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey};
use portcullis_core::StoredSigningKey;
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use time::OffsetDateTime;

/// Why a signing key could not be made, sealed, opened or published.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KeyError {
    #[error("unsupported signing algorithm {0:?} (use EdDSA or ES256)")]
    UnsupportedAlgorithm(String),
    #[error("key generation failed")]
    Generation(#[source] Unspecified),
    #[error("bad generated key")]
    GeneratedKeyRejected(#[source] KeyRejected),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("bad AES key")]
    AesKey(#[source] Unspecified),
    #[error("encryption failed")]
    Seal(#[source] Unspecified),
    #[error("bad nonce")]
    Nonce(#[source] Unspecified),
    #[error("signing key {kid} is truncated")]
    Truncated { kid: String },
    #[error("signing key {kid} cannot be decrypted: is the key-encryption key the one it was stored with?")]
    Undecryptable {
        kid: String,
        #[source]
        source: Unspecified,
    },
    #[error("no {0} signing key is stored")]
    NoneStored(&'static str),
    #[error("signing key {kid} has a malformed public key")]
    MalformedPublicKey { kid: String },
}

/// The signature algorithms Portcullis issues tokens with. Asymmetric only: verifiers anywhere
/// can check tokens from the JWKS without holding a secret. Read from configuration by the
/// exact names `EdDSA` and `ES256`, as [`FromStr`] reads a stored key's algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[allow(clippy::upper_case_acronyms)]
pub enum SigningAlg {
    EdDSA,
    ES256,
}

impl SigningAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EdDSA => "EdDSA",
            Self::ES256 => "ES256",
        }
    }

    pub(crate) fn jwt_algorithm(self) -> Algorithm {
        match self {
            Self::EdDSA => Algorithm::EdDSA,
            Self::ES256 => Algorithm::ES256,
        }
    }
}

impl FromStr for SigningAlg {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "EdDSA" => Ok(Self::EdDSA),
            "ES256" => Ok(Self::ES256),
            other => Err(KeyError::UnsupportedAlgorithm(other.to_owned())),
        }
    }
}

const KEY_PURPOSE: &str = "portcullis/signing-key-encryption/v1";

/// Creates a new key pair and seals its private half under the key-encryption key. It signs
/// from its creation unless the caller sets `activates_at` later.
pub(crate) fn generate(
    alg: SigningAlg,
    kek: &KeyEncryptionKey,
) -> Result<StoredSigningKey, KeyError> {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let (pkcs8, public_key) = match alg {
        SigningAlg::EdDSA => {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(KeyError::Generation)?;
            let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
                .map_err(KeyError::GeneratedKeyRejected)?;
            (pkcs8.as_ref().to_vec(), pair.public_key().as_ref().to_vec())
        }
        SigningAlg::ES256 => {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(KeyError::Generation)?;
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
                .map_err(KeyError::GeneratedKeyRejected)?;
            (pkcs8.as_ref().to_vec(), pair.public_key().as_ref().to_vec())
        }
    };
    let kid = uuid::Uuid::new_v4().simple().to_string();
    let encrypted_private_key = seal(kek, &kid, pkcs8)?;
    let created_at = OffsetDateTime::now_utc();
    Ok(StoredSigningKey {
        kid,
        alg: alg.as_str().to_owned(),
        public_key,
        encrypted_private_key,
        created_at,
        activates_at: created_at,
        retired_at: None,
    })
}

fn aead_key(kek: &KeyEncryptionKey) -> Result<LessSafeKey, KeyError> {
    let key = kek.derive(KEY_PURPOSE)?;
    let unbound = UnboundKey::new(&AES_256_GCM, &key).map_err(KeyError::AesKey)?;
    Ok(LessSafeKey::new(unbound))
}

/// AES-256-GCM with a random nonce (prepended); the kid is bound in as associated data so a
/// ciphertext cannot be moved to another key row.
fn seal(kek: &KeyEncryptionKey, kid: &str, mut plaintext: Vec<u8>) -> Result<Vec<u8>, KeyError> {
    let nonce = random_bytes::<NONCE_LEN>()?;
    aead_key(kek)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(kid.as_bytes()),
            &mut plaintext,
        )
        .map_err(KeyError::Seal)?;
    let mut sealed = nonce.to_vec();
    sealed.extend_from_slice(&plaintext);
    Ok(sealed)
}

/// Opens a private key sealed by [`generate`] under the same key-encryption key and kid.
pub(crate) fn open_private_key(
    kek: &KeyEncryptionKey,
    kid: &str,
    sealed: &[u8],
) -> Result<Vec<u8>, KeyError> {
    if sealed.len() < NONCE_LEN {
        return Err(KeyError::Truncated {
            kid: kid.to_owned(),
        });
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(KeyError::Nonce)?;
    let mut buffer = ciphertext.to_vec();
    let plaintext = aead_key(kek)?
        .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut buffer)
        .map_err(|source| KeyError::Undecryptable {
            kid: kid.to_owned(),
            source,
        })?;
    Ok(plaintext.to_vec())
}

/// The public signing keys as published at `/.well-known/jwks.json` (RFC 7517).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// One published public key. The fields are declared in alphabetical order because that is the
/// order the JWKS has always listed them in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwk {
    pub alg: &'static str,
    pub crv: &'static str,
    pub kid: String,
    pub kty: &'static str,
    #[serde(rename = "use")]
    pub key_use: &'static str,
    pub x: String,
    /// The second coordinate of an EC key; an OKP key has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

/// The public half of a stored key, as a verifier and as published.
pub(crate) fn public_jwk(
    alg: SigningAlg,
    kid: &str,
    public_key: &[u8],
) -> Result<(DecodingKey, Jwk), KeyError> {
    match alg {
        SigningAlg::EdDSA => {
            let jwk = Jwk {
                alg: "EdDSA",
                crv: "Ed25519",
                kid: kid.to_owned(),
                kty: "OKP",
                key_use: "sig",
                x: URL_SAFE_NO_PAD.encode(public_key),
                y: None,
            };
            Ok((DecodingKey::from_ed_der(public_key), jwk))
        }
        SigningAlg::ES256 => {
            // An uncompressed P-256 point: 0x04 || x (32 bytes) || y (32 bytes).
            if public_key.len() != 65 || public_key[0] != 0x04 {
                return Err(KeyError::MalformedPublicKey {
                    kid: kid.to_owned(),
                });
            }
            let jwk = Jwk {
                alg: "ES256",
                crv: "P-256",
                kid: kid.to_owned(),
                kty: "EC",
                key_use: "sig",
                x: URL_SAFE_NO_PAD.encode(&public_key[1..33]),
                y: Some(URL_SAFE_NO_PAD.encode(&public_key[33..])),
            };
            Ok((DecodingKey::from_ec_der(public_key), jwk))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_private_keys_open_only_under_their_key_and_kid() {
        let kek = KeyEncryptionKey::generate().expect("test setup");
        let other = KeyEncryptionKey::generate().expect("test setup");
        let sealed = seal(&kek, "kid-1", b"secret".to_vec()).expect("test setup");
        assert_eq!(
            open_private_key(&kek, "kid-1", &sealed).as_deref(),
            Ok(&b"secret"[..])
        );
        assert!(open_private_key(&other, "kid-1", &sealed).is_err());
        assert!(open_private_key(&kek, "kid-2", &sealed).is_err());
    }

    #[test]
    fn both_algorithms_publish_a_signature_key() {
        let kek = KeyEncryptionKey::generate().expect("test setup");
        for alg in [SigningAlg::EdDSA, SigningAlg::ES256] {
            let stored = generate(alg, &kek).expect("test setup");
            let (_, jwk) = public_jwk(alg, &stored.kid, &stored.public_key).expect("public key");
            let jwk = serde_json::to_value(&jwk).expect("serialises");
            assert_eq!(jwk["alg"], alg.as_str());
            assert_eq!(jwk["use"], "sig");
            assert!(open_private_key(&kek, &stored.kid, &stored.encrypted_private_key).is_ok());
        }
    }

    #[test]
    fn the_jwks_keeps_its_published_shape() {
        let jwk = |alg, crv, kty, y: Option<&str>| Jwk {
            alg,
            crv,
            kid: "k1".to_owned(),
            kty,
            key_use: "sig",
            x: "eA".to_owned(),
            y: y.map(str::to_owned),
        };
        let jwks = Jwks {
            keys: vec![
                jwk("EdDSA", "Ed25519", "OKP", None),
                jwk("ES256", "P-256", "EC", Some("eQ")),
            ],
        };
        assert_eq!(
            serde_json::to_string(&jwks).expect("serialises"),
            concat!(
                r#"{"keys":[{"alg":"EdDSA","crv":"Ed25519","kid":"k1","kty":"OKP","use":"sig","x":"eA"},"#,
                r#"{"alg":"ES256","crv":"P-256","kid":"k1","kty":"EC","use":"sig","x":"eA","y":"eQ"}]}"#
            )
        );
    }
}
