//! The revocation checks on the verify path, composed from the two storage roles: ask the cache;
//! when it cannot vouch for its contents, answer from the durable store and refill the cache in
//! the background; when it fails, fall back to the durable store or deny, as configured. A token
//! whose revocation state is unknown is never accepted.
//!
//! Which of the two answers is reported as `portcullis_revocation_cache_trusted` (1 from the
//! cache, 0 from the durable store or not at all), as last observed.

use crate::revocation_mirror::RevocationMirror;
use portcullis_core::revocation_stream::RevocationBroadcast;
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
    /// This replica's own copy, on the tiers whose cache is shared (see `revocation_mirror`).
    mirror: Option<Arc<RevocationMirror>>,
    fallback: RevocationFallback,
    refiller: CacheRefiller,
    metrics: Metrics,
}

/// Refills the cache from the durable store in the background, and knows whether the cache may
/// be missing a change meanwhile.
#[derive(Clone)]
pub(crate) struct CacheRefiller {
    durable: Arc<dyn Durable>,
    cache: Arc<dyn RevocationCache>,
    /// Set when a change could not be pushed to the cache: until a full refill succeeds the
    /// cache may be missing a revocation, so the durable store answers instead.
    cache_suspect: Arc<AtomicBool>,
    refilling: Arc<AtomicBool>,
    metrics: Metrics,
    /// Background refills stop when this is cancelled; `tasks` is where shutdown waits for them.
    stop: CancellationToken,
    tasks: TaskTracker,
}

/// Where the checker's background work runs.
pub(crate) struct Background {
    pub stop: CancellationToken,
    pub tasks: TaskTracker,
}

impl RevocationChecker {
    /// With `stream`, keeps a copy of the revocation state in memory, followed every
    /// `log_interval` in the durable revocation log too, and answers from it while it is synced.
    pub fn new(
        durable: Arc<dyn Durable>,
        cache: Arc<dyn RevocationCache>,
        stream: Option<(Arc<dyn RevocationBroadcast>, Duration)>,
        fallback: RevocationFallback,
        metrics: Metrics,
        background: Background,
    ) -> Self {
        let refiller = CacheRefiller {
            durable: Arc::clone(&durable),
            cache: Arc::clone(&cache),
            cache_suspect: Arc::new(AtomicBool::new(false)),
            refilling: Arc::new(AtomicBool::new(false)),
            metrics: metrics.clone(),
            stop: background.stop.clone(),
            tasks: background.tasks.clone(),
        };
        let mirror = stream.map(|(stream, log_interval)| {
            let mirror = RevocationMirror::new(
                Arc::clone(&durable),
                stream,
                refiller.clone(),
                log_interval,
                metrics.clone(),
            );
            mirror.start(background.stop, &background.tasks);
            mirror
        });
        Self {
            durable,
            cache,
            mirror,
            fallback,
            refiller,
            metrics,
        }
    }

    /// Waits (at most `within`) until this replica's copy answers checks; `true` at once on a
    /// tier without one.
    pub async fn memory_synced_within(&self, within: Duration) -> bool {
        match &self.mirror {
            Some(mirror) => mirror.synced_within(within).await,
            None => true,
        }
    }

    /// Fills the cache from the durable store.
    pub async fn refill(&self) -> StoreResult<()> {
        let filled = refill(&*self.durable, &*self.cache).await;
        self.metrics.revocation_cache_trusted(filled.is_ok());
        filled
    }

    /// What is known about `probe`: from this replica's memory while it is synced; else, and
    /// always with [`RevocationFallback::Deny`], from the cache (or the durable store). With
    /// `Deny` a synced memory still adds what it holds, so a revocation the cache lacks (one
    /// made by a replica that could not reach it, read from the revocation log) is refused too.
    pub async fn state(
        &self,
        probe: &RevocationProbe,
        now: OffsetDateTime,
    ) -> StoreResult<RevocationState> {
        let remembered = self
            .mirror
            .as_ref()
            .and_then(|mirror| mirror.state(probe, now));
        match (remembered, self.fallback) {
            (Some(state), RevocationFallback::Durable) => Ok(state),
            (Some(state), RevocationFallback::Deny) => {
                Ok(state.tightest(self.shared_state(probe, now).await?))
            }
            (None, _) => self.shared_state(probe, now).await,
        }
    }

    /// What the shared cache (or, when it cannot vouch, the durable store) knows.
    async fn shared_state(
        &self,
        probe: &RevocationProbe,
        now: OffsetDateTime,
    ) -> StoreResult<RevocationState> {
        if self.refiller.cache_suspect.load(Ordering::Acquire) {
            self.metrics.revocation_cache_trusted(false);
            self.refiller.refill_in_background();
            return self.durable.revocation_state(probe, now).await;
        }
        match self.cache.state(probe, now).await {
            Ok(Some(state)) => {
                self.metrics.revocation_cache_trusted(true);
                Ok(state)
            }
            Ok(None) => {
                self.metrics.revocation_cache_trusted(false);
                self.refiller.refill_in_background();
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
        let published = match &self.mirror {
            Some(mirror) => mirror.publish(changes, now).await,
            None => self.cache.apply(changes, now).await,
        };
        if let Err(error) = published {
            tracing::error!(error = %Causes(&error), "revocation cache update failed; answering from the durable store until it is refilled");
            self.refiller.cache_suspect.store(true, Ordering::Release);
            self.metrics.revocation_cache_trusted(false);
            self.refiller.refill_in_background();
        }
    }

    /// Whether both stores answer; the cache failing alone is reported as degraded.
    pub async fn health(&self) -> (StoreResult<()>, StoreResult<()>) {
        (self.durable.ping().await, self.cache.ping().await)
    }
}

impl CacheRefiller {
    /// Refills the cache from the durable store, retrying with backoff until it succeeds; at most
    /// one such task runs per process. Retrying without waiting for traffic matters: when this
    /// replica failed to publish a revocation, the shared cache lacks it for every replica until
    /// a refill lands. It gives up when the gateway stops.
    pub fn refill_in_background(&self) {
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
