//! Brute-force protection for login: failed attempts are counted per account and per client
//! address in fixed windows, and a login is refused while either count has reached its limit.
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
        .filter_map(|(window, limit)| {
            let window = (*window)?;
            let exhausted = limit.max_failures > 0
                && window.count >= limit.max_failures
                && window.resets_at > now;
            exhausted.then(|| (window.resets_at - now).unsigned_abs())
        })
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
    fn keys_of_accounts_and_addresses_never_collide() {
        assert_ne!(account_key("1.2.3.4"), ip_key("1.2.3.4"));
    }
}
