//! The signing-key lifecycle: which state a stored key is in at a given moment, derived from its
//! timestamps alone (so every replica, and the command line, agrees without a scheduler), and
//! the rules for retiring a key and for when a scheduled rotation is due.
//!
//! | state      | published in the JWKS | signs | tokens it signed are accepted |
//! |------------|-----------------------|-------|-------------------------------|
//! | `next`     | yes                   | no    | (it has signed none)          |
//! | `active`   | yes                   | yes   | yes                           |
//! | `retiring` | yes                   | no    | yes, until they have expired  |
//! | `retired`  | no                    | no    | no                            |
//!
//! A key is `next` until its `activates_at`; from then on the newest activated key of its
//! algorithm is `active`; an older one is `retiring` for one token lifetime (access TTL plus
//! leeway) after a newer one activated, then `retired`. An operator may retire any key but the
//! active one at once (`retired_at`).

use std::time::Duration;
use time::OffsetDateTime;

/// A signing key as stored: the private half encrypted under the key-encryption key.
#[derive(Clone)]
pub struct StoredSigningKey {
    pub kid: String,
    pub alg: String,
    pub public_key: Vec<u8>,
    pub encrypted_private_key: Vec<u8>,
    pub created_at: OffsetDateTime,
    /// When it starts signing (and its predecessor starts retiring).
    pub activates_at: OffsetDateTime,
    /// When an operator retired it, if one did.
    pub retired_at: Option<OffsetDateTime>,
}

// Hand-written so the (encrypted) private key never reaches a log.
impl std::fmt::Debug for StoredSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("created_at", &self.created_at)
            .field("activates_at", &self.activates_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

/// Where a key is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyState {
    Next,
    Active,
    Retiring,
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Active => "active",
            Self::Retiring => "retiring",
            Self::Retired => "retired",
        }
    }

    /// Whether the key is in the JWKS; also whether tokens it signed may be accepted.
    pub fn is_published(self) -> bool {
        !matches!(self, Self::Retired)
    }

    /// Whether tokens signed with the key may be accepted.
    pub fn accepts_tokens(self) -> bool {
        matches!(self, Self::Active | Self::Retiring)
    }
}

/// A key's state at one moment, and when it leaves the JWKS (known once a newer key has
/// activated, or it was retired).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyStatus {
    pub state: KeyState,
    pub retires_at: Option<OffsetDateTime>,
}

/// Orders keys of one algorithm by when they took over: activation, then creation, then kid.
fn succession(key: &StoredSigningKey) -> (OffsetDateTime, OffsetDateTime, &str) {
    (key.activates_at, key.created_at, &key.kid)
}

/// Whether `key` has signed by `now`: it activated, and was not retired before it could.
fn took_over(key: &StoredSigningKey, now: OffsetDateTime) -> bool {
    key.activates_at <= now
        && key
            .retired_at
            .is_none_or(|retired_at| retired_at > key.activates_at)
}

/// The status of every key in `keys` at `now` (same order). `token_lifetime` is how long a
/// token may be accepted after it was signed: the access TTL plus the leeway.
pub fn statuses(
    keys: &[StoredSigningKey],
    now: OffsetDateTime,
    token_lifetime: Duration,
) -> Vec<KeyStatus> {
    keys.iter()
        .map(|key| status(keys, key, now, token_lifetime))
        .collect()
}

fn status(
    keys: &[StoredSigningKey],
    key: &StoredSigningKey,
    now: OffsetDateTime,
    token_lifetime: Duration,
) -> KeyStatus {
    if let Some(retired_at) = key.retired_at {
        return KeyStatus {
            state: KeyState::Retired,
            retires_at: Some(retired_at),
        };
    }
    if key.activates_at > now {
        return KeyStatus {
            state: KeyState::Next,
            retires_at: None,
        };
    }
    // The first key of the same algorithm to take over after this one, by now.
    let superseded_at = keys
        .iter()
        .filter(|other| other.alg == key.alg && took_over(other, now))
        .filter(|other| succession(other) > succession(key))
        .map(|other| other.activates_at)
        .min();
    match superseded_at {
        None => KeyStatus {
            state: KeyState::Active,
            retires_at: None,
        },
        Some(superseded_at) => {
            let retires_at = superseded_at + token_lifetime;
            KeyStatus {
                state: if now < retires_at {
                    KeyState::Retiring
                } else {
                    KeyState::Retired
                },
                retires_at: Some(retires_at),
            }
        }
    }
}

/// The key of `alg` that signs at `now`, if any.
pub fn active_key<'a>(
    keys: &'a [StoredSigningKey],
    alg: &str,
    now: OffsetDateTime,
) -> Option<&'a StoredSigningKey> {
    keys.iter().find(|key| {
        key.alg == alg && status(keys, key, now, Duration::ZERO).state == KeyState::Active
    })
}

/// Why a key cannot be retired.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RetireRefused {
    #[error("no signing key has kid {0:?}")]
    NotFound(String),
    #[error("signing key {0} is retired already")]
    AlreadyRetired(String),
    #[error("signing key {0} is the active key: rotate to a new key first (`keys rotate --now`)")]
    Active(String),
}

/// Whether the key `kid` may be retired at `now`: any key but the active one may (retiring the
/// active key would leave nothing to sign with).
pub fn may_retire(
    keys: &[StoredSigningKey],
    kid: &str,
    now: OffsetDateTime,
    token_lifetime: Duration,
) -> Result<(), RetireRefused> {
    let key = keys
        .iter()
        .find(|key| key.kid == kid)
        .ok_or_else(|| RetireRefused::NotFound(kid.to_owned()))?;
    match status(keys, key, now, token_lifetime).state {
        KeyState::Active => Err(RetireRefused::Active(kid.to_owned())),
        KeyState::Retired => Err(RetireRefused::AlreadyRetired(kid.to_owned())),
        KeyState::Next | KeyState::Retiring => Ok(()),
    }
}

/// Whether a scheduled rotation of `alg` is due at `now`: no key of that algorithm was created
/// within the last `period` (a key still waiting as `next` counts, so a rotation is never
/// stacked on one in flight). A zero period disables scheduled rotation.
pub fn rotation_due(
    keys: &[StoredSigningKey],
    alg: &str,
    now: OffsetDateTime,
    period: Duration,
) -> bool {
    !period.is_zero() && !created_since(keys, alg, now - period + time::Duration::nanoseconds(1))
}

/// Whether a key of `alg` was created at or after `since`.
pub fn created_since(keys: &[StoredSigningKey], alg: &str, since: OffsetDateTime) -> bool {
    keys.iter()
        .any(|key| key.alg == alg && key.created_at >= since)
}

#[cfg(test)]
mod tests;
