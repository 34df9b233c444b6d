//! The login throttle: asks the shared attempt counters whether a login may proceed and counts
//! failures. A counter store that does not answer is logged and does not block logins: the
//! argon2 cost of every attempt still bounds a brute-force attack while it is down.

use portcullis_core::throttle::{account_key, ip_key, retry_after, LoginThrottle};
use portcullis_core::AttemptCounter;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

pub(crate) struct LoginGuard {
    counter: Arc<dyn AttemptCounter>,
    policy: LoginThrottle,
}

impl LoginGuard {
    pub fn new(counter: Arc<dyn AttemptCounter>, policy: LoginThrottle) -> Self {
        Self { counter, policy }
    }

    /// How long this account or address must wait before trying again, if at all.
    pub async fn wait(
        &self,
        account: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Option<Duration> {
        let mut keys = vec![account_key(account)];
        let mut limits = vec![self.policy.per_account];
        if let Some(ip) = ip {
            keys.push(ip_key(ip));
            limits.push(self.policy.per_ip);
        }
        match self.counter.windows(&keys, now).await {
            Ok(windows) => retry_after(&windows.into_iter().zip(limits).collect::<Vec<_>>(), now),
            Err(error) => {
                tracing::warn!(%error, "login attempt counters unavailable; not throttling");
                None
            }
        }
    }

    pub async fn failed(&self, account: &str, ip: Option<&str>, now: OffsetDateTime) {
        let mut counts = vec![(account_key(account), self.policy.per_account.window)];
        if let Some(ip) = ip {
            counts.push((ip_key(ip), self.policy.per_ip.window));
        }
        for (key, window) in counts {
            if let Err(error) = self.counter.add_failure(&key, window, now).await {
                tracing::warn!(%error, "could not count a failed login");
            }
        }
    }

    /// A correct password clears the account's count (not the address's).
    pub async fn succeeded(&self, account: &str) {
        if let Err(error) = self.counter.clear(&account_key(account)).await {
            tracing::warn!(%error, "could not reset the failed-login count");
        }
    }
}
