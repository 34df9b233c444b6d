//! Test-only key pairs that sign proofs the way clients do, and the public JWKs they embed.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use std::sync::LazyLock;

pub(crate) enum TestKey {
    Es256(EcdsaKeyPair),
    Rs256(RsaKeyPair),
}

/// RSA keys take a while to generate; the tests share two.
static RSA_KEYS: LazyLock<[TestKey; 2]> = LazyLock::new(|| {
    let generate = || {
        TestKey::Rs256(
            RsaKeyPair::generate(KeySize::Rsa2048).unwrap_or_else(|error| panic!("{error}")),
        )
    };
    [generate(), generate()]
});

pub(crate) fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl TestKey {
    pub fn es256() -> Self {
        Self::Es256(
            EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .unwrap_or_else(|error| panic!("{error}")),
        )
    }

    pub fn rs256() -> &'static Self {
        &RSA_KEYS[0]
    }

    pub fn other_rs256() -> &'static Self {
        &RSA_KEYS[1]
    }

    pub fn alg(&self) -> &'static str {
        match self {
            Self::Es256(_) => "ES256",
            Self::Rs256(_) => "RS256",
        }
    }

    /// The public JWK, as a client would embed it.
    pub fn public_jwk(&self) -> Value {
        match self {
            Self::Es256(pair) => {
                let point = pair.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65])})
            }
            Self::Rs256(pair) => {
                let public = pair.public_key();
                json!({
                    "kty": "RSA",
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                    "e": b64(public.exponent().big_endian_without_leading_zero()),
                })
            }
        }
    }

    /// A header of type `typ` embedding this key.
    pub fn header(&self, typ: &str) -> Value {
        json!({"typ": typ, "alg": self.alg(), "jwk": self.public_jwk()})
    }

    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        self.sign_raw(&header.to_string(), &claims.to_string())
    }

    /// Signs JSON exactly as given, for spellings `serde_json` would never write.
    pub fn sign_raw(&self, header_json: &str, claims_json: &str) -> String {
        let signing_input = format!("{}.{}", b64(header_json), b64(claims_json));
        format!(
            "{signing_input}.{}",
            b64(self.signature(signing_input.as_bytes()))
        )
    }

    pub fn signature(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            Self::Es256(pair) => pair
                .sign(&rng, message)
                .unwrap_or_else(|error| panic!("{error}"))
                .as_ref()
                .to_vec(),
            Self::Rs256(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
                    .unwrap_or_else(|error| panic!("{error}"));
                signature
            }
        }
    }
}
