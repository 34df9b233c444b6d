//! Signing keys: generated on first start, stored encrypted in the durable store so every
//! replica signs with the same key, and published as a JWKS.

use crate::secret::{random_bytes, KeyEncryptionKey, SecretError};
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::error::{KeyRejected, Unspecified};
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use portcullis_core::StoredSigningKey;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
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

/// Creates a new key pair and seals its private half under the key-encryption key.
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
    Ok(StoredSigningKey {
        kid,
        alg: alg.as_str().to_owned(),
        public_key,
        encrypted_private_key,
        created_at: OffsetDateTime::now_utc(),
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

fn open(kek: &KeyEncryptionKey, kid: &str, sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
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

/// A key the gateway can verify with.
pub(crate) struct VerifyingKey {
    pub algorithm: Algorithm,
    pub key: DecodingKey,
}

/// The signing key in use, every key accepted for verification, and the JWKS that publishes them.
pub(crate) struct KeyRing {
    pub kid: String,
    pub algorithm: Algorithm,
    pub signing_key: EncodingKey,
    pub verifying: HashMap<String, VerifyingKey>,
    pub jwks: Jwks,
}

impl KeyRing {
    /// Builds the ring from stored keys (newest first); signs with the newest of `alg`.
    pub fn from_stored(
        stored: &[StoredSigningKey],
        alg: SigningAlg,
        kek: &KeyEncryptionKey,
    ) -> Result<Self, KeyError> {
        let current = stored
            .iter()
            .find(|key| key.alg == alg.as_str())
            .ok_or(KeyError::NoneStored(alg.as_str()))?;
        let pkcs8 = open(kek, &current.kid, &current.encrypted_private_key)?;
        let signing_key = match alg {
            SigningAlg::EdDSA => EncodingKey::from_ed_der(&pkcs8),
            SigningAlg::ES256 => EncodingKey::from_ec_der(&pkcs8),
        };
        let mut verifying = HashMap::new();
        let mut jwks = Vec::new();
        for key in stored {
            let Ok(alg) = SigningAlg::from_str(&key.alg) else {
                continue;
            };
            let (decoding, jwk) = public_jwk(alg, &key.kid, &key.public_key)?;
            verifying.insert(
                key.kid.clone(),
                VerifyingKey {
                    algorithm: alg.jwt_algorithm(),
                    key: decoding,
                },
            );
            jwks.push(jwk);
        }
        Ok(Self {
            kid: current.kid.clone(),
            algorithm: alg.jwt_algorithm(),
            signing_key,
            verifying,
            jwks: Jwks { keys: jwks },
        })
    }
}

fn public_jwk(
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
        assert_eq!(open(&kek, "kid-1", &sealed).as_deref(), Ok(&b"secret"[..]));
        assert!(open(&other, "kid-1", &sealed).is_err());
        assert!(open(&kek, "kid-2", &sealed).is_err());
    }

    #[test]
    fn both_algorithms_make_a_usable_ring() {
        let kek = KeyEncryptionKey::generate().expect("test setup");
        for alg in [SigningAlg::EdDSA, SigningAlg::ES256] {
            let stored = generate(alg, &kek).expect("test setup");
            let ring = KeyRing::from_stored(&[stored], alg, &kek).expect("test setup");
            let jwks = serde_json::to_value(&ring.jwks).expect("serialises");
            assert_eq!(jwks["keys"][0]["alg"], alg.as_str());
            assert_eq!(jwks["keys"][0]["use"], "sig");
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
