//! Revocation facts held in memory: token versions and the session, jti and retired-key
//! denylists, merged so that they only ever tighten. Both tiers keep one per process: the
//! embedded tier as its revocation cache, the production tier as the copy it verifies from.

use crate::ids::{SessionId, UserId};
use crate::revocation::{RevocationChange, RevocationProbe, RevocationState};
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// How long a lapsed denial is kept before it is forgotten. Whether a denial still refuses is
/// judged at each check with that check's clock; forgetting it is for memory's sake only, so it
/// waits long enough that a wall clock stepped back (an NTP correction, a VM restored from a
/// snapshot) finds the denial still there.
pub const KEPT_AFTER_LAPSE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Every revocation fact merged so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RevocationFacts {
    versions: HashMap<UserId, i64>,
    sessions: HashMap<SessionId, OffsetDateTime>,
    jtis: HashMap<Uuid, OffsetDateTime>,
    retired_keys: HashMap<Uuid, OffsetDateTime>,
}

impl RevocationFacts {
    /// Merges one fact. Versions only rise and denials only lengthen, so merging the same facts
    /// in any order, any number of times, gives the same result: a late or repeated change can
    /// never un-revoke.
    pub fn apply(&mut self, change: &RevocationChange) {
        fn raise<K: std::hash::Hash + Eq, V: Ord + Copy>(
            map: &mut HashMap<K, V>,
            key: K,
            value: V,
        ) {
            let entry = map.entry(key).or_insert(value);
            *entry = (*entry).max(value);
        }
        match *change {
            RevocationChange::TokenVersion { user, version } => {
                raise(&mut self.versions, user, version);
            }
            RevocationChange::SessionDenied { session, until } => {
                raise(&mut self.sessions, session, until);
            }
            RevocationChange::JtiDenied { jti, until } => raise(&mut self.jtis, jti, until),
            RevocationChange::KeyRetired { kid, until } => {
                raise(&mut self.retired_keys, kid, until);
            }
        }
    }

    /// What is known about `probe` at `now`. A user never revoked has the initial version 0.
    pub fn state(&self, probe: &RevocationProbe, now: OffsetDateTime) -> RevocationState {
        let denied = |until: Option<&OffsetDateTime>| until.is_some_and(|until| *until > now);
        RevocationState {
            token_version: self.versions.get(&probe.user).copied().unwrap_or(0),
            session_revoked: denied(self.sessions.get(&probe.session)),
            jti_denied: denied(self.jtis.get(&probe.jti)),
            key_retired: denied(self.retired_keys.get(&probe.kid)),
        }
    }

    /// Drops denylist entries that lapsed more than [`KEPT_AFTER_LAPSE`] before `now`; they can
    /// no longer refuse anything, even if the clock that read `now` was ahead and is stepped
    /// back by less than that.
    pub fn forget_expired(&mut self, now: OffsetDateTime) {
        let Some(horizon) =
            now.checked_sub(KEPT_AFTER_LAPSE.try_into().unwrap_or(time::Duration::ZERO))
        else {
            return;
        };
        self.sessions.retain(|_, until| *until > horizon);
        self.jtis.retain(|_, until| *until > horizon);
        self.retired_keys.retain(|_, until| *until > horizon);
    }

