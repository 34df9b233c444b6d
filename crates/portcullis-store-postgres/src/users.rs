//! User accounts in Postgres. A duplicate email becomes [`StoreError::EmailTaken`] right next to
//! the insert; nothing here validates input (the core's rules did that already).

use crate::error::{db_error, user_insert_error};
use crate::rows::{UserRow, USER_COLUMNS};
use crate::PgStore;
use async_trait::async_trait;
use portcullis_core::store::UserStore;
use portcullis_core::{StoreResult, User, UserId};

#[async_trait]
impl UserStore for PgStore {
    #[tracing::instrument(skip_all, fields(user_id = %user.id))]
    async fn insert_user(&self, user: &User) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, roles, token_version, locked, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(user.id.0)
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(&user.roles)
        .bind(user.token_version)
        .bind(user.locked)
        .bind(user.created_at)
        .execute(&self.pool)
        .await
        .map_err(user_insert_error)?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        let row: Option<UserRow> = sqlx::query_as(&sql)
            .bind(email)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(row.map(User::from))
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row: Option<UserRow> = sqlx::query_as(&sql)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(row.map(User::from))
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn set_password_hash(&self, id: UserId, password_hash: &str) -> StoreResult<()> {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn set_roles(&self, id: UserId, roles: &[String]) -> StoreResult<Option<i64>> {
        sqlx::query_scalar(
            "UPDATE users SET roles = $1, token_version = token_version + 1 WHERE id = $2 RETURNING token_version",
        )
        .bind(roles)
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn set_locked(&self, id: UserId, locked: bool) -> StoreResult<bool> {
        let result = sqlx::query("UPDATE users SET locked = $1 WHERE id = $2")
            .bind(locked)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(result.rows_affected() == 1)
    }
}

/// Reads one user inside a transaction, taking a share lock on its row until the transaction
/// ends: a lock or token-version bump (`UPDATE users`) then waits for this transaction, and one
/// already committed is what this read returns. Always taken before any family row lock, the
/// order [`PgStore::revoke_user_families`](crate::PgStore) uses too, so the two never deadlock.
pub(crate) async fn user_in(conn: &mut crate::Conn, id: UserId) -> StoreResult<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1 FOR SHARE");
    let row: Option<UserRow> = sqlx::query_as(&sql)
        .bind(id.0)
        .fetch_optional(conn)
        .await
        .map_err(db_error)?;
    Ok(row.map(User::from))
}
