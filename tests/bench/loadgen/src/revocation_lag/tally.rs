//! The bookkeeping of the revocation-lag bench, without I/O: what one revocation's watch on
//! replica B saw, poll by poll, and the figures of many such watches. The run
//! ([`super::run`]) feeds it answers and times; the summary pools the stored observations.

use crate::stats::percentile;
use anyhow::bail;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How a session is ended on replica A.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// `POST /admin/users/{user}/revoke`: the token version bumped, every session revoked.
    AdminUserRevoke,
    /// `DELETE /admin/sessions/{id}`: one session and its access tokens.
    AdminSessionDelete,
    /// `POST /auth/logout` with the refresh cookie, `X-CSRF: 1` and the access token.
    Logout,
}

impl Kind {
    pub const ALL: [Self; 3] = [
        Self::AdminUserRevoke,
        Self::AdminSessionDelete,
        Self::Logout,
    ];

    /// The kind of the `n`th revocation: the three in turn, so any stretch of the run (and
    /// any moment of the machine's load) mixes them evenly.
    pub fn nth(n: usize) -> Self {
        Self::ALL[n % Self::ALL.len()]
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::AdminUserRevoke => "admin-user-revoke",
            Self::AdminSessionDelete => "admin-session-delete",
            Self::Logout => "logout",
        }
    }
}

/// One revocation as replica B saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    pub kind: Kind,
    /// Microseconds from the revoking call's answer on A to the arrival of B's first 401; when
    /// B never refused, the time the bench gave up after (a lower bound).
    pub lag_us: u64,
    /// Polls of B answered 200 after the revoking call had returned.
    pub stale_200s: u32,
    /// Whether B refused the token before the bench gave up.
    pub refused: bool,
}

/// The polls of replica B after one revocation returned on A.
#[derive(Debug)]
pub struct Watch {
    kind: Kind,
    stale_200s: u32,
}

impl Watch {
    pub fn new(kind: Kind) -> Self {
        Self {
            kind,
            stale_200s: 0,
        }
    }

    /// B answered `status` to a poll whose answer arrived `since` the revoke returned: the
    /// observation once it is a 401; any status but 200 or 401 is an error (a 503 would be
    /// a refusal for the wrong reason, and must not pass for a revocation seen).
    pub fn answer(&mut self, status: u16, since: Duration) -> anyhow::Result<Option<Observation>> {
        match status {
            200 => {
                self.stale_200s += 1;
                Ok(None)
            }
            401 => Ok(Some(self.observation(since, true))),
            other => bail!("replica B answered {other} to a verify after a revocation"),
        }
    }

    /// B still accepted the token `since` the revoke returned, and the bench stops watching.
    pub fn give_up(self, since: Duration) -> Observation {
        self.observation(since, false)
    }

    fn observation(&self, since: Duration, refused: bool) -> Observation {
        Observation {
            kind: self.kind,
            lag_us: u64::try_from(since.as_micros()).unwrap_or(u64::MAX),
            stale_200s: self.stale_200s,
            refused,
        }
    }
}

/// The figures of many revocations: nearest-rank percentiles of the lag, as the other
/// measurements use, to the microsecond.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LagStats {
    pub revocations: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Verify answers of 200 from B after a revoke had returned on A, over every revocation.
    pub stale_200s: u64,
    pub revocations_with_stale_200s: usize,
    /// Revocations B had not applied when the bench gave up (their lag is a lower bound).
    pub never_refused: usize,
}

impl LagStats {
    /// `None` without observations: no figure is better than a zero.
    pub fn of<'a>(observations: impl IntoIterator<Item = &'a Observation>) -> Option<Self> {
        let mut lags = Vec::new();
        let (mut stale_200s, mut with_stale, mut never_refused) = (0, 0, 0);
        for observation in observations {
            lags.push(Duration::from_micros(observation.lag_us));
            stale_200s += u64::from(observation.stale_200s);
            with_stale += usize::from(observation.stale_200s > 0);
            never_refused += usize::from(!observation.refused);
        }
        lags.sort_unstable();
        let max = *lags.last()?;
        Some(Self {
            revocations: lags.len(),
            p50_ms: millis(percentile(&lags, 0.50)),
            p99_ms: millis(percentile(&lags, 0.99)),
            max_ms: millis(max),
            stale_200s,
            revocations_with_stale_200s: with_stale,
            never_refused,
        })
    }

    /// The same figures for each kind of revocation that occurs.
    pub fn by_kind(observations: &[Observation]) -> Vec<(Kind, Self)> {
        Kind::ALL
            .into_iter()
            .filter_map(|kind| {
                Self::of(observations.iter().filter(|o| o.kind == kind)).map(|stats| (kind, stats))
            })
            .collect()
    }
}

