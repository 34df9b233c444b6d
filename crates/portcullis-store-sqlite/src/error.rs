//! Maps sqlx and SQLite failures onto [`StoreError`]: trouble reaching the database file in time
//! is `Unavailable` (the request may be retried), a broken uniqueness rule the client caused is
//! its own variant next to the insert that can break it, the rest `Backend`.

use portcullis_core::StoreError;

/// Maps any sqlx error of this crate.
pub(crate) fn db_error(error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(error.into())
        }
        other => StoreError::Backend(other.into()),
    }
}

/// Maps an insert into `users`: only the email's uniqueness is the client's business; a
/// repeated id is a bug and stays a backend failure.
pub(crate) fn user_insert_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db)
            if db.is_unique_violation() && db.message().contains("users.email") =>
        {
            StoreError::EmailTaken
        }
        _ => db_error(error),
    }
}

/// Maps an insert into `admin_keys`: a taken name is the caller's error.
pub(crate) fn admin_key_insert_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::AdminKeyNameTaken,
        _ => db_error(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_or_exhausted_pool_is_transient_but_a_missing_row_is_not() {
        assert!(matches!(
            db_error(sqlx::Error::PoolTimedOut),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            db_error(sqlx::Error::RowNotFound),
            StoreError::Backend(_)
        ));
    }
}
