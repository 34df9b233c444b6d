//! Brute-force protection for login: failed attempts are counted per account and per client
//! address in fixed windows, and a login is refused while either count has reached its limit.
//!
//! Counting is a reservation, not a check: before a password is evaluated, one attempt is
//! reserved under every counter at once, atomically with the decision [`retry_after`] makes on
//! the counts as they stand, so however many attempts arrive together at most `max_failures`
//! passwords are evaluated per window. A failed attempt keeps its reservation (it is the
//! failure); a correct password clears the account's counter and gives back the address's.
//! Counting lives behind [`crate::store::AttemptCounter`]; the decision is here.

use std::time::Duration;
use time::OffsetDateTime;

/// At most `max_failures` failed logins per `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub max_failures: u32,
    pub window: Duration,
}

/// The login limits. A limit of zero failures disables that limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginThrottle {
    pub per_account: Limit,
    pub per_ip: Limit,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self {
            per_account: Limit {
                max_failures: 10,
                window: Duration::from_secs(15 * 60),
            },
            per_ip: Limit {
                max_failures: 100,
                window: Duration::from_secs(15 * 60),
            },
        }
    }
}

/// The failures counted under one key in its current window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub count: u32,
    pub resets_at: OffsetDateTime,
}

/// Which limit a counter enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitKind {
    Account,
    Address,
}

impl LimitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::Address => "address",
        }
    }
}

/// A limit that refused an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitHit {
    /// Position of the counter in the reservation's list.
    pub index: usize,
    /// Failures counted in the window.
    pub failures: u32,
    /// True for the first refusal under this counter in this window: the one worth recording.
    pub first: bool,
}

/// What a reservation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reservation {
    /// One attempt is reserved under every counter: the password may be evaluated.
    Reserved,
    /// Nothing was reserved: every limit in `hits` is exhausted until `retry_after` has passed.
    Refused {
        retry_after: Duration,
        hits: Vec<LimitHit>,
    },
}

/// Whether `window` has used up `limit` at `now`. A limit of zero never is.
pub fn exhausted(window: Option<Window>, limit: Limit, now: OffsetDateTime) -> bool {
    window.is_some_and(|window| {
        limit.max_failures > 0 && window.count >= limit.max_failures && window.resets_at > now
    })
}

/// The window a reservation leaves behind: the open one counted once more, or a new one.
pub fn reserved(window: Option<Window>, limit: Limit, now: OffsetDateTime) -> Window {
    match window.filter(|window| window.resets_at > now) {
        Some(open) => Window {
            count: open.count.saturating_add(1),
            resets_at: open.resets_at,
        },
        None => Window {
            count: 1,
            resets_at: now + limit.window,
        },
    }
}

/// Counter key of an account (by normalised email, so unknown emails are limited too).
pub fn account_key(email: &str) -> String {
    format!("login:account:{email}")
}

/// Counter key of a client address.
pub fn ip_key(ip: &str) -> String {
    format!("login:ip:{ip}")
}

/// How long the caller must wait, if any of `windows` has reached its limit.
pub fn retry_after(windows: &[(Option<Window>, Limit)], now: OffsetDateTime) -> Option<Duration> {
    windows
        .iter()
        .filter(|(window, limit)| exhausted(*window, *limit, now))
        .filter_map(|(window, _)| window.map(|window| (window.resets_at - now).unsigned_abs()))
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);
    const LIMIT: Limit = Limit {
        max_failures: 3,
        window: Duration::from_secs(60),
    };

    fn window(count: u32, resets_in: i64) -> Option<Window> {
        Some(Window {
            count,
            resets_at: NOW + time::Duration::seconds(resets_in),
        })
    }

    #[test]
    fn retry_after_table() {
        let off = Limit {
            max_failures: 0,
            ..LIMIT
        };
        let cases = [
            ("nothing counted", vec![(None, LIMIT)], None),
            ("under the limit", vec![(window(2, 30), LIMIT)], None),
            ("at the limit", vec![(window(3, 30), LIMIT)], Some(30)),
            ("window already over", vec![(window(9, 0), LIMIT)], None),
            (
                "a disabled limit never blocks",
                vec![(window(99, 30), off)],
                None,
            ),
            (
                "the longest wait wins",
                vec![(window(3, 10), LIMIT), (window(5, 40), LIMIT)],
                Some(40),
            ),
        ];
        for (name, windows, expected) in cases {
            assert_eq!(
                retry_after(&windows, NOW).map(|d| d.as_secs()),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn a_reservation_counts_in_the_open_window_or_opens_a_new_one() {
        let cases = [
            ("nothing counted", None, (1, 60)),
            ("open window", window(2, 30), (3, 30)),
            ("window over", window(9, 0), (1, 60)),
        ];
        for (name, before, (count, resets_in)) in cases {
            let after = reserved(before, LIMIT, NOW);
            assert_eq!(
                (after.count, (after.resets_at - NOW).whole_seconds()),
                (count, resets_in),
                "{name}"
            );
        }
    }

    proptest::proptest! {
        /// Reservations made one after another, whatever their number, admit exactly the limit
        /// in one window: the rule a counter store applies atomically per attempt.
        #[test]
        fn reservations_never_admit_more_than_the_limit(max in 0u32..20, attempts in 0usize..60) {
            let limit = Limit { max_failures: max, window: Duration::from_secs(60) };
            let mut current = None;
            let mut admitted = 0u32;
            for _ in 0..attempts {
                if retry_after(&[(current, limit)], NOW).is_none() {
                    current = Some(reserved(current, limit, NOW));
                    admitted += 1;
                }
            }
            let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
            let expected = if max == 0 { attempts } else { attempts.min(max) };
            proptest::prop_assert_eq!(admitted, expected);
        }
    }

    #[test]
    fn keys_of_accounts_and_addresses_never_collide() {
        assert_ne!(account_key("1.2.3.4"), ip_key("1.2.3.4"));
    }
}
