//! How long stored rows are kept: the pure rule behind the retention pass.
//!
//! Given the settings and `now`, [`cutoffs`] says before which instants each kind of row may
//! be deleted; the `may_go` methods state the rule for one row, and each backend's deletes
//! mirror them in SQL. The rule must never let a delete change a decision: a row goes only
//! when every answer it could still give is the answer its absence gives (or, for revoked
//! sessions, once the admin listing no longer promises to show it). No I/O, no clock here.

use std::time::Duration;
use time::OffsetDateTime;

/// How long the admin session listing shows a revoked session, and so the least time a
/// revoked family is kept.
pub const REVOKED_SESSIONS_LISTED: Duration = Duration::from_secs(30 * 86_400);

/// How long the revocation log (see [`crate::revocation_log`]) keeps an entry. Replicas read it
/// every second; one whose last merged entry is older than this (it was cut off, or stopped)
/// finds the entries it needs purged and starts over from a snapshot, which holds every fact
/// still in force, so deleting an entry never changes a decision.
pub const REVOCATION_LOG_KEPT: Duration = Duration::from_secs(3600);

/// The settings the cut-offs depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub access_ttl: Duration,
    pub reuse_grace: Duration,
    /// Clock-skew allowance: verification accepts a token up to `exp + leeway`, and replicas'
    /// clocks may disagree by as much, so every expiry-based cut-off waits one leeway more.
    pub leeway: Duration,
    /// How long security events are kept; `None` keeps them forever.
    pub event_retention: Option<Duration>,
}

/// The instants before which rows may go, for one pass at one `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cutoffs {
    /// A family whose end (the earlier of its idle and absolute expiry) is before this can no
    /// longer issue anything, and no access token it issued is still accepted.
    pub family_ended_before: OffsetDateTime,
    /// A revoked family must also have been revoked before this (the listing's promise)...
    pub revoked_before: OffsetDateTime,
    /// ... and its access tokens' denial must have lapsed before this.
    pub denial_lapsed_before: OffsetDateTime,
    /// A denylisted jti whose entry (already `exp + leeway`) lapsed before this.
    pub jti_lapsed_before: OffsetDateTime,
    /// Security events recorded before this; `None` keeps every event.
    pub events_before: Option<OffsetDateTime>,
    /// Revocation log entries written before this (by the database's clock, which the
    /// replicas' agree with to within far less than [`REVOCATION_LOG_KEPT`]).
    pub revocation_log_before: OffsetDateTime,
}

/// What a backend knows about a family, as far as retention is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FamilyFacts {
    pub idle_expires_at: OffsetDateTime,
    pub absolute_expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub deny_until: Option<OffsetDateTime>,
}

