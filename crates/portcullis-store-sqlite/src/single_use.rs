//! Single-use keys of the embedded tier (see `portcullis_core::single_use`), in the
//! `single_uses` table of migration 0010. Each method is one statement, so the check and the
//! write cannot be split by another caller: SQLite runs a statement alone.

use crate::error::db_error;
use crate::rows::to_ms;
use crate::SqliteStore;
use async_trait::async_trait;
use portcullis_core::single_use::lapses_before_recorded;
use portcullis_core::{SingleUse, SingleUseKey, StoreResult};
use time::OffsetDateTime;

#[async_trait]
impl SingleUse for SqliteStore {
    #[tracing::instrument(skip_all, fields(namespace = key.namespace().name()))]
    async fn first_use(
        &self,
        key: &SingleUseKey,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        if lapses_before_recorded(until, now) {
            return Ok(false);
        }
        // A new key is inserted; a lapsed one is replaced; a live one is left alone, and then
        // no row changed.
        let changed = sqlx::query(
            "INSERT INTO single_uses (key, until) VALUES (?, ?) \
             ON CONFLICT (key) DO UPDATE SET until = excluded.until \
             WHERE single_uses.until <= ?",
        )
        .bind(key.stored_name())
        .bind(to_ms(until))
        .bind(to_ms(now))
        .execute(&self.writer)
        .await
        .map_err(db_error)?
        .rows_affected();
        Ok(changed == 1)
    }

    #[tracing::instrument(skip_all, fields(namespace = key.namespace().name()))]
    async fn take(&self, key: &SingleUseKey, now: OffsetDateTime) -> StoreResult<bool> {
        // Deleted whether lapsed or not, as Redis's GETDEL does: the first answer to a
        // challenge consumes it, in time or too late.
        let until: Option<i64> =
            sqlx::query_scalar("DELETE FROM single_uses WHERE key = ? RETURNING until")
                .bind(key.stored_name())
                .fetch_optional(&self.writer)
                .await
                .map_err(db_error)?;
        Ok(until.is_some_and(|until| until > to_ms(now)))
    }
}
