//! Signing keys in SQLite, shared by every process that opens the database. Every write that
//! depends on what is stored (the first key, a scheduled rotation, a retirement) reads and
//! writes in one `BEGIN IMMEDIATE` transaction, so two processes cannot both act on one view.

use crate::error::db_error;
use crate::rows::{from_ms, to_ms};
use crate::SqliteStore;
use async_trait::async_trait;
use portcullis_core::signing_key::{created_since, may_retire, RetireRefused};
use portcullis_core::{KeyRetirement, SigningKeyStore, StoreResult, StoredSigningKey};
use sqlx::SqliteConnection;
use time::OffsetDateTime;

const KEY_COLUMNS: &str =
    "kid, alg, public_key, encrypted_private_key, created_at, activates_at, retired_at";

type KeyRow = (String, String, Vec<u8>, Vec<u8>, i64, i64, Option<i64>);

async fn all_keys(conn: &mut SqliteConnection) -> StoreResult<Vec<StoredSigningKey>> {
    let rows: Vec<KeyRow> = sqlx::query_as(&format!(
        "SELECT {KEY_COLUMNS} FROM signing_keys ORDER BY created_at DESC, kid"
    ))
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    Ok(rows.into_iter().map(stored_key).collect())
}

async fn insert(conn: &mut SqliteConnection, key: &StoredSigningKey) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO signing_keys \
         (kid, alg, public_key, encrypted_private_key, created_at, activates_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&key.kid)
    .bind(&key.alg)
    .bind(&key.public_key)
    .bind(&key.encrypted_private_key)
    .bind(to_ms(key.created_at))
    .bind(to_ms(key.activates_at))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

#[async_trait]
impl SigningKeyStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(alg = %candidate.alg))]
    async fn ensure_signing_key(
        &self,
        candidate: &StoredSigningKey,
    ) -> StoreResult<Vec<StoredSigningKey>> {
        let mut tx = self.begin_write().await?;
        let mut keys = all_keys(&mut tx).await?;
        if !keys.iter().any(|key| key.alg == candidate.alg) {
            insert(&mut tx, candidate).await?;
            keys = all_keys(&mut tx).await?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(keys)
    }

    async fn signing_keys(&self) -> StoreResult<Vec<StoredSigningKey>> {
        let mut conn = self.reader.acquire().await.map_err(db_error)?;
        all_keys(&mut conn).await
    }

    #[tracing::instrument(skip_all, fields(alg = %key.alg, kid = %key.kid))]
    async fn add_signing_key(
        &self,
        key: &StoredSigningKey,
        unless_created_since: Option<OffsetDateTime>,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let keys = all_keys(&mut tx).await?;
        if unless_created_since.is_some_and(|since| created_since(&keys, &key.alg, since)) {
            return Ok(false);
        }
        insert(&mut tx, key).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(true)
    }

    #[tracing::instrument(skip_all, fields(kid))]
    async fn retire_signing_key(
        &self,
        kid: &str,
        retirement: &KeyRetirement,
    ) -> StoreResult<Result<StoredSigningKey, RetireRefused>> {
        let mut tx = self.begin_write().await?;
        let keys = all_keys(&mut tx).await?;
        if let Err(refused) = may_retire(&keys, kid, retirement.now, retirement.token_lifetime) {
            return Ok(Err(refused));
        }
        let row: KeyRow = sqlx::query_as(&format!(
            "UPDATE signing_keys SET retired_at = ?2, deny_until = ?3 WHERE kid = ?1 \
             RETURNING {KEY_COLUMNS}"
        ))
        .bind(kid)
        .bind(to_ms(retirement.now))
        .bind(to_ms(retirement.deny_until))
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(Ok(stored_key(row)))
    }
}

fn stored_key(
    (kid, alg, public_key, encrypted_private_key, created_at, activates_at, retired_at): KeyRow,
) -> StoredSigningKey {
    StoredSigningKey {
        kid,
        alg,
        public_key,
        encrypted_private_key,
        created_at: from_ms(created_at),
        activates_at: from_ms(activates_at),
        retired_at: retired_at.map(from_ms),
    }
}