/// `now - span`, or the Unix epoch (before any stored row) when that is not representable:
/// a cut-off that cannot be computed deletes nothing.
fn before(now: OffsetDateTime, span: Duration) -> OffsetDateTime {
    time::Duration::try_from(span)
        .ok()
        .and_then(|span| now.checked_sub(span))
        .filter(|at| *at > OffsetDateTime::UNIX_EPOCH)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The cut-offs of a pass run at `now`.
pub fn cutoffs(policy: &RetentionPolicy, now: OffsetDateTime) -> Cutoffs {
    // After its end a family issues nothing more except a replay within the grace window of
    // its last rotation (which happened before the end); what that issued is accepted for an
    // access lifetime plus leeway; one more leeway covers replicas' clocks disagreeing.
    let family_span = policy
        .reuse_grace
        .saturating_add(policy.access_ttl)
        .saturating_add(policy.leeway)
        .saturating_add(policy.leeway);
    Cutoffs {
        family_ended_before: before(now, family_span),
        revoked_before: before(now, REVOKED_SESSIONS_LISTED),
        denial_lapsed_before: before(now, policy.leeway),
        jti_lapsed_before: before(now, policy.leeway),
        events_before: policy
            .event_retention
            .filter(|keep| !keep.is_zero())
            .map(|keep| before(now, keep)),
        revocation_log_before: before(now, REVOCATION_LOG_KEPT),
    }
}

impl Cutoffs {
    /// Whether a family, and every refresh token in it, may be deleted.
    ///
    /// A live family keeps all its tokens, the rotated-away ones included: a replayed old token
    /// must still be recognised as reuse and revoke the family. Only once the family has ended
    /// can its tokens merely be "unknown", which answers `invalid_refresh_token` exactly as an
    /// expired token does. A revoked family answers `session_revoked` until it goes, so it
    /// stays while the admin listing promises it and while its access tokens are denied.
    pub fn family_may_go(&self, family: &FamilyFacts) -> bool {
        let end = family.idle_expires_at.min(family.absolute_expires_at);
        if end >= self.family_ended_before {
            return false;
        }
        match family.revoked_at {
            None => true,
            Some(revoked_at) => {
                revoked_at < self.revoked_before
                    && family
                        .deny_until
                        .is_none_or(|until| until < self.denial_lapsed_before)
            }
        }
    }

    /// Whether a jti denylist entry lapsing at `expires_at` may be deleted.
    pub fn jti_may_go(&self, expires_at: OffsetDateTime) -> bool {
        expires_at < self.jti_lapsed_before
    }

    /// Whether a single-use key remembered until `until` may be deleted: past it the key counts
    /// as unused anyway; the jti cut-off's leeway covers clocks that disagree.
    pub fn single_use_may_go(&self, until: OffsetDateTime) -> bool {
        until < self.jti_lapsed_before
    }

    /// Whether the tombstone of an erased account (see [`crate::account::Erasure`]), denying
    /// its access tokens until `deny_until`, may be deleted: by then every one has expired.
    pub fn erased_user_may_go(&self, deny_until: OffsetDateTime) -> bool {
        deny_until < self.denial_lapsed_before
    }

    /// Whether a security event recorded at `at` may be deleted.
    pub fn event_may_go(&self, at: OffsetDateTime) -> bool {
        self.events_before.is_some_and(|before| at < before)
    }

    /// Whether a revocation log entry written at `logged_at` may be deleted.
    pub fn log_entry_may_go(&self, logged_at: OffsetDateTime) -> bool {
        logged_at < self.revocation_log_before
    }
}

/// How many rows one pass deleted, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub refresh_tokens: u64,
    pub families: u64,
    pub denied_jtis: u64,
    /// Tombstones of erased accounts.
    pub erased_users: u64,
    pub events: u64,
    /// Entries of the revocation log.
    pub revocation_log: u64,
    /// Lapsed single-use keys ([`crate::single_use`]) where the durable store keeps them (the
    /// embedded tier; Redis drops its own at their until).
    pub single_uses: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rotation::{
        decide, Decision, FamilyState, RotationPolicy, SuccessorState, TokenState,
    };
    use crate::TokenHash;
    use proptest::prelude::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-06-01 00:00 UTC);
    const DAY: u64 = 86_400;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn policy() -> RetentionPolicy {
        RetentionPolicy {
            access_ttl: secs(900),
            reuse_grace: secs(10),
            leeway: secs(10),
            event_retention: Some(secs(90 * DAY)),
        }
    }

    #[test]
    fn cutoffs_table() {
        let cut = cutoffs(&policy(), NOW);
        let cases: Vec<(&str, OffsetDateTime, OffsetDateTime)> = vec![
            (
                "families wait grace + access lifetime + two leeways past their end",
                cut.family_ended_before,
                NOW - secs(10 + 900 + 10 + 10),
            ),
            (
                "revoked families wait out the 30-day listing",
                cut.revoked_before,
                NOW - secs(30 * DAY),
            ),
            (
                "session denial waits one leeway past its end",
                cut.denial_lapsed_before,
                NOW - secs(10),
            ),
            (
                "jti entries (exp + leeway) wait one more leeway",
                cut.jti_lapsed_before,
                NOW - secs(10),
            ),
            (
                "revocation log entries are kept an hour, whatever the settings",
                cut.revocation_log_before,
                NOW - secs(3600),
            ),
        ];
        for (name, got, expected) in cases {
            assert_eq!(got, expected, "{name}");
        }
        assert_eq!(cut.events_before, Some(NOW - secs(90 * DAY)));
    }

    #[test]
    fn zero_or_no_event_retention_keeps_every_event() {
        for keep in [None, Some(Duration::ZERO)] {
            let cut = cutoffs(
                &RetentionPolicy {
                    event_retention: keep,
                    ..policy()
                },
                NOW,
            );
            assert_eq!(cut.events_before, None, "{keep:?}");
            assert!(!cut.event_may_go(OffsetDateTime::UNIX_EPOCH));
        }
    }

    #[test]
    fn a_span_longer_than_time_itself_deletes_nothing() {
        let cut = cutoffs(
            &RetentionPolicy {
                access_ttl: Duration::MAX,
                event_retention: Some(Duration::MAX),
                ..policy()
            },
            NOW,
        );
        assert_eq!(cut.family_ended_before, OffsetDateTime::UNIX_EPOCH);
        assert_eq!(cut.events_before, Some(OffsetDateTime::UNIX_EPOCH));
    }

    #[test]
    fn family_table() {
        let cut = cutoffs(&policy(), NOW);
        let long_ago = NOW - secs(60 * DAY);
        let ended = FamilyFacts {
            idle_expires_at: long_ago,
            absolute_expires_at: long_ago + secs(20 * DAY),
            revoked_at: None,
            deny_until: None,
        };
        let cases: Vec<(&str, FamilyFacts, bool)> = vec![
            ("a family idle-expired long ago goes", ended, true),
            (
                "a live family stays",
                FamilyFacts {
                    idle_expires_at: NOW + secs(DAY),
                    absolute_expires_at: NOW + secs(9 * DAY),
                    ..ended
                },
                false,
            ),
            (
                "a family past its absolute expiry goes even if its idle expiry is later",
                FamilyFacts {
                    idle_expires_at: NOW + secs(DAY),
                    absolute_expires_at: long_ago,
                    ..ended
                },
                true,
            ),
            (
                "a family that ended a moment ago stays while its access tokens may live",
                FamilyFacts {
                    idle_expires_at: NOW - secs(60),
                    absolute_expires_at: NOW + secs(DAY),
                    ..ended
                },
                false,
            ),
            (
                "a family revoked within the listed 30 days stays",
                FamilyFacts {
                    revoked_at: Some(NOW - secs(29 * DAY)),
                    deny_until: Some(NOW - secs(29 * DAY) + secs(910)),
                    ..ended
                },
                false,
            ),
            (
                "a family revoked 31 days ago, long ended, goes",
                FamilyFacts {
                    revoked_at: Some(NOW - secs(31 * DAY)),
                    deny_until: Some(NOW - secs(31 * DAY) + secs(910)),
                    ..ended
                },
                true,
            ),
            (
                "a family revoked long ago whose denial still runs stays",
                FamilyFacts {
                    revoked_at: Some(NOW - secs(31 * DAY)),
                    deny_until: Some(NOW + secs(60)),
                    ..ended
                },
                false,
            ),
            (
                "a family revoked long ago that could otherwise still be refreshed stays",
                FamilyFacts {
                    idle_expires_at: NOW + secs(DAY),
                    absolute_expires_at: NOW + secs(DAY),
                    revoked_at: Some(NOW - secs(31 * DAY)),
                    deny_until: Some(NOW - secs(31 * DAY) + secs(910)),
                },
                false,
            ),
        ];
        for (name, family, expected) in cases {
            assert_eq!(cut.family_may_go(&family), expected, "{name}");
        }
    }

    #[test]
    fn jti_event_and_log_entry_table() {
        let cut = cutoffs(&policy(), NOW);
        assert!(cut.jti_may_go(NOW - secs(11)), "lapsed beyond the leeway");
        assert!(!cut.jti_may_go(NOW - secs(5)), "lapsed within the leeway");
        assert!(!cut.jti_may_go(NOW + secs(600)), "still denying");
        assert!(
            cut.single_use_may_go(NOW - secs(11)),
            "lapsed beyond the leeway"
        );
        assert!(
            !cut.single_use_may_go(NOW - secs(5)),
            "lapsed within the leeway"
        );
        assert!(!cut.single_use_may_go(NOW + secs(600)), "still remembered");
        assert!(cut.event_may_go(NOW - secs(91 * DAY)));
        assert!(!cut.event_may_go(NOW - secs(89 * DAY)));
        assert!(cut.log_entry_may_go(NOW - secs(3601)));
        assert!(!cut.log_entry_may_go(NOW - secs(3599)));
    }

    proptest! {
        /// Whatever the timing, a family the rule lets go could not have issued anything at
        /// that moment or later: its newest token and its rotated-away predecessor are both
        /// refused, so deleting them turns no answer that grants access into another.
        #[test]
        fn a_family_that_may_go_can_no_longer_issue_anything(
            idle in 1u64..(10 * DAY), absolute in 1u64..(40 * DAY), grace in 0u64..120,
            age in 0u64..(80 * DAY), used_after in 0u64..(40 * DAY), later in 0u64..(10 * DAY),
        ) {
            let retention = RetentionPolicy { reuse_grace: secs(grace), ..policy() };
            let rotation = RotationPolicy { idle_ttl: secs(idle), reuse_grace: secs(grace) };
            let created = NOW - secs(age);
            let absolute_expires_at = created + secs(absolute);
            // The last rotation happened at `used_at`, before the absolute expiry.
            let used_at = created + secs(used_after.min(absolute - 1));
            let idle_expires_at = (used_at + secs(idle)).min(absolute_expires_at);
            let facts = FamilyFacts {
                idle_expires_at, absolute_expires_at, revoked_at: None, deny_until: None,
            };
            let family = FamilyState {
                current_generation: 1, absolute_expires_at, revoked: false, user_locked: false,
            };
            let (newest_hash, next_hash) = (TokenHash([1; 32]), TokenHash([2; 32]));
            let newest = TokenState {
                generation: 1, expires_at: idle_expires_at, used_at: None,
                derived_successor: next_hash,
            };
            let previous = TokenState {
                generation: 0, expires_at: used_at, used_at: Some(used_at),
                derived_successor: newest_hash,
            };
            // The previous token's stored successor is the newest, the one it derives.
            let newest_stored = SuccessorState { hash: newest_hash, expires_at: idle_expires_at };
            if cutoffs(&retention, NOW).family_may_go(&facts) {
                let at = NOW + secs(later);
                for (token, successor) in [(newest, None), (previous, Some(newest_stored))] {
                    let decision = decide(token, family, successor, at, rotation);
                    prop_assert!(
                        !matches!(
                            decision,
                            Decision::Rotate { .. } | Decision::ReplayWithinGrace { .. }
                        ),
                        "{:?}", decision
                    );
                }
            }
        }
    }
}
