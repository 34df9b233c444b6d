//! The key layout under one prefix. Every key this crate touches is built here, so the layout
//! is documented once and no key can escape the prefix.
//!
//! | key                        | value                  | expiry                     |
//! |----------------------------|------------------------|----------------------------|
//! | `{prefix}ver:{user}`       | token version          | none                       |
//! | `{prefix}sid:{session}`    | deny-until, Unix ms    | at deny-until              |
//! | `{prefix}jti:{jti}`        | deny-until, Unix ms    | at deny-until              |
//! | `{prefix}kid:{kid}`        | deny-until, Unix ms    | at deny-until (a retired signing key) |
//! | `{prefix}loaded`           | epoch of the last load | none                       |
//! | `{prefix}throttle:{key}`   | hash: `n` attempts, `r` refusal recorded | at the window's end |
//! | `{prefix}once:{namespace}:{hex}` | until, Unix ms (a single-use key, hashed) | at until |
//! | `{prefix}loading:{epoch}`  | sentinel of one load   | [`LOAD_SENTINEL_TTL_MS`]   |
//! | `{prefix}stream:generation` | the revocation stream's generation | none            |
//! | `{prefix}stream:epoch`     | its last announced epoch | none                     |
//!
//! | shard channel                 | carries                                             |
//! |-------------------------------|-----------------------------------------------------|
//! | `{prefix}stream`              | every announcement (see `wire`)                     |
//! | `{prefix}stream:acks:{replica}` | acknowledgements of that replica's announcements  |

use portcullis_core::{RevocationProbe, SessionId, SingleUseKey, UserId};
use uuid::Uuid;

/// How long a load's sentinel may outlive a crashed loader.
pub(crate) const LOAD_SENTINEL_TTL_MS: u64 = 10 * 60 * 1000;

#[derive(Clone, Debug)]
pub(crate) struct KeyLayout {
    prefix: String,
}

impl KeyLayout {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    pub fn version(&self, user: UserId) -> String {
        format!("{}ver:{}", self.prefix, user.0)
    }

    pub fn session(&self, session: SessionId) -> String {
        format!("{}sid:{}", self.prefix, session.0)
    }

    pub fn jti(&self, jti: Uuid) -> String {
        format!("{}jti:{}", self.prefix, jti)
    }

    pub fn retired_key(&self, kid: Uuid) -> String {
        format!("{}kid:{}", self.prefix, kid.simple())
    }

    /// A login-attempt counter (see `portcullis_core::throttle` for the key names). Named apart
    /// from the string counters of earlier versions (`attempts:`), which a hash cannot reuse.
    pub fn attempts(&self, key: &str) -> String {
        format!("{}throttle:{key}", self.prefix)
    }

    /// A single-use key (see `portcullis_core::single_use`): only its digest, so a client's
    /// `jti` never becomes part of a key name.
    pub fn single_use(&self, key: &SingleUseKey) -> String {
        format!("{}once:{}", self.prefix, key.stored_name())
    }

    /// Present only while the cache vouches for its contents: written last by a complete load,
    /// gone when Redis loses its data.
    pub fn loaded(&self) -> String {
        format!("{}loaded", self.prefix)
    }

    /// Written first by a load; if it is gone when the load finishes, Redis lost data meanwhile.
    pub fn loading(&self, epoch: &str) -> String {
        format!("{}loading:{epoch}", self.prefix)
    }

    /// The revocation stream's generation (see `portcullis_core::revocation_stream`).
    pub fn stream_generation(&self) -> String {
        format!("{}stream:generation", self.prefix)
    }

    /// The revocation stream's last epoch.
    pub fn stream_epoch(&self) -> String {
        format!("{}stream:epoch", self.prefix)
    }

    /// The channel of announcements.
    pub fn announcements(&self) -> String {
        format!("{}stream", self.prefix)
    }

    /// The channel of acknowledgements addressed to `replica`.
    pub fn acknowledgements(&self, replica: &str) -> String {
        format!("{}stream:acks:{replica}", self.prefix)
    }

    /// The five keys `state` reads, marker first, in the order [`crate::RedisRevocationCache`]
    /// expects them back.
    pub fn probe(&self, probe: &RevocationProbe) -> [String; 5] {
        [
            self.loaded(),
            self.version(probe.user),
            self.session(probe.session),
            self.jti(probe.jti),
            self.retired_key(probe.kid),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_lives_under_the_prefix() {
        let keys = KeyLayout::new("{pc}:");
        let probe = RevocationProbe {
            user: UserId::new(),
            session: SessionId::new(),
            jti: Uuid::new_v4(),
            kid: Uuid::new_v4(),
        };
        let mut all = keys.probe(&probe).to_vec();
        all.extend([
            keys.loading("e"),
            keys.stream_generation(),
            keys.stream_epoch(),
            keys.announcements(),
            keys.acknowledgements("r"),
            keys.single_use(&SingleUseKey::dbsc_challenge("c").expect("a valid challenge")),
        ]);
        assert!(all.iter().all(|key| key.starts_with("{pc}:")), "{all:?}");
        assert_eq!(
            keys.version(probe.user),
            format!("{{pc}}:ver:{}", probe.user)
        );
    }
}
