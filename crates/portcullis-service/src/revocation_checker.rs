//! The revocation checks on the verify path, composed from the two storage roles: ask the cache;
//! when it cannot vouch for its contents, answer from the durable store and refill the cache in
//! the background; when it fails, fall back to the durable store or deny, as configured. A token
//! whose revocation state is unknown is never accepted.
//!
//! Which of the two answers is reported as `portcullis_revocation_cache_trusted` (1 from the
//! cache, 0 from the durable store or not at all), as last observed.

use portcullis_core::Causes;
use portcullis_core::{
    Durable, RevocationCache, RevocationChange, RevocationProbe, RevocationState, StoreError,
    StoreResult,
};
use portcullis_metrics::Metrics;
use serde::Deserialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What to do when the revocation cache cannot be reached. Read from configuration as
/// `durable` (also `postgres` or `database`) or `deny`, in lower case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RevocationFallback {
    /// Ask the durable store (slower, still correct).
    #[serde(alias = "postgres", alias = "database")]
    Durable,
    /// Refuse the token.
    Deny,
}

pub(crate) struct RevocationChecker {
    durable: Arc<dyn Durable>,
    cache: Arc<dyn RevocationCache>,
    fallback: RevocationFallback,
    /// Set when a change could not be pushed to the cache: until a full refill succeeds the
    /// cache may be missing a revocation, so the durable store answers instead.
    cache_suspect: Arc<AtomicBool>,
    refilling: Arc<AtomicBool>,
    metrics: Metrics,
    /// Background refills stop when this is cancelled; `tasks` is where shutdown waits for them.
    stop: CancellationToken,
    tasks: TaskTracker,
}

impl RevocationChecker {
    pub fn new(
        durable: Arc<dyn Durable>,
        cache: Arc<dyn RevocationCache>,
        fallback: RevocationFallback,
        metrics: Metrics,
        stop: CancellationToken,
        tasks: TaskTracker,
    ) -> Self {
        Self {
            durable,
            cache,
            fallback,
            cache_suspect: Arc::new(AtomicBool::new(false)),
            refilling: Arc::new(AtomicBool::new(false)),
            metrics,
            stop,
            tasks,
        }
    }

    /// Fills the cache from the durable store.
    pub async fn refill(&self) -> StoreResult<()> {
        let filled = refill(&*self.durable, &*self.cache).await;
        self.metrics.revocation_cache_trusted(filled.is_ok());
        filled
    }

    pub async fn state(
        &self,
        probe: &RevocationProbe,
        now: OffsetDateTime,
    ) -> StoreResult<RevocationState> {
        if self.cache_suspect.load(Ordering::Acquire) {
            self.metrics.revocation_cache_trusted(false);
            self.refill_in_background();
            return self.durable.revocation_state(probe, now).await;
        }
        match self.cache.state(probe, now).await {
            Ok(Some(state)) => {
                self.metrics.revocation_cache_trusted(true);
                Ok(state)
            }
            Ok(None) => {
                self.metrics.revocation_cache_trusted(false);
                self.refill_in_background();
                self.durable.revocation_state(probe, now).await
            }
            Err(error) => {
                self.metrics.revocation_cache_trusted(false);
                tracing::warn!(error = %Causes(&error), "revocation cache unavailable");
                match self.fallback {
                    RevocationFallback::Durable => self.durable.revocation_state(probe, now).await,
                    RevocationFallback::Deny => Err(error),
                }
            }
        }
    }

    /// Pushes changes that are already durable to the cache. A failure here is not the
    /// caller's failure (the revocation is committed) but makes the cache suspect until refilled.
    pub async fn publish(&self, changes: &[RevocationChange], now: OffsetDateTime) {
        if changes.is_empty() {
            return;
        }
        if let Err(error) = self.cache.apply(changes, now).await {
            tracing::error!(error = %Causes(&error), "revocation cache update failed; answering from the durable store until it is refilled");
            self.cache_suspect.store(true, Ordering::Release);
            self.metrics.revocation_cache_trusted(false);
            self.refill_in_background();
        }
    }

    /// Whether both stores answer; the cache failing alone is reported as degraded.
    pub async fn health(&self) -> (StoreResult<()>, StoreResult<()>) {
        (self.durable.ping().await, self.cache.ping().await)
    }

    /// Refills the cache from the durable store, retrying with backoff until it succeeds; at most
    /// one such task runs per process. Retrying without waiting for traffic matters: when this
    /// replica failed to publish a revocation, the shared cache lacks it for every replica until
    /// a refill lands. It gives up when the gateway stops.
    fn refill_in_background(&self) {
        if self.refilling.swap(true, Ordering::AcqRel) {
            return;
        }
        let (durable, cache) = (Arc::clone(&self.durable), Arc::clone(&self.cache));
        let (suspect, refilling) = (Arc::clone(&self.cache_suspect), Arc::clone(&self.refilling));
        let stop = self.stop.clone();
        let metrics = self.metrics.clone();
        self.tasks.spawn(async move {
            let retries = async {
                let mut backoff = Duration::from_millis(100);
                loop {
                    match refill(&*durable, &*cache).await {
                        Ok(()) => {
                            suspect.store(false, Ordering::Release);
                            metrics.revocation_cache_trusted(true);
                            break;
                        }
                        Err(error) => {
                            tracing::warn!(error = %Causes(&error), retry_in = ?backoff, "revocation cache refill failed");
                            tokio::time::sleep(backoff).await;
                            backoff = (backoff * 2).min(Duration::from_secs(2));
                        }
                    }
                }
            };
            tokio::select! {
                () = stop.cancelled() => {}
                () = retries => {}
            }
            refilling.store(false, Ordering::Release);
        });
    }
}

async fn refill(durable: &dyn Durable, cache: &dyn RevocationCache) -> Result<(), StoreError> {
    let now = OffsetDateTime::now_utc();
    let snapshot = durable.revocation_snapshot(now).await?;
    cache.load(&snapshot, now).await
}
