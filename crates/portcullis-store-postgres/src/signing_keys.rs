//! Signing keys in Postgres, shared by every replica. Every write that depends on what is stored
//! (the first key, a scheduled rotation, a retirement) runs under one transaction-scoped
//! advisory lock, so replicas racing to do it agree on the outcome.

use crate::error::db_error;
use crate::PgStore;
use async_trait::async_trait;
use portcullis_core::signing_key::{created_since, may_retire, RetireRefused};
use portcullis_core::{KeyRetirement, SigningKeyStore, StoreResult, StoredSigningKey};
use sqlx::{Postgres, Transaction};
use time::OffsetDateTime;

/// The advisory lock key that serialises signing-key writes ("portcullis keys" in ASCII).
/// Advisory locks are per database, so other applications' locks cannot collide unless they
/// share this database.
const SIGNING_KEY_LOCK: i64 = 0x706f_7274_6b65_7973;

const KEY_COLUMNS: &str =
    "kid, alg, public_key, encrypted_private_key, created_at, activates_at, retired_at";

type KeyRow = (
    String,
    String,
    Vec<u8>,
    Vec<u8>,
    OffsetDateTime,
    OffsetDateTime,
    Option<OffsetDateTime>,
);

/// Begins a transaction holding the signing-key lock until it ends.
async fn begin_locked(store: &PgStore) -> StoreResult<Transaction<'static, Postgres>> {
    let mut tx = store.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(SIGNING_KEY_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    Ok(tx)
}

async fn all_keys(conn: &mut sqlx::PgConnection) -> StoreResult<Vec<StoredSigningKey>> {
    let rows: Vec<KeyRow> = sqlx::query_as(&format!(
        "SELECT {KEY_COLUMNS} FROM signing_keys ORDER BY created_at DESC, kid"
    ))
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    Ok(rows.into_iter().map(stored_key).collect())
}

async fn insert(conn: &mut sqlx::PgConnection, key: &StoredSigningKey) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO signing_keys \
         (kid, alg, public_key, encrypted_private_key, created_at, activates_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&key.kid)
    .bind(&key.alg)
    .bind(&key.public_key)
    .bind(&key.encrypted_private_key)
    .bind(key.created_at)
    .bind(key.activates_at)
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

#[async_trait]
impl SigningKeyStore for PgStore {
    #[tracing::instrument(skip_all, fields(alg = %candidate.alg))]
    async fn ensure_signing_key(
        &self,
        candidate: &StoredSigningKey,
    ) -> StoreResult<Vec<StoredSigningKey>> {
        // Without the lock two replicas could both see no key under READ COMMITTED and insert
        // one each; the lock is released at commit or rollback.
        let mut tx = begin_locked(self).await?;
        let mut keys = all_keys(&mut tx).await?;
        if !keys.iter().any(|key| key.alg == candidate.alg) {
            insert(&mut tx, candidate).await?;
            keys = all_keys(&mut tx).await?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(keys)
    }

    async fn signing_keys(&self) -> StoreResult<Vec<StoredSigningKey>> {
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        all_keys(&mut conn).await
    }

    #[tracing::instrument(skip_all, fields(alg = %key.alg, kid = %key.kid))]
    async fn add_signing_key(
        &self,
        key: &StoredSigningKey,
        unless_created_since: Option<OffsetDateTime>,
    ) -> StoreResult<bool> {
        let mut tx = begin_locked(self).await?;
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
        let mut tx = begin_locked(self).await?;
        let keys = all_keys(&mut tx).await?;
        if let Err(refused) = may_retire(&keys, kid, retirement.now, retirement.token_lifetime) {
            return Ok(Err(refused));
        }
        let row: KeyRow = sqlx::query_as(&format!(
            "UPDATE signing_keys SET retired_at = $2, deny_until = $3 WHERE kid = $1 \
             RETURNING {KEY_COLUMNS}"
        ))
        .bind(kid)
        .bind(retirement.now)
        .bind(retirement.deny_until)
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
        created_at,
        activates_at,
        retired_at,
    }
}
