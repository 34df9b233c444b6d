//! Secret-holding types whose `Debug` prints nothing, and the key-encryption key with the
//! sub-keys derived from it.

use aws_lc_rs::hkdf::{Salt, HKDF_SHA256};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::fmt;

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
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| "the key-encryption key is not valid base64".to_owned())?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "the key-encryption key must be exactly 32 bytes".to_owned())?;
        Ok(Self(bytes))
    }

    /// A fresh random key, for the embedded tier's first start.
    pub fn generate() -> Result<Self, String> {
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes)
            .map_err(|_| "the system random source failed".to_owned())?;
        Ok(Self(bytes))
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Derives an independent 256-bit sub-key for one purpose (HKDF-SHA256).
    pub(crate) fn derive(&self, purpose: &'static str) -> Result<[u8; 32], String> {
        let mut out = [0u8; 32];
        let info = [purpose.as_bytes()];
        Salt::new(HKDF_SHA256, b"portcullis")
            .extract(&self.0)
            .expand(&info, HKDF_SHA256)
            .and_then(|okm| okm.fill(&mut out))
            .map_err(|_| "key derivation failed".to_owned())?;
        Ok(out)
    }
}
