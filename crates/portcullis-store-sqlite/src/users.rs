//! User accounts in SQLite.

use crate::error::{db_error, user_insert_error};
use crate::family_rows::revoke_families_of_in;
use crate::rows::{parse_uuid, to_ms, UserRow, UserSummaryRow, USER_COLUMNS, USER_SUMMARY_COLUMNS};
use crate::{Conn, SqliteStore};
use async_trait::async_trait;
use portcullis_core::account::{
    Erased, Erasure, PasswordReset, PasswordResetOutcome, UserQuery, UserSummary,
};
use portcullis_core::store::UserStore;
use portcullis_core::{
    RevocationReason, SessionId, StoreError, StoreResult, User, UserId, UserRevocation,
};
use sqlx::QueryBuilder;

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
    async fn reset_password(
        &self,
        id: UserId,
        reset: &PasswordReset<'_>,
    ) -> StoreResult<Option<PasswordResetOutcome>> {
        // The write lock is held from here: the hash to replace and the session to keep are
        // judged as they stand when the change is made.
        let mut tx = self.begin_write().await?;
        let current: Option<String> =
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = ?")
                .bind(id.0.to_string())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_error)?;
        let Some(current) = current else {
            return Ok(None);
        };
        if reset.replaces.is_some_and(|proven| proven != current) {
            return Ok(Some(PasswordResetOutcome::Stale));
        }
        if let Some(keep) = reset.keep_session {
            let live: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM refresh_families WHERE id = ? AND user_id = ? \
                 AND revoked_at IS NULL)",
            )
            .bind(keep.0.to_string())
            .bind(id.0.to_string())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
            if !live {
                return Ok(Some(PasswordResetOutcome::Stale));
            }
        }
        // Without a session to keep, every access token dies with the version bump.
        let bump = i64::from(reset.keep_session.is_none());
        let token_version: i64 = sqlx::query_scalar(
            "UPDATE users SET password_hash = ?, token_version = token_version + ? \
             WHERE id = ? RETURNING token_version",
        )
        .bind(reset.password_hash)
        .bind(bump)
        .bind(id.0.to_string())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        let sessions_revoked = revoke_families_of_in(
            &mut tx,
            id,
            reset.keep_session,
            RevocationReason::PasswordChanged,
            reset.deny_until,
            reset.now,
        )
        .await?;
        tx.commit().await.map_err(db_error)?;
        Ok(Some(PasswordResetOutcome::Reset(UserRevocation {
            token_version,
            sessions_revoked,
        })))
    }

    #[tracing::instrument(skip_all)]
    async fn list_users(&self, query: &UserQuery) -> StoreResult<Vec<UserSummary>> {
        let mut sql =
            QueryBuilder::new(format!("SELECT {USER_SUMMARY_COLUMNS} FROM users WHERE 1"));
        if let Some(text) = &query.email_contains {
            // instr, not LIKE: the text is matched as it is, '%' and '_' included.
            sql.push(" AND instr(email, ")
                .push_bind(text.clone())
                .push(") > 0");
        }
        if let Some(role) = &query.role {
            sql.push(" AND EXISTS (SELECT 1 FROM json_each(users.roles) r WHERE r.value = ")
                .push_bind(role.clone())
                .push(")");
        }
        if let Some(locked) = query.locked {
            sql.push(" AND locked = ").push_bind(locked);
        }
        if let Some(after) = &query.after_email {
            sql.push(" AND email > ").push_bind(after.clone());
        }
        sql.push(" ORDER BY email LIMIT ")
            .push_bind(i64::from(query.limit));
        let rows: Vec<UserSummaryRow> = sql
            .build_query_as()
            .fetch_all(&self.reader)
            .await
            .map_err(db_error)?;
        rows.into_iter().map(UserSummary::try_from).collect()
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn erase_user(&self, id: UserId, erasure: &Erasure) -> StoreResult<Option<Erased>> {
        let mut tx = self.begin_write().await?;
        let user_id = id.0.to_string();
        let email: Option<String> = sqlx::query_scalar("SELECT email FROM users WHERE id = ?")
            .bind(&user_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
        let Some(email) = email else {
            return Ok(None);
        };
        let now = to_ms(erasure.now);
        let sessions_ended: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM refresh_families WHERE user_id = ?1 AND revoked_at IS NULL \
             AND idle_expires_at > ?2 AND absolute_expires_at > ?2",
        )
        .bind(&user_id)
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        sqlx::query(
            "INSERT INTO erased_users (id, deny_until) VALUES (?1, ?2) ON CONFLICT (id) \
             DO UPDATE SET deny_until = max(deny_until, excluded.deny_until)",
        )
        .bind(&user_id)
        .bind(to_ms(erasure.deny_until))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        // The trail stays, without the address: events about the account, and attempts made on
        // the address before it was registered, name the account by its id instead.
        sqlx::query(
            "UPDATE security_events SET user_id = ?1, details = json_set(details, '$.email', ?1) \
             WHERE (user_id = ?1 OR json_extract(details, '$.email') = ?2) \
             AND json_type(details, '$.email') IS NOT NULL",
        )
        .bind(&user_id)
        .bind(&email)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        // Sessions and refresh tokens go with the row (ON DELETE CASCADE).
        sqlx::query("DELETE FROM users WHERE id = ?")
            .bind(&user_id)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        // The old pages of the rows just rewritten or deleted still sit in the write-ahead log
        // until a checkpoint copies them back (zeroed, with secure_delete) and truncates it.
        // Best effort: a reader holding the log open only postpones this to the next checkpoint.
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.writer)
            .await
        {
            tracing::warn!(error = %error, "checkpoint after an erasure failed");
        }
        let sessions_ended = sessions_ended
            .iter()
            .map(|id| parse_uuid(id).map(SessionId))
            .collect::<StoreResult<_>>()?;
        Ok(Some(Erased {
            email,
            sessions_ended,
        }))
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
    async fn replace_password_hash(
        &self,
        id: UserId,
        current: &str,
        new: &str,
    ) -> StoreResult<bool> {
        let result =
            sqlx::query("UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?")
                .bind(new)
                .bind(id.0.to_string())
                .bind(current)
                .execute(&self.writer)
                .await
                .map_err(db_error)?;
        Ok(result.rows_affected() == 1)
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

/// Records a login on the user's row and reads the user back, in the write transaction that
/// opens the session (see [`user_in`] for why that read holds).
pub(crate) async fn user_logging_in(
    conn: &mut Conn,
    id: UserId,
    at: time::OffsetDateTime,
) -> StoreResult<Option<User>> {
    let sql = format!(
        "UPDATE users SET last_login_at = max(coalesce(last_login_at, ?2), ?2) WHERE id = ?1 \
         RETURNING {USER_COLUMNS}"
    );
    let row: Option<UserRow> = sqlx::query_as(&sql)
        .bind(id.0.to_string())
        .bind(to_ms(at))
        .fetch_optional(conn)
        .await
        .map_err(db_error)?;
    row.map(User::try_from).transpose()
}