/// Milliseconds from whole microseconds, so the JSON reads `4.294`, not `4.2940000000000005`.
fn millis(lag: Duration) -> f64 {
    lag.as_micros() as f64 / 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(kind: Kind, lag_us: u64, stale_200s: u32) -> Observation {
        Observation {
            kind,
            lag_us,
            stale_200s,
            refused: true,
        }
    }

    #[test]
    fn a_watch_counts_the_200s_before_the_first_401() {
        let mut watch = Watch::new(Kind::Logout);
        assert_eq!(watch.answer(200, Duration::from_micros(150)).unwrap(), None);
        assert_eq!(watch.answer(200, Duration::from_micros(300)).unwrap(), None);
        let observed = watch.answer(401, Duration::from_micros(451)).unwrap();
        assert_eq!(observed, Some(seen(Kind::Logout, 451, 2)));
    }

    #[test]
    fn a_401_on_the_first_poll_is_a_revocation_without_stale_answers() {
        let mut watch = Watch::new(Kind::AdminUserRevoke);
        let observed = watch.answer(401, Duration::from_micros(120)).unwrap();
        assert_eq!(observed, Some(seen(Kind::AdminUserRevoke, 120, 0)));
    }

    #[test]
    fn any_other_answer_fails_the_watch() {
        for status in [403, 429, 500, 503] {
            let mut watch = Watch::new(Kind::AdminSessionDelete);
            assert!(watch.answer(status, Duration::ZERO).is_err(), "{status}");
        }
    }

    #[test]
    fn giving_up_records_the_wait_as_a_lower_bound_never_refused() {
        let mut watch = Watch::new(Kind::Logout);
        watch.answer(200, Duration::from_millis(1)).unwrap();
        let observed = watch.give_up(Duration::from_secs(5));
        assert_eq!(observed.lag_us, 5_000_000);
        assert_eq!(observed.stale_200s, 1);
        assert!(!observed.refused);
    }

    #[test]
    fn stats_are_nearest_rank_to_the_microsecond() {
        // 1 µs to 200 µs, then one slow revocation of 80.001 ms.
        let mut observations: Vec<_> = (1..=200)
            .map(|us| seen(Kind::nth(us as usize), us, 0))
            .collect();
        observations.push(seen(Kind::Logout, 80_001, 3));
        let stats = LagStats::of(&observations).unwrap();
        assert_eq!(stats.revocations, 201);
        // Ranks ceil(0.5 × 201) = 101 and ceil(0.99 × 201) = 199.
        assert!((stats.p50_ms - 0.101).abs() < 1e-12);
        assert!((stats.p99_ms - 0.199).abs() < 1e-12);
        assert!((stats.max_ms - 80.001).abs() < 1e-12);
        assert_eq!(stats.stale_200s, 3);
        assert_eq!(stats.revocations_with_stale_200s, 1);
        assert_eq!(stats.never_refused, 0);
    }

    #[test]
    fn milliseconds_are_whole_microseconds_in_the_json() {
        let stats = LagStats::of(&[seen(Kind::Logout, 4294, 0)]).unwrap();
        let json = serde_json::to_string(&stats).unwrap();
        assert!(json.contains(r#""max_ms":4.294,"#), "{json}");
    }

    #[test]
    fn stats_count_revocations_never_refused() {
        let mut given_up = seen(Kind::Logout, 5_000_000, 40);
        given_up.refused = false;
        let stats = LagStats::of(&[seen(Kind::Logout, 300, 0), given_up]).unwrap();
        assert_eq!(stats.never_refused, 1);
        assert_eq!(stats.stale_200s, 40);
        assert!((stats.max_ms - 5000.0).abs() < 1e-9);
    }

    #[test]
    fn no_observations_is_no_figure() {
        assert_eq!(LagStats::of(&[]), None);
    }

    #[test]
    fn kinds_take_turns_and_are_tallied_apart() {
        let kinds: Vec<_> = (0..4).map(Kind::nth).collect();
        assert_eq!(
            kinds,
            [
                Kind::AdminUserRevoke,
                Kind::AdminSessionDelete,
                Kind::Logout,
                Kind::AdminUserRevoke
            ]
        );
        let observations = [
            seen(Kind::Logout, 100, 0),
            seen(Kind::AdminUserRevoke, 200, 1),
            seen(Kind::Logout, 300, 0),
        ];
        let by_kind = LagStats::by_kind(&observations);
        let kinds: Vec<_> = by_kind.iter().map(|(kind, _)| *kind).collect();
        assert_eq!(kinds, [Kind::AdminUserRevoke, Kind::Logout]);
        assert_eq!(by_kind[1].1.revocations, 2);
        assert!((by_kind[1].1.max_ms - 0.3).abs() < 1e-12);
    }
}
