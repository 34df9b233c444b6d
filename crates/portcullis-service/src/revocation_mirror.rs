//! This replica's own copy of the revocation state, so that verifying a token needs no network
//! round trip, and the rules that keep the copy exact or stop it from being used.
//!
//! The copy starts from a durable snapshot and is kept up to date from three sources:
//! - this replica's own revocations, merged before they are announced;
//! - the revocation stream of the shared cache (see `portcullis_core::revocation_stream`),
//!   which carries every other replica's revocations within milliseconds; each one is
//!   acknowledged to its writer, which waits for the acknowledgements before answering;
//! - the durable revocation log, read every `revocation_epoch_interval`, which catches what a
//!   replica that could not reach the cache committed without announcing.
//!
//! The copy answers only while it is *synced*: from the moment a snapshot was merged after the
//! subscription began, until the subscription ends (connection closed, heartbeat missed,
//! backlog overflowed), an announcement is missing, the cache starts a new generation, or the
//! log reports that entries this replica needed were purged. Then checks go to the shared cache
//! (and from there to the durable store) until a resynchronisation completes.

use crate::revocation_checker::CacheRefiller;
use portcullis_core::revocation_memory::RevocationFacts;
use portcullis_core::revocation_stream::{
    Announcement, Heard, RevocationBroadcast, RevocationListener, StreamPosition,
};
use portcullis_core::{
    Causes, Durable, LogRead, RevocationChange, RevocationProbe, RevocationState, StoreResult,
};
use portcullis_metrics::Metrics;
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long a writer waits for every listening replica to acknowledge its announcement.
pub const CONFIRM_WITHIN: Duration = Duration::from_millis(250);
/// The pause before resynchronising again after a failure, doubled up to [`LAST_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(50);
const LAST_RETRY: Duration = Duration::from_secs(2);
/// A sync that held this long was not lost to a standing fault: the next one starts at once.
const SETTLED: Duration = Duration::from_secs(1);
/// How many log entries one read fetches.
const LOG_PAGE: u32 = 1_000;
/// How many acknowledgements may be on their way at once.
const MAX_ACKNOWLEDGING: usize = 1_024;

/// A log read and the chores that go with it, running beside the stream.
type Upkeep<'a> = Pin<Box<dyn Future<Output = StoreResult<Option<i64>>> + Send + 'a>>;

/// Marks the copy not synced when dropped.
struct UnsyncOnDrop<'a>(&'a RevocationMirror);

impl Drop for UnsyncOnDrop<'_> {
    fn drop(&mut self) {
        self.0.set_synced(false);
    }
}

/// Why the copy stopped being synced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lost {
    Subscription,
    Gap,
    Purged,
    Stopped,
}

pub(crate) struct RevocationMirror {
    /// This replica's name on the stream.
    replica: String,
    facts: RwLock<RevocationFacts>,
    synced: AtomicBool,
    /// Tells waiters when the copy becomes synced.
    synced_changes: watch::Sender<bool>,
    acknowledgements: broadcast::Sender<(String, u64, String)>,
    durable: Arc<dyn Durable>,
    stream: Arc<dyn RevocationBroadcast>,
    refiller: CacheRefiller,
    log_interval: Duration,
    metrics: Metrics,
}

impl RevocationMirror {
    pub fn new(
        durable: Arc<dyn Durable>,
        stream: Arc<dyn RevocationBroadcast>,
        refiller: CacheRefiller,
        log_interval: Duration,
        metrics: Metrics,
    ) -> Arc<Self> {
        Arc::new(Self {
            replica: uuid::Uuid::new_v4().simple().to_string(),
            facts: RwLock::new(RevocationFacts::default()),
            synced: AtomicBool::new(false),
            synced_changes: watch::Sender::new(false),
            acknowledgements: broadcast::Sender::new(4_096),
            durable,
            stream,
            refiller,
            log_interval,
            metrics,
        })
    }

    /// What the copy knows about `probe`, or `None` while it is not synced.
    pub fn state(&self, probe: &RevocationProbe, now: OffsetDateTime) -> Option<RevocationState> {
        if !self.synced.load(Ordering::Acquire) {
            return None;
        }
        let facts = self.facts.read().unwrap_or_else(PoisonError::into_inner);
        Some(facts.state(probe, now))
    }

