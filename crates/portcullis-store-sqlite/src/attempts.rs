//! Login-attempt counters of the embedded tier, in SQLite: each reservation reads the counters,
//! applies `portcullis_core::throttle`'s rule and writes, in one `BEGIN IMMEDIATE` transaction,
//! so parallel attempts are decided one after another and counts survive a restart.

use crate::error::db_error;
use crate::rows::{from_ms, to_ms};
use crate::SqliteStore;
use async_trait::async_trait;
use portcullis_core::throttle::Window;
use portcullis_core::throttle::{exhausted, reserved, retry_after, Limit, LimitHit, Reservation};
use portcullis_core::{AttemptCounter, StoreResult};
use sqlx::SqliteConnection;
use time::OffsetDateTime;

/// One counter row, when its window is still open.
struct Counter {
    window: Window,
    refusal_recorded: bool,
}

async fn counter_in(
    conn: &mut SqliteConnection,
    key: &str,
    now: OffsetDateTime,
) -> StoreResult<Option<Counter>> {
    let row: Option<(i64, i64, bool)> = sqlx::query_as(
        "SELECT count, resets_at, refusal_recorded FROM login_attempts \
         WHERE key = ? AND resets_at > ?",
    )
    .bind(key)
    .bind(to_ms(now))
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    Ok(row.map(|(count, resets_at, refusal_recorded)| Counter {
        window: Window {
            count: u32::try_from(count).unwrap_or(u32::MAX),
            resets_at: from_ms(resets_at),
        },
        refusal_recorded,
    }))
}

async fn store_window(
    conn: &mut SqliteConnection,
    key: &str,
    window: Window,
    refusal_recorded: bool,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO login_attempts (key, count, resets_at, refusal_recorded) VALUES (?, ?, ?, ?) \
         ON CONFLICT (key) DO UPDATE SET count = excluded.count, resets_at = excluded.resets_at, \
         refusal_recorded = excluded.refusal_recorded",
    )
    .bind(key)
    .bind(i64::from(window.count))
    .bind(to_ms(window.resets_at))
    .bind(refusal_recorded)
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

#[async_trait]
impl AttemptCounter for SqliteStore {
    #[tracing::instrument(skip_all, fields(counters = counters.len()))]
    async fn reserve(
        &self,
        counters: &[(String, Limit)],
        now: OffsetDateTime,
    ) -> StoreResult<Reservation> {
        let mut tx = self.begin_write().await?;
        let mut current = Vec::with_capacity(counters.len());
        for (key, _) in counters {
            current.push(counter_in(&mut tx, key, now).await?);
        }
        let windows: Vec<(Option<Window>, Limit)> = current
            .iter()
            .zip(counters)
            .map(|(counter, (_, limit))| (counter.as_ref().map(|c| c.window), *limit))
            .collect();
        let reservation = match retry_after(&windows, now) {
            Some(retry_after) => {
                let mut hits = Vec::new();
                for (index, ((key, limit), counter)) in counters.iter().zip(&current).enumerate() {
                    let Some(counter) = counter else { continue };
                    if !exhausted(Some(counter.window), *limit, now) {
                        continue;
                    }
                    if !counter.refusal_recorded {
                        store_window(&mut tx, key, counter.window, true).await?;
                    }
                    hits.push(LimitHit {
                        index,
                        failures: counter.window.count,
                        first: !counter.refusal_recorded,
                    });
                }
                Reservation::Refused { retry_after, hits }
            }
            None => {
                for ((key, limit), counter) in counters.iter().zip(&current) {
                    let before = counter.as_ref().map(|c| c.window);
                    let recorded = counter.as_ref().is_some_and(|c| c.refusal_recorded);
                    store_window(&mut tx, key, reserved(before, *limit, now), recorded).await?;
                }
                // Lapsed windows count as nothing; dropping them keeps the table small.
                sqlx::query("DELETE FROM login_attempts WHERE resets_at <= ?")
                    .bind(to_ms(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                Reservation::Reserved
            }
        };
        tx.commit().await.map_err(db_error)?;
        Ok(reservation)
    }

    #[tracing::instrument(skip_all)]
    async fn release(&self, key: &str, now: OffsetDateTime) -> StoreResult<()> {
        sqlx::query(
            "UPDATE login_attempts SET count = max(count - 1, 0) WHERE key = ? AND resets_at > ?",
        )
        .bind(key)
        .bind(to_ms(now))
        .execute(&self.writer)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn clear(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM login_attempts WHERE key = ?")
            .bind(key)
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = SqliteStore::open(&dir.path().join("t.db"))
            .await
            .expect("open");
        store.migrate().await.expect("migrate");
        (dir, store)
    }

    const LIMIT: Limit = Limit {
        max_failures: 2,
        window: Duration::from_secs(60),
    };

    #[tokio::test]
    async fn reservations_stop_at_the_limit_and_only_the_first_refusal_is_marked_first() {
        let (_dir, store) = store().await;
        let now = OffsetDateTime::now_utc();
        let counters = [("a".to_owned(), LIMIT)];
        for _ in 0..2 {
            let reservation = store.reserve(&counters, now).await.expect("reserve");
            assert_eq!(reservation, Reservation::Reserved);
        }
        let firsts: Vec<bool> = futures_firsts(&store, &counters, now).await;
        assert_eq!(firsts, vec![true, false]);
        let later = now + LIMIT.window;
        let reservation = store.reserve(&counters, later).await.expect("reserve");
        assert_eq!(reservation, Reservation::Reserved, "a new window");
    }

    async fn futures_firsts(
        store: &SqliteStore,
        counters: &[(String, Limit)],
        now: OffsetDateTime,
    ) -> Vec<bool> {
        let mut firsts = Vec::new();
        for _ in 0..2 {
            match store.reserve(counters, now).await.expect("reserve") {
                Reservation::Refused { hits, .. } => firsts.push(hits[0].first),
                Reservation::Reserved => panic!("reserved past the limit"),
            }
        }
        firsts
    }

    #[tokio::test]
    async fn a_release_gives_back_one_reservation_and_clear_forgets_the_counter() {
        let (_dir, store) = store().await;
        let now = OffsetDateTime::now_utc();
        let counters = [("a".to_owned(), LIMIT)];
        store.reserve(&counters, now).await.expect("reserve");
        store.reserve(&counters, now).await.expect("reserve");
        store.release("a", now).await.expect("release");
        assert_eq!(
            store.reserve(&counters, now).await.expect("reserve"),
            Reservation::Reserved
        );
        store.clear("a").await.expect("clear");
        store.reserve(&counters, now).await.expect("reserve");
        assert_eq!(
            store.reserve(&counters, now).await.expect("reserve"),
            Reservation::Reserved
        );
    }
}