    /// How many facts are held.
    pub fn len(&self) -> usize {
        self.versions.len() + self.sessions.len() + self.jtis.len() + self.retired_keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    const NOW: OffsetDateTime = time::macros::datetime!(2026-06-01 00:00 UTC);

    fn change(kind: u8, subject: u8, value: u16) -> RevocationChange {
        let id = Uuid::from_u128(u128::from(subject % 4));
        let until = NOW + Duration::from_secs(u64::from(value));
        match kind % 4 {
            0 => RevocationChange::TokenVersion {
                user: UserId(id),
                version: i64::from(value),
            },
            1 => RevocationChange::SessionDenied {
                session: SessionId(id),
                until,
            },
            2 => RevocationChange::JtiDenied { jti: id, until },
            _ => RevocationChange::KeyRetired { kid: id, until },
        }
    }

    fn changes() -> impl Strategy<Value = Vec<RevocationChange>> {
        proptest::collection::vec(
            (any::<u8>(), any::<u8>(), any::<u16>()).prop_map(|(k, s, v)| change(k, s, v)),
            0..40,
        )
    }

    fn merged(changes: &[RevocationChange]) -> RevocationFacts {
        let mut facts = RevocationFacts::default();
        changes.iter().for_each(|change| facts.apply(change));
        facts
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Order and repetition do not matter: a replica that hears facts late, twice, or in
        /// another order than its neighbour ends up with the same state.
        #[test]
        fn merging_is_order_and_repeat_insensitive(changes in changes(), seed in any::<u64>()) {
            let mut shuffled = changes.clone();
            let len = shuffled.len().max(1);
            for i in 0..shuffled.len() {
                let j = usize::try_from(seed.rotate_left(u32::try_from(i % 64).unwrap_or(0)))
                    .unwrap_or(0) % len;
                shuffled.swap(i, j);
            }
            shuffled.extend(changes.iter().take(5).copied());
            prop_assert_eq!(merged(&changes), merged(&shuffled));
        }

        /// Merging more facts never accepts a token the fewer facts refused.
        #[test]
        fn more_facts_never_loosen(before in changes(), after in changes(), subject in 0u8..4) {
            let id = Uuid::from_u128(u128::from(subject));
            let probe = RevocationProbe {
                user: UserId(id),
                session: SessionId(id),
                jti: id,
                kid: id,
            };
            let fewer = merged(&before).state(&probe, NOW);
            let all: Vec<_> = before.iter().chain(after.iter()).copied().collect();
            let more = merged(&all).state(&probe, NOW);
            prop_assert!(more.token_version >= fewer.token_version);
            prop_assert!(more.session_revoked >= fewer.session_revoked);
            prop_assert!(more.jti_denied >= fewer.jti_denied);
            prop_assert!(more.key_retired >= fewer.key_retired);
        }
    }

    /// A replica whose clock ran ahead (a wrong clock, a VM resumed from an old snapshot) and
    /// is then stepped back by NTP: while ahead, the log tick's `forget_expired` drops denials
    /// whose tokens are, by the corrected clock, still valid; afterwards the memory accepts them
    /// until the next resynchronisation. Redis (expiry by its own clock) and Postgres (asked
    /// afresh each time) would still refuse them.
    #[test]
    fn a_clock_stepped_forward_and_back_does_not_forget_a_denial() {
        let id = Uuid::from_u128(1);
        let probe = RevocationProbe {
            user: UserId(id),
            session: SessionId(id),
            jti: id,
            kid: id,
        };
        let mut facts = merged(&[RevocationChange::SessionDenied {
            session: SessionId(id),
            until: NOW + Duration::from_secs(600),
        }]);
        facts.forget_expired(NOW + Duration::from_secs(1_200));
        assert!(facts.state(&probe, NOW).session_revoked);
    }

    #[test]
    fn denials_lapse_at_their_end_and_versions_stay() {
        let id = Uuid::from_u128(1);
        let probe = RevocationProbe {
            user: UserId(id),
            session: SessionId(id),
            jti: id,
            kid: id,
        };
        let later = NOW + Duration::from_secs(60);
        let mut facts = merged(&[
            RevocationChange::TokenVersion {
                user: UserId(id),
                version: 2,
            },
            RevocationChange::SessionDenied {
                session: SessionId(id),
                until: later,
            },
        ]);
        assert!(facts.state(&probe, NOW).session_revoked);
        assert!(!facts.state(&probe, later).session_revoked);
        facts.forget_expired(later);
        assert_eq!(facts.len(), 2, "kept a while after it lapsed");
        facts.forget_expired(later + KEPT_AFTER_LAPSE);
        assert_eq!(facts.len(), 1);
        assert_eq!(facts.state(&probe, later).token_version, 2);
    }
}
