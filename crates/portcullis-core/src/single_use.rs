//! Things that may be used once across every replica: DPoP proof `jti`s (RFC 9449 §11.1) and
//! DBSC challenges (issue 16). This module owns the key a store remembers; the store behind
//! [`SingleUse`] owns the atomic write. Nothing here reads a clock: callers pass `now` and the
//! instant until which a key must be remembered.
//!
//! One primitive, two methods, for both uses:
//!
//! - [`SingleUse::first_use`] records a key until `until` and says whether it was new. A DPoP
//!   `jti` is accepted only when this answers `true`; `until` is the last instant the proof could
//!   be accepted anyway, after which the key may be forgotten (and used again).
//! - Issuing a DBSC challenge is the same call: the server records its fresh random challenge
//!   with `first_use` until the challenge expires (`false` would mean a 256-bit collision: draw
//!   again). Answering it needs the second method, [`SingleUse::take`], which deletes the key
//!   if it is still unexpired and says whether it did. `first_use` alone cannot serve here: it
//!   would accept a challenge the server never issued. A stateless, MAC-signed challenge would
//!   avoid `take`, at the price of another secret to manage and rotate; two methods are cheaper.
//!
//! Both are decided where the write happens (one statement, one script), never by a read that
//! came earlier: of concurrent callers with one key exactly one gets `true`. A store that cannot
//! answer fails with an error, which the caller must treat as a refusal, never as `true`.
//!
//! Stores keep only a SHA-256 digest of the key material, under a namespace, never the raw
//! `jti` or challenge: the material is client-chosen (a `jti` is whatever the client put in its
//! proof), so the digest gives every stored key one fixed length and one alphabet whatever was
//! sent, and a copy of the store holds no challenge that could be presented. The material is
//! still bounded ([`MAX_MATERIAL_BYTES`]) so no caller hashes an unbounded input.

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::fmt;
use time::OffsetDateTime;

use crate::store::StoreResult;

/// The longest piece of key material accepted (a thumbprint, a `jti`, a challenge). Generous:
/// a base64url SHA-256 thumbprint is 43 bytes, a 96-bit random `jti` 16.
pub const MAX_MATERIAL_BYTES: usize = 256;

/// What a key is about; part of the digest, so keys of different uses never collide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SingleUseNamespace {
    /// A DPoP proof's `jti`, scoped by the thumbprint of the key that signed it.
    DpopProof,
    /// A DBSC challenge the server issued.
    DbscChallenge,
}

impl SingleUseNamespace {
    /// The stable name stores put in front of the digest (also its domain separator).
    pub fn name(self) -> &'static str {
        match self {
            Self::DpopProof => "dpop",
            Self::DbscChallenge => "dbsc",
        }
    }
}

/// Key material that was empty or longer than [`MAX_MATERIAL_BYTES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("single-use key material must be 1 to {MAX_MATERIAL_BYTES} bytes")]
pub struct BadKeyMaterial;

/// A key a [`SingleUse`] store remembers: a namespace and the SHA-256 of its material.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SingleUseKey {
    namespace: SingleUseNamespace,
    digest: [u8; 32],
}

impl SingleUseKey {
    /// The key of a DPoP proof: its `jti`, scoped by the RFC 7638 thumbprint of its key.
    pub fn dpop_proof(thumbprint: &str, jti: &str) -> Result<Self, BadKeyMaterial> {
        Self::digest_of(SingleUseNamespace::DpopProof, &[thumbprint, jti])
    }

    /// The key of a DBSC challenge.
    pub fn dbsc_challenge(challenge: &str) -> Result<Self, BadKeyMaterial> {
        Self::digest_of(SingleUseNamespace::DbscChallenge, &[challenge])
    }

    /// Hashes the namespace and each part with its length in front, so `("ab", "c")` and
    /// `("a", "bc")` are different keys.
    fn digest_of(namespace: SingleUseNamespace, parts: &[&str]) -> Result<Self, BadKeyMaterial> {
        let mut hasher = Sha256::new();
        hasher.update(namespace.name().as_bytes());
        for part in parts {
            if part.is_empty() || part.len() > MAX_MATERIAL_BYTES {
                return Err(BadKeyMaterial);
            }
            let length = u16::try_from(part.len()).map_err(|_| BadKeyMaterial)?;
            hasher.update(length.to_be_bytes());
            hasher.update(part.as_bytes());
        }
        Ok(Self {
            namespace,
            digest: hasher.finalize().into(),
        })
    }

