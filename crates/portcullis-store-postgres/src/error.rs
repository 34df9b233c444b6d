//! Maps sqlx and Postgres failures onto [`StoreError`]: trouble reaching the database or
//! getting an answer in time is `Unavailable` (the request may be retried), the rest `Backend`.
//! It never decides anything about the data itself.

use portcullis_core::StoreError;

/// SQLSTATE classes and codes that mean "try again later", not "this request is wrong".
fn is_transient(code: &str) -> bool {
    // 08: connection exceptions; 53: insufficient resources (e.g. too many connections);
    // 57014: query_canceled, which is what `statement_timeout` raises, and 55P03:
    // lock_not_available, what `lock_timeout` raises; 57P0x: server shutting down or starting;
    // 40001/40P01: serialization failure and deadlock, safe to retry.
    code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("57P")
        || matches!(code, "57014" | "55P03" | "40001" | "40P01")
}

/// Maps any sqlx error of this crate.
pub(crate) fn db_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(error.into()),
        sqlx::Error::Database(db) if db.code().is_some_and(|code| is_transient(&code)) => {
            StoreError::Unavailable(error.into())
        }
        _ => StoreError::Backend(error.into()),
    }
}

/// Maps an insert into `users`: the email constraint becomes [`StoreError::EmailTaken`], any
/// other violation (a duplicate id is a bug, not a client error) stays a backend failure.
pub(crate) fn user_insert_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db)
            if db.is_unique_violation() && db.constraint() == Some("users_email_key") =>
        {
            StoreError::EmailTaken
        }
        _ => db_error(error),
    }
}

/// Maps an insert into `admin_keys`: a taken name is the caller's error.
pub(crate) fn admin_key_insert_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db)
            if db.is_unique_violation() && db.constraint() == Some("admin_keys_pkey") =>
        {
            StoreError::AdminKeyNameTaken
        }
        _ => db_error(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_and_lost_connections_are_transient_but_bad_sql_is_not() {
        for code in [
            "57014", "55P03", "08006", "53300", "57P01", "40001", "40P01",
        ] {
            assert!(is_transient(code), "{code}");
        }
        for code in ["23505", "42601", "22P02"] {
            assert!(!is_transient(code), "{code}");
        }
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
