//! The retention job: every `retention_interval`, delete what can no longer change a decision
//! (ended refresh families and their tokens, lapsed jti denylist entries and tombstones of
//! erased accounts, security events older than `event_retention`, revocation log entries older
//! than an hour), so nothing the gateway stores grows forever.
//!
//! Which rows may go is decided by `portcullis_core::retention`; the store deletes them in
//! bounded batches and, on the production tier, lets one replica at a time run a pass. This
//! module only schedules passes, logs what each did, and stops when told to (by
//! [`RetentionJob::stop`], or when the gateway's stop signal is cancelled). It never runs on
//! the request path.

use crate::error::AuthResult;
use crate::gateway::Gateway;
use portcullis_core::retention::{cutoffs, Purged};
use portcullis_core::Causes;
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

/// Rows per delete statement: small enough that each batch's transaction is short, large
/// enough that a pass over a day's worth of rows takes few round trips.
const BATCH: u32 = 1_000;

/// The running job; [`RetentionJob::stop`] ends it.
pub struct RetentionJob {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl RetentionJob {
    /// Stops the job and waits for it. A pass in progress is abandoned: every batch it
    /// committed stays done, the one in flight is rolled back.
    pub async fn stop(self) {
        self.stop.cancel();
        if let Err(error) = self.task.await {
            tracing::warn!(error = %Causes(&error), "retention job ended abnormally");
        }
    }
}

impl Gateway {
    /// Runs one retention pass as of `now` and logs its counts. `None` when another replica
    /// was running a pass (production tier), so this one did nothing.
    pub async fn run_retention_once(&self, now: OffsetDateTime) -> AuthResult<Option<Purged>> {
        let cutoffs = cutoffs(&self.settings.retention_policy(), now);
        let purged = self.durable.purge(&cutoffs, BATCH).await?;
        match &purged {
            Some(purged) => tracing::info!(
                refresh_tokens = purged.refresh_tokens,
                families = purged.families,
                denied_jtis = purged.denied_jtis,
                erased_users = purged.erased_users,
                events = purged.events,
                revocation_log = purged.revocation_log,
                single_uses = purged.single_uses,
                "retention pass done"
            ),
            None => tracing::info!("retention pass skipped: another replica is running one"),
        }
        Ok(purged)
    }

    /// Starts the retention job: one pass every `retention_interval`, the first one interval
    /// after start (so replicas restarting together do not all try at once). Call it once, in
    /// the serving process; one-off commands never need it. It stops with the gateway's stop
    /// signal, or earlier through [`RetentionJob::stop`].
    pub fn start_retention(self: &Arc<Self>) -> RetentionJob {
        let stop = self.stop.child_token();
        let stopped = stop.clone();
        let gateway = Arc::clone(self);
        let interval = self.settings.retention_interval;
        let task = tokio::spawn(async move {
            let mut ticks =
                tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = stopped.cancelled() => return,
                    _ = ticks.tick() => {}
                }
                // A pass that outlasts its interval is cut off; its committed batches stay.
                let pass = tokio::time::timeout(
                    interval,
                    gateway.run_retention_once(OffsetDateTime::now_utc()),
                );
                tokio::select! {
                    () = stopped.cancelled() => return,
                    outcome = pass => match outcome {
                        Ok(Ok(_)) => {}
                        Ok(Err(error)) => tracing::warn!(error = %Causes(&error), "retention pass failed; retrying at the next interval"),
                        Err(_) => tracing::warn!(?interval, "retention pass did not finish within its interval; continuing at the next"),
                    },
                }
            }
        });
        RetentionJob { stop, task }
    }
}
