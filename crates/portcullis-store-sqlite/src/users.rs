//! User accounts in SQLite.

use crate::error::{db_error, user_insert_error};
use crate::rows::{to_ms, UserRow, USER_COLUMNS};
use crate::{Conn, SqliteStore};
use async_trait::async_trait;
use portcullis_core::store::UserStore;
use portcullis_core::{StoreError, StoreResult, User, UserId};

#[async_trait]
impl UserStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(user_id = %user.id))]
    async fn insert_user(&self, user: &User) -> StoreResult<()> {
        let roles = serde_json::to_string(&user.roles)
            .map_err(|error| StoreError::Backend(error.into()))?;
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, roles, token_version, locked, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(user.id.0.to_string())
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(roles)
        .bind(user.token_version)
        .bind(user.locked)
        .bind(to_ms(user.created_at))
        .execute(&self.writer)
        .await
        .map_err(user_insert_error)?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?");
        let row: Option<UserRow> = sqlx::query_as(&sql)
            .bind(email)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_error)?;
        row.map(User::try_from).transpose()
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?");
        let row: Option<UserRow> = sqlx::query_as(&sql)
            .bind(id.0.to_string())
            .fetch_optional(&self.reader)
            .await
            .map_err(db_error)?;
        row.map(User::try_from).transpose()
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn set_locked(&self, id: UserId, locked: bool) -> StoreResult<bool> {
        let result = sqlx::query("UPDATE users SET locked = ? WHERE id = ?")
            .bind(locked)
            .bind(id.0.to_string())
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        Ok(result.rows_affected() == 1)
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn set_roles(&self, id: UserId, roles: &[String]) -> StoreResult<Option<i64>> {
        let roles =
            serde_json::to_string(roles).map_err(|error| StoreError::Backend(error.into()))?;
        sqlx::query_scalar(
            "UPDATE users SET roles = ?, token_version = token_version + 1 WHERE id = ? RETURNING token_version",
        )
        .bind(roles)
        .bind(id.0.to_string())
        .fetch_optional(&self.writer)
        .await
        .map_err(db_error)
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn set_password_hash(&self, id: UserId, password_hash: &str) -> StoreResult<()> {
        sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(id.0.to_string())
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}

/// Reads one user inside a write transaction: `BEGIN IMMEDIATE` holds SQLite's write lock, so
/// no lock or token-version bump can commit between this read and the commit.
pub(crate) async fn user_in(conn: &mut Conn, id: UserId) -> StoreResult<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?");
    let row: Option<UserRow> = sqlx::query_as(&sql)
        .bind(id.0.to_string())
        .fetch_optional(conn)
        .await
        .map_err(db_error)?;
    row.map(User::try_from).transpose()
}
