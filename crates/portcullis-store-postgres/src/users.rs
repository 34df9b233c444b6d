//! User accounts in Postgres. A duplicate email becomes [`StoreError::EmailTaken`] right next to
//! the insert; nothing here validates input (the core's rules did that already).

use crate::error::{db_error, user_insert_error};
use crate::family_rows::revoke_families_of_in;
use crate::rows::{UserRow, UserSummaryRow, USER_COLUMNS, USER_SUMMARY_COLUMNS};
use crate::PgStore;
use async_trait::async_trait;
use portcullis_core::account::{
    Erased, Erasure, PasswordReset, PasswordResetOutcome, UserQuery, UserSummary,
};
use portcullis_core::store::UserStore;
use portcullis_core::{RevocationReason, StoreResult, User, UserId, UserRevocation};
use sqlx::QueryBuilder;

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
    async fn replace_password_hash(
        &self,
        id: UserId,
        current: &str,
        new: &str,
    ) -> StoreResult<bool> {
        let result =
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3")
                .bind(new)
                .bind(id.0)
                .bind(current)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
        Ok(result.rows_affected() == 1)
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
    async fn reset_password(
        &self,
        id: UserId,
        reset: &PasswordReset<'_>,
    ) -> StoreResult<Option<PasswordResetOutcome>> {
        let mut tx = self.begin().await?;
        // The row lock first, as every writer of the user's sessions takes it; the hash to
        // replace and the session to keep are judged as they stand under it.
        let current: Option<String> =
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1 FOR UPDATE")
                .bind(id.0)
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
                "SELECT EXISTS (SELECT 1 FROM refresh_families WHERE id = $1 AND user_id = $2 \
                 AND revoked_at IS NULL)",
            )
            .bind(keep.0)
            .bind(id.0)
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
            "UPDATE users SET password_hash = $1, token_version = token_version + $2 \
             WHERE id = $3 RETURNING token_version",
        )
        .bind(reset.password_hash)
        .bind(bump)
        .bind(id.0)
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
        let mut sql = QueryBuilder::new(format!(
            "SELECT {USER_SUMMARY_COLUMNS} FROM users WHERE true"
        ));
        if let Some(text) = &query.email_contains {
            // strpos, not LIKE: the text is matched as it is, '%' and '_' included.
            sql.push(" AND strpos(email, ")
                .push_bind(text.clone())
                .push(") > 0");
        }
        if let Some(role) = &query.role {
            sql.push(" AND ")
                .push_bind(role.clone())
                .push(" = ANY (roles)");
        }
        if let Some(locked) = query.locked {
            sql.push(" AND locked = ").push_bind(locked);
        }
        if let Some(after) = &query.after_email {
            // Byte order, here and in the ORDER BY, whatever the database's collation.
            sql.push(" AND email COLLATE \"C\" > ")
                .push_bind(after.clone());
        }
        sql.push(" ORDER BY email COLLATE \"C\" LIMIT ")
            .push_bind(i64::from(query.limit));
        let rows: Vec<UserSummaryRow> = sql
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(rows.into_iter().map(UserSummary::from).collect())
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn erase_user(&self, id: UserId, erasure: &Erasure) -> StoreResult<Option<Erased>> {
        let mut tx = self.begin().await?;
        // The row lock first, as every writer of a user's sessions takes it: a login or refresh
        // racing this either commits before (and its family is counted and deleted here) or
        // finds no user.
        let email: Option<String> =
            sqlx::query_scalar("SELECT email FROM users WHERE id = $1 FOR UPDATE")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_error)?;
        let Some(email) = email else {
            return Ok(None);
        };
        let sessions_ended: Vec<uuid::Uuid> = sqlx::query_scalar(
            "SELECT id FROM refresh_families WHERE user_id = $1 AND revoked_at IS NULL \
             AND idle_expires_at > $2 AND absolute_expires_at > $2",
        )
        .bind(id.0)
        .bind(erasure.now)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        sqlx::query(
            "INSERT INTO erased_users (id, deny_until) VALUES ($1, $2) ON CONFLICT (id) \
             DO UPDATE SET deny_until = GREATEST(erased_users.deny_until, excluded.deny_until)",
        )
        .bind(id.0)
        .bind(erasure.deny_until)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        // The trail stays, without the address: events about the account, and attempts made on
        // the address before it was registered, name the account by its id instead.
        sqlx::query(
            "UPDATE security_events SET user_id = $2, \
             details = jsonb_set(details, '{email}', to_jsonb($1::text)) \
             WHERE (user_id = $2 OR details->>'email' = $3) AND details ? 'email'",
        )
        .bind(id.0.to_string())
        .bind(id.0)
        .bind(&email)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        // Sessions and refresh tokens go with the row (ON DELETE CASCADE).
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(Some(Erased {
            email,
            sessions_ended: sessions_ended
                .into_iter()
                .map(portcullis_core::SessionId)
                .collect(),
        }))
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
/// order every revocation of a user's families uses too, so the two never deadlock.
pub(crate) async fn user_in(conn: &mut crate::Conn, id: UserId) -> StoreResult<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1 FOR SHARE");
    let row: Option<UserRow> = sqlx::query_as(&sql)
        .bind(id.0)
        .fetch_optional(conn)
        .await
        .map_err(db_error)?;
    Ok(row.map(User::from))
}

/// Records a login on the user's row and reads the user back, in the transaction that opens the
/// session. The update takes the row's lock until the transaction ends, so like [`user_in`] it
/// orders the opening against a concurrent lock, version bump or erasure.
pub(crate) async fn user_logging_in(
    conn: &mut crate::Conn,
    id: UserId,
    at: time::OffsetDateTime,
) -> StoreResult<Option<User>> {
    let sql = format!(
        "UPDATE users SET last_login_at = GREATEST(last_login_at, $2) WHERE id = $1 \
         RETURNING {USER_COLUMNS}"
    );
    let row: Option<UserRow> = sqlx::query_as(&sql)
        .bind(id.0)
        .bind(at)
        .fetch_optional(conn)
        .await
        .map_err(db_error)?;
    Ok(row.map(User::from))
}
