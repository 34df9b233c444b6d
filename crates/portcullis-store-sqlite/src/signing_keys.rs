//! Signing keys in SQLite, shared by every process that opens the database.

use crate::error::db_error;
use crate::rows::{from_ms, to_ms};
use crate::SqliteStore;
use async_trait::async_trait;
use portcullis_core::{SigningKeyStore, StoreResult, StoredSigningKey};

#[async_trait]
impl SigningKeyStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(alg = %candidate.alg))]
    async fn ensure_signing_key(
        &self,
        candidate: &StoredSigningKey,
    ) -> StoreResult<Vec<StoredSigningKey>> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, public_key, encrypted_private_key, created_at) \
             SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE alg = ?)",
        )
        .bind(&candidate.kid)
        .bind(&candidate.alg)
        .bind(&candidate.public_key)
        .bind(&candidate.encrypted_private_key)
        .bind(to_ms(candidate.created_at))
        .bind(&candidate.alg)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        let rows: Vec<(String, String, Vec<u8>, Vec<u8>, i64)> = sqlx::query_as(
            "SELECT kid, alg, public_key, encrypted_private_key, created_at FROM signing_keys \
             ORDER BY created_at DESC, kid",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(rows
            .into_iter()
            .map(
                |(kid, alg, public_key, encrypted_private_key, created_at)| StoredSigningKey {
                    kid,
                    alg,
                    public_key,
                    encrypted_private_key,
                    created_at: from_ms(created_at),
                },
            )
            .collect())
    }
}
