//! Maps Redis failures and elapsed deadlines onto [`StoreError`]. Anything that means "Redis
//! cannot answer right now" is `Unavailable`, so the caller falls back to the durable store.

use portcullis_core::{StoreError, StoreResult};
use redis::{ErrorKind, RedisError, ServerErrorKind};
use std::future::Future;
use std::time::Duration;

pub(crate) fn redis_error(error: RedisError) -> StoreError {
    let transient = error.is_io_error()
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_cluster_error()
        || matches!(
            error.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::ReadOnly
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::ClusterDown
            ) | ErrorKind::ClusterConnectionNotFound
        );
    if transient {
        StoreError::Unavailable(error.into())
    } else {
        StoreError::Backend(error.into())
    }
}

/// Runs one Redis call under `limit`; an elapsed deadline is `Unavailable`.
pub(crate) async fn bounded<T>(
    limit: Duration,
    what: &str,
    call: impl Future<Output = redis::RedisResult<T>>,
) -> StoreResult<T> {
    match tokio::time::timeout(limit, call).await {
        Ok(result) => result.map_err(redis_error),
        Err(_) => Err(StoreError::Unavailable(
            format!("redis: {what} took longer than {limit:?}").into(),
        )),
    }
}
