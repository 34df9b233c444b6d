//! The shared command connection, one type for both deployments: a reconnecting
//! [`ConnectionManager`] to a server, or redis-rs's cluster connection, which routes each
//! command to the node owning its keys. Every call in this crate (scripts, MGET, SPUBLISH)
//! goes through [`SharedConnection`] unchanged. Both are lazy: a replica starts while Redis
//! is down, and the connection is made on first use and remade after failures.

use crate::address::RedisAddress;
use crate::error::redis_error;
use portcullis_core::StoreResult;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClient, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};
use std::time::Duration;

/// How many times a command is retried on a fresh connection before it fails (within the
/// caller's own deadline, which bounds the whole call).
const RETRIES: u32 = 2;
/// The longest pause between reconnection attempts.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(1);

/// A connection to a server or a cluster, cheap to clone (clones share it).
#[derive(Clone)]
pub enum SharedConnection {
    Server(ConnectionManager),
    Cluster(ClusterConnection),
}

impl SharedConnection {
    /// Prepares the connection without waiting for Redis; each attempt to connect is bounded by
    /// `connect_timeout`.
    pub fn lazy(address: &RedisAddress, connect_timeout: Duration) -> StoreResult<Self> {
        match address {
            RedisAddress::Server(info) => {
                let client = redis::Client::open(info.clone()).map_err(redis_error)?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(connect_timeout))
                    // Our own deadlines bound each call; reconnecting stays in the background.
                    .set_response_timeout(None)
                    .set_number_of_retries(RETRIES as usize)
                    .set_max_delay(MAX_RETRY_DELAY);
                ConnectionManager::new_lazy_with_config(client, config)
                    .map(Self::Server)
                    .map_err(redis_error)
            }
            RedisAddress::Cluster(seeds) => {
                let client = ClusterClient::builder(seeds.clone())
                    .connection_timeout(connect_timeout)
                    .retries(RETRIES)
                    .max_retry_wait(u64::try_from(MAX_RETRY_DELAY.as_millis()).unwrap_or(1000))
                    .build()
                    .map_err(redis_error)?;
                let config = ClusterConfig::new().set_connection_timeout(connect_timeout);
                Ok(Self::Cluster(
                    client.get_pending_async_connection_with_config(config),
                ))
            }
        }
    }
}

impl ConnectionLike for SharedConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Server(conn) => conn.req_packed_command(cmd),
            Self::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Server(conn) => conn.req_packed_commands(pipeline, offset, count),
            Self::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Server(conn) => conn.get_db(),
            Self::Cluster(conn) => conn.get_db(),
        }
    }
}
