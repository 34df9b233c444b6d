//! The delivery task: polls the outbox (and wakes early when this replica has just recorded a
//! chosen event), claims one due row at a time, attempts it, and records the outcome as the
//! core's [`RetryPolicy`] says. Every replica runs one; the claim's lease keeps two of them off
//! the same row, and the rows carry the retry state, so a restart loses nothing.
//!
//! It ends when its stop signal is cancelled, abandoning an attempt in flight: that row's lease
//! then lapses and it is attempted again (by this replica after a restart, or another).

use crate::sender::{Payload, Sender};
use portcullis_core::webhook_outbox::{
    lease_for, AfterFailure, Claim, ClaimedDelivery, RetryPolicy,
};
use portcullis_core::{Causes, StoreError, WebhookOutbox};
use portcullis_metrics::{Metrics, WebhookOutcome};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How often the outbox is polled for rows recorded by other replicas, rows whose retry is
/// due and rows a dead replica left leased.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(250);

pub(crate) struct Worker {
    pub sender: Sender,
    pub outbox: Arc<dyn WebhookOutbox>,
    pub policy: RetryPolicy,
    /// How long a claim holds its row: one attempt's timeout plus a margin.
    pub lease: Duration,
    pub metrics: Metrics,
    /// Whether the last store call failed, so an outage is logged once, not at every poll.
    pub store_failing: bool,
}

impl Worker {
    pub fn new(
        sender: Sender,
        outbox: Arc<dyn WebhookOutbox>,
        policy: RetryPolicy,
        attempt_timeout: Duration,
        metrics: Metrics,
    ) -> Self {
        Self {
            sender,
            outbox,
            policy,
            lease: lease_for(attempt_timeout),
            metrics,
            store_failing: false,
        }
    }

    /// Delivers until `stop` is cancelled.
    pub async fn run(mut self, wake: Arc<Notify>, stop: CancellationToken) {
        let working = async {
            loop {
                self.drain().await;
                tokio::select! {
                    () = wake.notified() => {}
                    () = tokio::time::sleep(POLL_INTERVAL) => {}
                }
            }
        };
        tokio::select! {
            () = stop.cancelled() => {}
            () = working => {}
        }
    }

    /// Claims and attempts due rows one at a time until none is left.
    async fn drain(&mut self) {
        loop {
            let now = OffsetDateTime::now_utc();
            let claim = Claim {
                now,
                lease: Uuid::new_v4(),
                lease_until: now + self.lease,
                limit: 1,
            };
            let claimed = match self.outbox.claim_deliveries(&claim).await {
                Ok(claimed) => self.store_answered(claimed),
                Err(error) => return self.store_failed(&error),
            };
            if claimed.is_empty() {
                return;
            }
            for delivery in claimed {
                self.deliver(delivery).await;
            }
        }
    }

    /// One attempt at one claimed row, and its outcome recorded.
    async fn deliver(&mut self, delivery: ClaimedDelivery) {
        let payload = Payload::new(&delivery.event, delivery.event_id, delivery.delivery_id);
        let (event_id, kind, attempt) = (delivery.event_id, payload.kind, delivery.attempt);
        let failure = match self.sender.attempt(&payload).await {
            Ok(()) => {
                match self
                    .outbox
                    .mark_delivered(event_id, OffsetDateTime::now_utc())
                    .await
                {
                    Ok(true) => self
                        .metrics
                        .webhook_deliveries(WebhookOutcome::Delivered, 1),
                    // Another claim settled it meanwhile (this lease had lapsed).
                    Ok(false) => {}
                    Err(error) => tracing::warn!(
                        event_id, kind, error = %Causes(&error),
                        "webhook delivered but not marked so; it will be sent again"
                    ),
                }
                return;
            }
            Err(failure) => failure.to_string(),
        };
        let after = self
            .policy
            .after_failure(attempt, OffsetDateTime::now_utc());
        let retry_at = match after {
            AfterFailure::RetryAt(at) => Some(at),
            AfterFailure::GiveUp => None,
        };
        let recorded = self
            .outbox
            .mark_failed_attempt(event_id, delivery.lease, &failure, retry_at)
            .await;
        match recorded {
            Ok(true) if retry_at.is_none() => {
                self.metrics.webhook_deliveries(WebhookOutcome::Failed, 1);
                tracing::error!(
                    event_id, kind, attempts = attempt, %failure,
                    "webhook delivery failed; giving up (the delivery is kept as failed)"
                );
            }
            Ok(true) => {
                tracing::warn!(event_id, kind, attempt, %failure, "webhook delivery failed; will retry");
            }
            // Another claim holds the row now; its outcome is the one that counts.
            Ok(false) => {}
            Err(error) => tracing::warn!(
                event_id, kind, attempt, %failure, error = %Causes(&error),
                "webhook delivery failed and could not be recorded; retried when its lease lapses"
            ),
        }
    }

    fn store_answered<T>(&mut self, value: T) -> T {
        if std::mem::take(&mut self.store_failing) {
            tracing::info!("webhook outbox answering again");
        }
        value
    }

    fn store_failed(&mut self, error: &StoreError) {
        if !std::mem::replace(&mut self.store_failing, true) {
            tracing::warn!(error = %Causes(error), "webhook outbox not answering; will keep polling");
        }
    }
}
