//! The webhook outbox's rules: what a delivery row is, the states it moves through, how long a
//! claim holds it, and when a failed attempt is tried again.
//!
//! The event store writes a row in the same transaction as the event it delivers; the webhook's
//! delivery task works the rows through [`crate::WebhookOutbox`]. This module only decides:
//! no I/O, no clock (callers pass `now` in).

use crate::event::{EventKind, SecurityEvent};
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryState {
    /// Not yet accepted by the receiver; tried when due.
    Pending,
    /// The receiver accepted it (2xx).
    Delivered,
    /// Every attempt failed; kept for the operator, never tried again.
    Failed,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 3] = [Self::Pending, Self::Delivered, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }
}

/// What a claim asks for: rows due at `now`, leased to `lease` until `lease_until`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    pub now: OffsetDateTime,
    /// Identifies this claim, so only its holder can record a failed attempt on the row.
    pub lease: Uuid,
    pub lease_until: OffsetDateTime,
    pub limit: u32,
}

/// One delivery handed to one worker, to be attempted now.
#[derive(Clone, Debug)]
pub struct ClaimedDelivery {
    /// The stored event's id: the `X-Portcullis-Event-Id` receivers deduplicate on.
    pub event_id: i64,
    /// Stable across every attempt of this delivery (`X-Portcullis-Delivery`).
    pub delivery_id: Uuid,
    /// This attempt's number, 1 for the first: the claim counts it, so an attempt cut short by
    /// a crash still counts and a row cannot be retried forever.
    pub attempt: u32,
    pub lease: Uuid,
    pub event: SecurityEvent,
}

/// A delivery not yet delivered, as the operator sees it (`portcullis admin webhooks`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UndeliveredEntry {
    pub event_id: i64,
    pub kind: EventKind,
    /// When the event was recorded.
    pub event_at: OffsetDateTime,
    pub state: DeliveryState,
    pub attempts: u32,
    /// When it is tried next (meaningless once failed).
    pub next_attempt_at: OffsetDateTime,
    /// Set while a worker holds it (or until a crashed worker's lease lapses).
    pub locked_until: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

/// What to do with a row whose attempt just failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterFailure {
    /// Pending again, due at this instant.
    RetryAt(OffsetDateTime),
    /// The attempts are used up: the row becomes [`DeliveryState::Failed`].
    GiveUp,
}

/// How failed attempts are retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// The pause after the first failed attempt; it doubles after each further one...
    pub initial_backoff: Duration,
    /// ... up to this.
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// The pause after failed attempt number `attempt` (1 for the first).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.initial_backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff)
    }

    /// What follows failed attempt number `attempt`, made at `now`.
    pub fn after_failure(&self, attempt: u32, now: OffsetDateTime) -> AfterFailure {
        if attempt >= self.max_attempts.max(1) {
            return AfterFailure::GiveUp;
        }
        let pause = time::Duration::try_from(self.backoff(attempt)).unwrap_or(time::Duration::MAX);
        match now.checked_add(pause) {
            Some(at) => AfterFailure::RetryAt(at),
            None => AfterFailure::GiveUp,
        }
    }
}

/// What a claim adds to the attempt timeout: time to record the outcome after the receiver has
/// answered (or the attempt has timed out) before another worker may take the row over.
pub const LEASE_MARGIN: Duration = Duration::from_secs(5);

/// The longest lease, whatever the attempt timeout: how long a dead worker can hold a row up.
pub const MAX_LEASE: Duration = Duration::from_secs(3600);

/// How long a claim holds a row, given how long one attempt may take. A worker that dies holding
/// a row delays it by at most this; a live one does not lose a row it is still attempting
/// (unless its attempts may take longer than [`MAX_LEASE`]: delivery is at least once anyway).
pub fn lease_for(attempt_timeout: Duration) -> Duration {
    attempt_timeout.saturating_add(LEASE_MARGIN).min(MAX_LEASE)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 6,
        initial_backoff: Duration::from_millis(200),
        max_backoff: Duration::from_secs(30),
    };

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn every_state_round_trips_through_its_name() {
        for state in DeliveryState::ALL {
            assert_eq!(DeliveryState::parse(state.as_str()), Some(state));
        }
        assert_eq!(DeliveryState::parse("leased"), None);
    }

    #[test]
    fn the_backoff_doubles_from_the_initial_pause_up_to_the_cap() {
        let cases = [
            (0, ms(200)),
            (1, ms(200)),
            (2, ms(400)),
            (3, ms(800)),
            (8, ms(25_600)),
            (9, ms(30_000)),
            (40, ms(30_000)),
            (u32::MAX, ms(30_000)),
        ];
        for (attempt, pause) in cases {
            assert_eq!(POLICY.backoff(attempt), pause, "attempt {attempt}");
        }
    }

    #[test]
    fn a_failure_is_retried_after_the_backoff_until_the_last_attempt() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let cases = [
            (
                1,
                AfterFailure::RetryAt(now + time::Duration::milliseconds(200)),
            ),
            (
                5,
                AfterFailure::RetryAt(now + time::Duration::milliseconds(3_200)),
            ),
            (6, AfterFailure::GiveUp),
            // More attempts than allowed (claims by workers that crashed) still give up.
            (9, AfterFailure::GiveUp),
        ];
        for (attempt, expected) in cases {
            assert_eq!(
                POLICY.after_failure(attempt, now),
                expected,
                "attempt {attempt}"
            );
        }
    }

    #[test]
    fn at_least_one_attempt_is_made_whatever_the_settings() {
        let once = RetryPolicy {
            max_attempts: 0,
            ..POLICY
        };
        assert_eq!(
            once.after_failure(1, OffsetDateTime::UNIX_EPOCH),
            AfterFailure::GiveUp
        );
    }

    #[test]
    fn a_retry_beyond_the_representable_future_gives_up() {
        let late = RetryPolicy {
            initial_backoff: Duration::MAX,
            max_backoff: Duration::MAX,
            ..POLICY
        };
        assert_eq!(
            late.after_failure(1, OffsetDateTime::UNIX_EPOCH),
            AfterFailure::GiveUp
        );
    }

    #[test]
    fn a_lease_outlasts_one_attempt_by_the_margin() {
        assert_eq!(lease_for(Duration::from_secs(5)), Duration::from_secs(10));
        assert_eq!(lease_for(Duration::MAX), MAX_LEASE);
    }
}
