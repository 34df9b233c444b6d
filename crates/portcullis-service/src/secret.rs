//! Secret-holding types whose `Debug` prints nothing, the key-encryption key with the sub-keys
//! derived from it, and the system random source every secret is drawn from.

use aws_lc_rs::error::Unspecified;
use aws_lc_rs::hkdf::{Salt, HKDF_SHA256};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::fmt;

/// Why secret material could not be read, drawn or derived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// Carries no source on purpose: base64's error names the offending byte of the key.
    #[error("the key-encryption key is not valid base64")]
    NotBase64,
    #[error("the key-encryption key must be exactly 32 bytes")]
    WrongLength,
    #[error("the system random source failed")]
    Random(#[source] Unspecified),
    #[error("key derivation failed")]
    Derivation(#[source] Unspecified),
}

/// `N` bytes from the system random source.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], SecretError> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes).map_err(SecretError::Random)?;
    Ok(bytes)
}

/// A password as received; never printed.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

/// The 256-bit key-encryption key: protects signing keys at rest and seeds the refresh-token
/// successor derivation. Every replica of one deployment must share it.
#[derive(Clone)]
pub struct KeyEncryptionKey([u8; 32]);

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyEncryptionKey(..)")
    }
}

impl KeyEncryptionKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses the standard base64 text form (as in config files and the key file).
    pub fn from_base64(text: &str) -> Result<Self, SecretError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| SecretError::NotBase64)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| SecretError::WrongLength)?;
        Ok(Self(bytes))
    }

    /// A fresh random key, for the embedded tier's first start.
    pub fn generate() -> Result<Self, SecretError> {
        random_bytes().map(Self)
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Derives an independent 256-bit sub-key for one purpose (HKDF-SHA256).
    pub(crate) fn derive(&self, purpose: &'static str) -> Result<[u8; 32], SecretError> {
        let mut out = [0u8; 32];
        let info = [purpose.as_bytes()];
        Salt::new(HKDF_SHA256, b"portcullis")
            .extract(&self.0)
            .expand(&info, HKDF_SHA256)
            .and_then(|okm| okm.fill(&mut out))
            .map_err(SecretError::Derivation)?;
        Ok(out)
    }
}