    /// Merges this replica's own durable revocations, announces them, and waits until every
    /// listening replica has merged them (at most [`CONFIRM_WITHIN`]). An error means the
    /// announcement did not reach the cache; the revocation is durable either way.
    pub async fn publish(
        &self,
        changes: &[RevocationChange],
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.merge(changes);
        // Subscribe before announcing: an acknowledgement may arrive before the script returns.
        let mut heard = self.acknowledgements.subscribe();
        let Some(announced) = self.stream.announce(changes, &self.replica, now).await? else {
            return Ok(());
        };
        if !self.synced.load(Ordering::Acquire) {
            // Not listening (starting, or resynchronising): no acknowledgement can be heard. The
            // others merge it all the same, but a slow one may not have yet; answering at once
            // would let the caller meet it there. Give them what a listening writer gives them.
            if announced.listeners > 0 {
                tokio::time::sleep(CONFIRM_WITHIN).await;
                self.metrics.revocation_unconfirmed();
            }
            return Ok(());
        }
        let key = (announced.generation, announced.epoch);
        let mut by = HashSet::new();
        let wait = async {
            while u64::try_from(by.len()).unwrap_or(u64::MAX) < announced.listeners {
                match heard.recv().await {
                    Ok((generation, epoch, replica))
                        if (generation.as_str(), epoch) == (key.0.as_str(), key.1) =>
                    {
                        by.insert(replica);
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        };
        if tokio::time::timeout(CONFIRM_WITHIN, wait).await.is_err() {
            self.metrics.revocation_unconfirmed();
            tracing::warn!(
                epoch = key.1,
                listeners = announced.listeners,
                "not every replica acknowledged a revocation in time; they apply it when they next read the revocation log"
            );
        }
        Ok(())
    }

    /// Resolves once the copy is synced, or after `within`.
    pub async fn synced_within(&self, within: Duration) -> bool {
        let mut changes = self.synced_changes.subscribe();
        tokio::time::timeout(within, changes.wait_for(|synced| *synced))
            .await
            .is_ok_and(|result| result.is_ok())
    }

    /// Starts following the stream and the log until `stop` is cancelled.
    pub fn start(self: &Arc<Self>, stop: CancellationToken, tasks: &TaskTracker) {
        let mirror = Arc::clone(self);
        tasks.spawn(async move { mirror.follow(stop).await });
    }

    fn merge(&self, changes: &[RevocationChange]) {
        let mut facts = self.facts.write().unwrap_or_else(PoisonError::into_inner);
        changes.iter().for_each(|change| facts.apply(change));
    }

    /// Drops lapsed denials, once per log read rather than on every merge.
    fn forget_expired(&self) {
        let mut facts = self.facts.write().unwrap_or_else(PoisonError::into_inner);
        facts.forget_expired(OffsetDateTime::now_utc());
    }

    fn set_synced(&self, synced: bool) {
        self.synced.store(synced, Ordering::Release);
        self.synced_changes.send_replace(synced);
        self.metrics.revocation_memory_synced(synced);
    }

    async fn follow(&self, stop: CancellationToken) {
        // However following ends (stopped, or a panic unwinding through here), the copy stops
        // answering: frozen, it would miss every later revocation.
        let _unsync_on_exit = UnsyncOnDrop(self);
        let mut backoff = FIRST_RETRY;
        loop {
            let synchronised = tokio::select! {
                () = stop.cancelled() => return,
                synchronised = self.synchronise() => synchronised,
            };
            let pause = match synchronised {
                Ok((listener, position, cursor)) => {
                    let since = tokio::time::Instant::now();
                    self.set_synced(true);
                    let lost = self.run(listener, position, cursor, &stop).await;
                    self.set_synced(false);
                    if lost == Lost::Stopped {
                        return;
                    }
                    self.metrics.revocation_stream_resync();
                    tracing::warn!(reason = ?lost, "revocation memory no longer synced; resynchronising");
                    // A copy that keeps losing its sync at once must not reload snapshots in a
                    // tight loop; one that held for a while resynchronises straight away.
                    if since.elapsed() > SETTLED {
                        backoff = FIRST_RETRY;
                        continue;
                    }
                    backoff
                }
                Err(error) => {
                    tracing::warn!(error = %Causes(&error), retry_in = ?backoff, "cannot synchronise the revocation memory");
                    backoff
                }
            };
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
            backoff = (backoff * 2).min(LAST_RETRY);
        }
    }

    /// Subscribes, then reads where the stream and the log stand, then merges a snapshot:
    /// whatever committed before the snapshot is in it, and whatever is announced after the
    /// subscription began will be heard, so nothing falls between.
    async fn synchronise(&self) -> StoreResult<(Box<dyn RevocationListener>, StreamPosition, i64)> {
        let listener = self.stream.listen(&self.replica).await?;
        let position = self.stream.position().await?;
        let cursor = self.durable.revocation_log_head().await?;
        let now = OffsetDateTime::now_utc();
        let snapshot = self.durable.revocation_snapshot(now).await?;
        self.merge(&snapshot);
        Ok((listener, position, cursor))
    }

    /// Follows the stream until the sync is lost. Nothing but merging happens in the way of the
    /// stream: acknowledgements are sent, and the log read and cache check run, beside it. A
    /// log read may take up to the database deadline (Postgres slow or away), and all that
    /// while this copy answers checks; an announcement queued behind it would be missing from
    /// the copy although its writer, waiting no longer than [`CONFIRM_WITHIN`], had answered.
    async fn run(
        &self,
        mut listener: Box<dyn RevocationListener>,
        mut position: StreamPosition,
        mut cursor: i64,
        stop: &CancellationToken,
    ) -> Lost {
        let mut log_reads = tokio::time::interval(self.log_interval);
        log_reads.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        log_reads.tick().await;
        let mut upkeep: Option<Upkeep<'_>> = None;
        let mut acknowledgements = JoinSet::new();
        loop {
            while acknowledgements.try_join_next().is_some() {}
            tokio::select! {
                () = stop.cancelled() => return Lost::Stopped,
                heard = listener.heard() => match heard {
                    None => return Lost::Subscription,
                    Some(Heard::Announcement(announcement)) => {
                        let Some(next) = position.after(&announcement.generation, announcement.epoch) else {
                            return Lost::Gap;
                        };
                        position = next;
                        self.merge(&announcement.changes);
                        self.acknowledge(&mut acknowledgements, announcement);
                    }
                    Some(Heard::Acknowledged { generation, epoch, by }) => {
                        // Nobody waiting is fine: the writer gave up or already has enough.
                        let _ = self.acknowledgements.send((generation, epoch, by));
                    }
                },
                read = async {
                    match upkeep.as_mut() {
                        Some(running) => running.await,
                        None => std::future::pending().await,
                    }
                }, if upkeep.is_some() => {
                    upkeep = None;
                    match read {
                        Ok(Some(through)) => cursor = through,
                        Ok(None) => return Lost::Purged,
                        Err(error) => tracing::warn!(error = %Causes(&error), "cannot read the revocation log"),
                    }
                }
                _ = log_reads.tick(), if upkeep.is_none() => {
                    upkeep = Some(Box::pin(self.upkeep(cursor)));
                }
            }
        }
    }

    /// Tells the writer of `announcement`, already merged, that this replica holds it, without
    /// holding up the stream. Past [`MAX_ACKNOWLEDGING`] sends in flight it is not told: it
    /// stops waiting after [`CONFIRM_WITHIN`], and counts the announcement unconfirmed.
    fn acknowledge(&self, sending: &mut JoinSet<()>, announcement: Announcement) {
        if sending.len() >= MAX_ACKNOWLEDGING {
            tracing::warn!(
                epoch = announcement.epoch,
                "too many acknowledgements in flight; not acknowledging"
            );
            return;
        }
        let stream = Arc::clone(&self.stream);
        let replica = self.replica.clone();
        sending.spawn(async move {
            let Announcement {
                generation,
                epoch,
                writer,
                ..
            } = announcement;
            if let Err(error) = stream
                .acknowledge(&writer, &generation, epoch, &replica)
                .await
            {
                tracing::warn!(error = %Causes(&error), "could not acknowledge a revocation");
            }
        });
    }

    /// One log read, then the periodic chores; the read's answer as [`Self::catch_up`]'s.
    async fn upkeep(&self, cursor: i64) -> StoreResult<Option<i64>> {
        let read = self.catch_up(cursor).await;
        self.forget_expired();
        self.check_cache().await;
        read
    }

    /// Merges every log entry after `cursor`; the new cursor, or `None` if entries were purged.
    async fn catch_up(&self, mut cursor: i64) -> StoreResult<Option<i64>> {
        loop {
            match self.durable.revocation_log_since(cursor, LOG_PAGE).await? {
                LogRead::Purged => return Ok(None),
                LogRead::Entries { changes, through } => {
                    self.merge(&changes);
                    let read = through - cursor;
                    cursor = through;
                    if read < i64::from(LOG_PAGE) {
                        return Ok(Some(cursor));
                    }
                }
            }
        }
    }

    /// A cache that lost its data is refilled even when no check asks it anything (this copy
    /// answers them), so that replicas not yet synced can rely on it again.
    async fn check_cache(&self) {
        if let Ok(false) = self.stream.vouches().await {
            self.refiller.refill_in_background();
        }
    }
}
