//! Signing keys in Postgres, shared by every replica. The first key of an algorithm is created
//! under a transaction-scoped advisory lock, so replicas starting together agree on one key.

use crate::error::db_error;
use crate::PgStore;
use async_trait::async_trait;
use portcullis_core::{SigningKeyStore, StoreResult, StoredSigningKey};
use time::OffsetDateTime;

/// The advisory lock key that serialises first-key creation ("portcullis keys" in ASCII).
/// Advisory locks are per database, so other applications' locks cannot collide unless they
/// share this database.
const SIGNING_KEY_LOCK: i64 = 0x706f_7274_6b65_7973;

type KeyRow = (String, String, Vec<u8>, Vec<u8>, OffsetDateTime);

#[async_trait]
impl SigningKeyStore for PgStore {
    #[tracing::instrument(skip_all, fields(alg = %candidate.alg))]
    async fn ensure_signing_key(
        &self,
        candidate: &StoredSigningKey,
    ) -> StoreResult<Vec<StoredSigningKey>> {
        let mut tx = self.begin().await?;
        // Without the lock two replicas could both see no key under READ COMMITTED and insert
        // one each; the lock is released at commit or rollback.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(SIGNING_KEY_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, public_key, encrypted_private_key, created_at) \
             SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE alg = $2)",
        )
        .bind(&candidate.kid)
        .bind(&candidate.alg)
        .bind(&candidate.public_key)
        .bind(&candidate.encrypted_private_key)
        .bind(candidate.created_at)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        let rows: Vec<KeyRow> = sqlx::query_as(
            "SELECT kid, alg, public_key, encrypted_private_key, created_at FROM signing_keys \
             ORDER BY created_at DESC, kid",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(rows.into_iter().map(stored_key).collect())
    }
}

fn stored_key(
    (kid, alg, public_key, encrypted_private_key, created_at): KeyRow,
) -> StoredSigningKey {
    StoredSigningKey {
        kid,
        alg,
        public_key,
        encrypted_private_key,
        created_at,
    }
}
