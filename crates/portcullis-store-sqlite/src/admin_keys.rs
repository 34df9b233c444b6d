//! Admin API keys in SQLite (hashes only).

use crate::error::{admin_key_insert_error, db_error};
use crate::rows::{from_ms, to_ms};
use crate::SqliteStore;
use async_trait::async_trait;
use portcullis_core::admin::AdminKey;
use portcullis_core::{AdminKeyStore, StoreError, StoreResult, TokenHash};
use time::OffsetDateTime;

type KeyRow = (String, Vec<u8>, i64, Option<i64>);

fn admin_key((name, hash, created_at, revoked_at): KeyRow) -> StoreResult<AdminKey> {
    let hash: [u8; 32] = hash
        .try_into()
        .map_err(|_| StoreError::Backend("admin key hash of the wrong length".into()))?;
    Ok(AdminKey {
        name,
        hash: TokenHash(hash),
        created_at: from_ms(created_at),
        revoked_at: revoked_at.map(from_ms),
    })
}

#[async_trait]
impl AdminKeyStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(name = %key.name))]
    async fn insert_admin_key(&self, key: &AdminKey) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO admin_keys (name, hash, created_at, revoked_at) VALUES (?, ?, ?, ?)",
        )
        .bind(&key.name)
        .bind(&key.hash.0[..])
        .bind(to_ms(key.created_at))
        .bind(key.revoked_at.map(to_ms))
        .execute(&self.writer)
        .await
        .map_err(admin_key_insert_error)?;
        Ok(())
    }

    async fn admin_key_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<AdminKey>> {
        let row: Option<KeyRow> = sqlx::query_as(
            "SELECT name, hash, created_at, revoked_at FROM admin_keys WHERE hash = ?",
        )
        .bind(&hash.0[..])
        .fetch_optional(&self.reader)
        .await
        .map_err(db_error)?;
        row.map(admin_key).transpose()
    }

    async fn admin_keys(&self) -> StoreResult<Vec<AdminKey>> {
        let rows: Vec<KeyRow> = sqlx::query_as(
            "SELECT name, hash, created_at, revoked_at FROM admin_keys ORDER BY created_at, name",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(db_error)?;
        rows.into_iter().map(admin_key).collect()
    }

    #[tracing::instrument(skip_all, fields(name = %name))]
    async fn revoke_admin_key(&self, name: &str, now: OffsetDateTime) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE admin_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
        )
        .bind(to_ms(now))
        .bind(name)
        .execute(&self.writer)
        .await
        .map_err(db_error)?;
        Ok(result.rows_affected() == 1)
    }
}