    pub fn namespace(&self) -> SingleUseNamespace {
        self.namespace
    }

    /// The digest, for stores that keep bytes.
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// `namespace:hex-digest`, for stores that keep text: 69 bytes, always.
    pub fn stored_name(&self) -> String {
        let mut name = String::with_capacity(5 + 64);
        name.push_str(self.namespace.name());
        name.push(':');
        for byte in self.digest {
            name.push(char::from(HEX[usize::from(byte >> 4)]));
            name.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        name
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl fmt::Debug for SingleUseKey {
    // Only the namespace: the digest of a live challenge is as good as the challenge to a
    // store lookup, so it stays out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SingleUseKey({}:..)", self.namespace.name())
    }
}

/// Whether a key to be remembered until `until` is already past remembering at `now`: such a
/// key is never recorded, and its first use answers `false`. Every store applies this one rule
/// before it writes.
pub fn lapses_before_recorded(until: OffsetDateTime, now: OffsetDateTime) -> bool {
    until <= now
}

/// Keys used once across every replica (see the module documentation).
#[async_trait]
pub trait SingleUse: Send + Sync {
    /// Records `key` until `until`; `true` when it was not recorded with an `until` after `now`
    /// (never seen, or forgotten because its `until` passed). In one atomic step: of concurrent
    /// calls with one key, exactly one answers `true`. An `until` not after `now` is never
    /// recorded and answers `false`: what can no longer be remembered is refused.
    async fn first_use(
        &self,
        key: &SingleUseKey,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;

    /// Deletes `key`; `true` when it was recorded with an `until` after `now`. A lapsed key is
    /// deleted too (the first answer to a challenge consumes it, in time or not). In one atomic
    /// step: of concurrent calls with one key, at most one answers `true`. For keys that
    /// were issued with [`SingleUse::first_use`] (DBSC challenges); taking a DPoP proof's key
    /// would forget that it was used.
    async fn take(&self, key: &SingleUseKey, now: OffsetDateTime) -> StoreResult<bool>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_by_namespace_and_by_where_the_parts_split() {
        let dpop = SingleUseKey::dpop_proof("ab", "c").ok();
        assert!(dpop.is_some());
        assert_ne!(dpop, SingleUseKey::dpop_proof("a", "bc").ok());
        assert_ne!(
            SingleUseKey::dpop_proof("t", "x").map(|k| *k.digest()).ok(),
            SingleUseKey::dbsc_challenge("x").map(|k| *k.digest()).ok()
        );
        assert_eq!(dpop, SingleUseKey::dpop_proof("ab", "c").ok());
    }

    #[test]
    fn material_must_be_present_and_bounded() {
        let longest = "j".repeat(MAX_MATERIAL_BYTES);
        assert!(SingleUseKey::dpop_proof("t", &longest).is_ok());
        let too_long = "j".repeat(MAX_MATERIAL_BYTES + 1);
        assert_eq!(
            SingleUseKey::dpop_proof("t", &too_long),
            Err(BadKeyMaterial)
        );
        assert_eq!(SingleUseKey::dpop_proof("", "j"), Err(BadKeyMaterial));
        assert_eq!(SingleUseKey::dbsc_challenge(""), Err(BadKeyMaterial));
    }

    #[test]
    fn the_stored_name_is_the_namespace_and_the_hex_digest_and_debug_hides_the_digest() {
        let Ok(key) = SingleUseKey::dbsc_challenge("challenge") else {
            panic!("a valid challenge");
        };
        let name = key.stored_name();
        assert_eq!(name.len(), 69);
        assert!(name.starts_with("dbsc:"));
        assert!(name[5..].bytes().all(|b| HEX.contains(&b)));
        assert_eq!(format!("{key:?}"), "SingleUseKey(dbsc:..)");
    }
}
