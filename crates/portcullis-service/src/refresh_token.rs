//! Refresh tokens: 256 random bits, base64url, stored only as a SHA-256 hash.
//!
//! A successor is not random: it is HMAC-SHA256 of its predecessor under a key derived from the
//! key-encryption key. Presenting the same predecessor twice within the grace window therefore
//! yields the very same successor without it ever being stored in plaintext, and the family
//! stays one chain.

use crate::secret::{random_bytes, KeyEncryptionKey, SecretError};
use aws_lc_rs::{digest, hmac};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis_core::TokenHash;
use std::fmt;

const TOKEN_BYTES: usize = 32;
/// Length of the base64url text of a token (32 bytes, no padding).
const TOKEN_CHARS: usize = 43;
const SUCCESSOR_PURPOSE: &str = "portcullis/refresh-successor/v1";

/// A refresh token's text; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshSecret(String);

impl fmt::Debug for RefreshSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshSecret(..)")
    }
}

impl RefreshSecret {
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Accepts only text that could be a token this gateway issued, so junk never reaches the
    /// database.
    pub fn parse(text: &str) -> Option<Self> {
        let well_formed = text.len() == TOKEN_CHARS
            && URL_SAFE_NO_PAD
                .decode(text)
                .is_ok_and(|bytes| bytes.len() == TOKEN_BYTES);
        well_formed.then(|| Self(text.to_owned()))
    }

    pub fn hash(&self) -> TokenHash {
        secret_hash(&self.0)
    }
}

/// SHA-256 of a high-entropy secret (a refresh token, an admin key): the only form in which
/// such secrets are stored. No salt or slow hash is needed at 256 bits of entropy.
pub(crate) fn secret_hash(text: &str) -> TokenHash {
    let mut hash = [0u8; 32];
    hash.copy_from_slice(digest::digest(&digest::SHA256, text.as_bytes()).as_ref());
    TokenHash(hash)
}

pub(crate) struct RefreshTokens {
    successor_key: hmac::Key,
}

impl RefreshTokens {
    pub fn new(kek: &KeyEncryptionKey) -> Result<Self, SecretError> {
        let key = kek.derive(SUCCESSOR_PURPOSE)?;
        Ok(Self {
            successor_key: hmac::Key::new(hmac::HMAC_SHA256, &key),
        })
    }

    /// A fresh token for a new family.
    pub fn mint(&self) -> Result<RefreshSecret, SecretError> {
        let bytes = random_bytes::<TOKEN_BYTES>()?;
        Ok(RefreshSecret(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The one successor `token` can ever have.
    pub fn successor(&self, token: &RefreshSecret) -> RefreshSecret {
        let tag = hmac::sign(&self.successor_key, token.0.as_bytes());
        RefreshSecret(URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> RefreshTokens {
        RefreshTokens::new(&KeyEncryptionKey::generate().expect("kek")).expect("tokens")
    }

    #[test]
    fn successors_are_deterministic_well_formed_and_keyed() {
        let (a, b) = (tokens(), tokens());
        let first = a.mint().expect("mint");
        let next = a.successor(&first);
        assert_eq!(next, a.successor(&first));
        assert_ne!(
            next,
            b.successor(&first),
            "another key derives another successor"
        );
        assert_ne!(next, first);
        assert!(RefreshSecret::parse(next.expose()).is_some());
    }

    #[test]
    fn only_token_shaped_text_parses() {
        let token = tokens().mint().expect("mint");
        assert!(RefreshSecret::parse(token.expose()).is_some());
        for bad in [
            "",
            "short",
            &"A".repeat(44),
            &format!("{}=", &token.expose()[..42]),
            &"!".repeat(43),
        ] {
            assert!(RefreshSecret::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn debug_never_shows_the_token() {
        let token = tokens().mint().expect("mint");
        assert!(!format!("{token:?}").contains(token.expose()));
    }
}
