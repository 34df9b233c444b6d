//! The signing keys one replica holds in memory: every stored key that is not retired, opened
//! once, with the times that decide its state. Which key signs, which keys verify and what the
//! JWKS lists are answered for the moment of the request (by `portcullis_core::signing_key`'s
//! rules), so a key activates or retires on time between two reloads of the ring.

use crate::secret::KeyEncryptionKey;
use crate::signing_keys::{open_private_key, public_jwk, Jwk, Jwks, KeyError, SigningAlg};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use portcullis_core::signing_key::{statuses, KeyState};
use portcullis_core::StoredSigningKey;
use std::str::FromStr;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// A key the ring can sign with: the private half, opened.
pub(crate) struct SigningKey {
    pub kid: String,
    pub algorithm: Algorithm,
    pub key: EncodingKey,
    pub created_at: OffsetDateTime,
}

/// A public key the ring can verify with, and when it may.
pub(crate) struct VerifyingKey {
    pub kid: String,
    /// The kid as the revocation checks know it (every kid Portcullis makes is a UUID).
    pub id: Uuid,
    pub algorithm: Algorithm,
    pub key: DecodingKey,
    jwk: Jwk,
    activates_at: OffsetDateTime,
    /// When it leaves the JWKS and stops verifying, once known.
    retires_at: Option<OffsetDateTime>,
}

impl VerifyingKey {
    /// Whether a token it signed may be accepted at `now`: it is active or retiring.
    pub fn accepts_at(&self, now: OffsetDateTime) -> bool {
        self.activates_at <= now && self.retires_at.is_none_or(|retires_at| now < retires_at)
    }

    fn published_at(&self, now: OffsetDateTime) -> bool {
        self.retires_at.is_none_or(|retires_at| now < retires_at)
    }
}

/// The keys of one replica, as read from the durable store at one moment.
pub(crate) struct KeyRing {
    /// The configured algorithm's keys that have signed or will, latest to take over first.
    signers: Vec<(OffsetDateTime, SigningKey)>,
    verifying: Vec<VerifyingKey>,
}

impl KeyRing {
    /// Builds the ring from `stored` (every key, newest first) as it stands at `now`, for a
    /// gateway that signs with `alg` and accepts a token for `token_lifetime` after it was
    /// signed. Fails when `alg` has no key that signs now: the gateway must not start without.
    pub fn build(
        stored: &[StoredSigningKey],
        alg: SigningAlg,
        kek: &KeyEncryptionKey,
        now: OffsetDateTime,
        token_lifetime: Duration,
    ) -> Result<Self, KeyError> {
        let mut signers = Vec::new();
        let mut verifying = Vec::new();
        // When each key retires is known once every key already made has activated; the state
        // now decides what the ring holds at all.
        let horizon = stored
            .iter()
            .map(|key| key.activates_at)
            .fold(now, OffsetDateTime::max);
        let later = statuses(stored, horizon, token_lifetime);
        for ((key, status), later) in stored
            .iter()
            .zip(statuses(stored, now, token_lifetime))
            .zip(later)
        {
            if status.state == KeyState::Retired {
                continue;
            }
            let (Ok(key_alg), Ok(id)) = (SigningAlg::from_str(&key.alg), Uuid::parse_str(&key.kid))
            else {
                continue;
            };
            let (decoding, jwk) = public_jwk(key_alg, &key.kid, &key.public_key)?;
            if key_alg == alg && matches!(status.state, KeyState::Next | KeyState::Active) {
                signers.push((key.activates_at, open_signer(key, key_alg, kek)?));
            }
            verifying.push(VerifyingKey {
                kid: key.kid.clone(),
                id,
                algorithm: key_alg.jwt_algorithm(),
                key: decoding,
                jwk,
                activates_at: key.activates_at,
                retires_at: later.retires_at,
            });
        }
        signers.sort_by_key(|(activates_at, _)| std::cmp::Reverse(*activates_at));
        let ring = Self { signers, verifying };
        if ring.signer(now).is_none() {
            return Err(KeyError::NoneStored(alg.as_str()));
        }
        Ok(ring)
    }

