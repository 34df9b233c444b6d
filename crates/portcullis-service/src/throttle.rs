//! The login throttle: reserves an attempt under the shared counters before a password is
//! evaluated (see `portcullis_core::throttle`), and settles the reservation once the answer is
//! known. A counter store that does not answer is logged and does not block logins: the argon2
//! cost of every attempt still bounds a brute-force attack while it is down.

use portcullis_core::throttle::{account_key, ip_key, LimitKind, LoginThrottle, Reservation};
use portcullis_core::AttemptCounter;
use portcullis_core::Causes;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

pub(crate) struct LoginGuard {
    counter: Arc<dyn AttemptCounter>,
    policy: LoginThrottle,
}

/// An exhausted limit, as the audit trail reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LimitReached {
    pub kind: LimitKind,
    pub failures: u32,
    /// Only the first refusal of a window is recorded.
    pub first: bool,
}

/// Why an attempt may not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    pub retry_after: Duration,
    pub limits: Vec<LimitReached>,
}

impl LoginGuard {
    pub fn new(counter: Arc<dyn AttemptCounter>, policy: LoginThrottle) -> Self {
        Self { counter, policy }
    }

    /// The counters an attempt is reserved under: only those whose limit is on.
    fn counters(&self, account: &str, ip: Option<&str>) -> Vec<(String, LimitKind)> {
        let mut counters = Vec::with_capacity(2);
        if self.policy.per_account.max_failures > 0 {
            counters.push((account_key(account), LimitKind::Account));
        }
        if let Some(ip) = ip.filter(|_| self.policy.per_ip.max_failures > 0) {
            counters.push((ip_key(ip), LimitKind::Address));
        }
        counters
    }

    /// Reserves one attempt for this account and address, or says how long to wait.
    pub async fn reserve(
        &self,
        account: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), Refused> {
        let counters = self.counters(account, ip);
        if counters.is_empty() {
            return Ok(());
        }
        let limited: Vec<_> = counters
            .iter()
            .map(|(key, kind)| {
                let limit = match kind {
                    LimitKind::Account => self.policy.per_account,
                    LimitKind::Address => self.policy.per_ip,
                };
                (key.clone(), limit)
            })
            .collect();
        match self.counter.reserve(&limited, now).await {
            Ok(Reservation::Reserved) => Ok(()),
            Ok(Reservation::Refused { retry_after, hits }) => Err(Refused {
                retry_after,
                limits: hits
                    .iter()
                    .filter_map(|hit| {
                        let (_, kind) = counters.get(hit.index)?;
                        Some(LimitReached {
                            kind: *kind,
                            failures: hit.failures,
                            first: hit.first,
                        })
                    })
                    .collect(),
            }),
            Err(error) => {
                tracing::warn!(error = %Causes(&error), "login attempt counters unavailable; not throttling");
                Ok(())
            }
        }
    }

    /// A correct password: the account's count starts again, and the address gets its
    /// reservation back (its limit counts failures only).
    pub async fn succeeded(&self, account: &str, ip: Option<&str>, now: OffsetDateTime) {
        for (key, kind) in self.counters(account, ip) {
            let settled = match kind {
                LimitKind::Account => self.counter.clear(&key).await,
                LimitKind::Address => self.counter.release(&key, now).await,
            };
            if let Err(error) = settled {
                tracing::warn!(error = %Causes(&error), "could not settle a successful login's reservation");
            }
        }
    }

    /// Forgets the account's count (the account is being erased, and its counter names it).
    pub async fn forget(&self, account: &str) {
        for (key, kind) in self.counters(account, None) {
            if kind == LimitKind::Account {
                if let Err(error) = self.counter.clear(&key).await {
                    tracing::warn!(error = %Causes(&error), "could not forget an account's login count");
                }
            }
        }
    }

    /// The password was never evaluated (a storage failure): give every reservation back.
    pub async fn abandoned(&self, account: &str, ip: Option<&str>, now: OffsetDateTime) {
        for (key, _) in self.counters(account, ip) {
            if let Err(error) = self.counter.release(&key, now).await {
                tracing::warn!(error = %Causes(&error), "could not give back a login reservation");
            }
        }
    }
}
