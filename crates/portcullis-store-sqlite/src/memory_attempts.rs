//! In-process login-failure counters of the embedded tier (one gateway process, so memory is
//! the shared place). Counters are lost on restart, which only forgives recent failures.

use async_trait::async_trait;
use portcullis_core::throttle::Window;
use portcullis_core::{AttemptCounter, StoreResult};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;

/// Beyond this many open windows, expired ones are swept on the next write.
const SWEEP_THRESHOLD: usize = 10_000;

#[derive(Default)]
pub struct MemoryAttemptCounter {
    windows: Mutex<HashMap<String, Window>>,
}

impl MemoryAttemptCounter {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl AttemptCounter for MemoryAttemptCounter {
    async fn windows(
        &self,
        keys: &[String],
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Option<Window>>> {
        let windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(keys
            .iter()
            .map(|key| {
                windows
                    .get(key)
                    .copied()
                    .filter(|window| window.resets_at > now)
            })
            .collect())
    }

    async fn add_failure(
        &self,
        key: &str,
        window: Duration,
        now: OffsetDateTime,
    ) -> StoreResult<Window> {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if windows.len() > SWEEP_THRESHOLD {
            windows.retain(|_, open| open.resets_at > now);
        }
        let entry = windows
            .entry(key.to_owned())
            .and_modify(|open| {
                if open.resets_at <= now {
                    *open = Window {
                        count: 0,
                        resets_at: now + window,
                    };
                }
            })
            .or_insert(Window {
                count: 0,
                resets_at: now + window,
            });
        entry.count = entry.count.saturating_add(1);
        Ok(*entry)
    }

    async fn clear(&self, key: &str) -> StoreResult<()> {
        self.windows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn failures_count_within_a_window_and_reset_after_it() {
        let counter = MemoryAttemptCounter::new();
        let now = OffsetDateTime::now_utc();
        let minute = Duration::from_secs(60);
        counter.add_failure("a", minute, now).await.expect("add");
        let second = counter.add_failure("a", minute, now).await.expect("add");
        assert_eq!(second.count, 2);
        let keys = ["a".to_owned(), "b".to_owned()];
        let open = counter.windows(&keys, now).await.expect("windows");
        assert_eq!(open[0].map(|w| w.count), Some(2));
        assert_eq!(open[1], None, "another key is untouched");
        let later = now + minute;
        assert_eq!(
            counter.windows(&keys, later).await.expect("windows")[0],
            None
        );
        assert_eq!(
            counter
                .add_failure("a", minute, later)
                .await
                .expect("add")
                .count,
            1
        );
        counter.clear("a").await.expect("clear");
        assert_eq!(
            counter.windows(&keys, later).await.expect("windows")[0],
            None
        );
    }
}