    /// The key that signs at `now`: the latest of the configured algorithm to have activated.
    pub fn signer(&self, now: OffsetDateTime) -> Option<&SigningKey> {
        self.signers
            .iter()
            .find(|(activates_at, _)| *activates_at <= now)
            .map(|(_, key)| key)
    }

    /// The key `kid` names, if the ring holds it (whether it may verify now is
    /// [`VerifyingKey::accepts_at`]'s to say).
    pub fn verifying(&self, kid: &str) -> Option<&VerifyingKey> {
        self.verifying.iter().find(|key| key.kid == kid)
    }

    /// The JWKS at `now`: every key that is next, active or retiring.
    pub fn jwks(&self, now: OffsetDateTime) -> Jwks {
        Jwks {
            keys: self
                .verifying
                .iter()
                .filter(|key| key.published_at(now))
                .map(|key| key.jwk.clone())
                .collect(),
        }
    }
}

fn open_signer(
    key: &StoredSigningKey,
    alg: SigningAlg,
    kek: &KeyEncryptionKey,
) -> Result<SigningKey, KeyError> {
    let pkcs8 = open_private_key(kek, &key.kid, &key.encrypted_private_key)?;
    Ok(SigningKey {
        kid: key.kid.clone(),
        algorithm: alg.jwt_algorithm(),
        key: match alg {
            SigningAlg::EdDSA => EncodingKey::from_ed_der(&pkcs8),
            SigningAlg::ES256 => EncodingKey::from_ec_der(&pkcs8),
        },
        created_at: key.created_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing_keys::generate;

    const LIFETIME: Duration = Duration::from_secs(100);

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(seconds)
    }

    fn key_at(kek: &KeyEncryptionKey, created: i64, activates: i64) -> StoredSigningKey {
        let mut key = generate(SigningAlg::EdDSA, kek).expect("test setup");
        key.created_at = at(created);
        key.activates_at = at(activates);
        key
    }

    fn kids(jwks: &Jwks) -> Vec<&str> {
        jwks.keys.iter().map(|jwk| &*jwk.kid).collect()
    }

    #[test]
    fn the_ring_answers_for_the_moment_it_is_asked() {
        let kek = KeyEncryptionKey::generate().expect("test setup");
        let (old, new) = (key_at(&kek, 0, 0), key_at(&kek, 50, 60));
        let stored = [new.clone(), old.clone()];
        let ring =
            KeyRing::build(&stored, SigningAlg::EdDSA, &kek, at(55), LIFETIME).expect("ring");
        // Before the new key activates: published, not signing, not verifying.
        assert_eq!(ring.signer(at(55)).map(|k| &*k.kid), Some(&*old.kid));
        assert_eq!(kids(&ring.jwks(at(55))), [&*new.kid, &*old.kid]);
        assert!(!ring.verifying(&new.kid).expect("held").accepts_at(at(55)));
        // Once it has: it signs, and the old key verifies until its tokens have expired.
        assert_eq!(ring.signer(at(60)).map(|k| &*k.kid), Some(&*new.kid));
        assert!(ring.verifying(&new.kid).expect("held").accepts_at(at(60)));
        let retiring = ring.verifying(&old.kid).expect("held");
        assert!(retiring.accepts_at(at(159)));
        assert!(!retiring.accepts_at(at(160)));
        assert_eq!(kids(&ring.jwks(at(160))), [&*new.kid]);
    }

    #[test]
    fn a_retired_key_is_neither_published_nor_held() {
        let kek = KeyEncryptionKey::generate().expect("test setup");
        let (old, new) = (key_at(&kek, 0, 0), key_at(&kek, 50, 50));
        let mut retired = old.clone();
        retired.retired_at = Some(at(70));
        let ring = KeyRing::build(
            &[new.clone(), retired],
            SigningAlg::EdDSA,
            &kek,
            at(80),
            LIFETIME,
        )
        .expect("ring");
        assert!(ring.verifying(&old.kid).is_none());
        assert_eq!(kids(&ring.jwks(at(80))), [&*new.kid]);
    }

    #[test]
    fn a_ring_without_a_signing_key_is_refused() {
        let kek = KeyEncryptionKey::generate().expect("test setup");
        let pending = key_at(&kek, 0, 60);
        assert!(KeyRing::build(&[pending], SigningAlg::EdDSA, &kek, at(10), LIFETIME).is_err());
    }
}
