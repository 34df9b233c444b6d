//! The keys bounding the listener and its connections, turned into [`ServerSettings`].

use super::Config;
use crate::server::ServerSettings;

impl Config {
    pub(crate) fn server_settings(&self) -> ServerSettings {
        ServerSettings {
            header_timeout: self.http_header_timeout,
            idle_timeout: self.http_idle_timeout,
            body_timeout: self.http_body_timeout,
            max_connections: self.max_connections,
            // The runtime, listeners, SQLite files, Redis and webhook clients and the metrics
            // listener's few connections fit in 64 with room to spare; Postgres connections
            // come on top.
            reserved_files: 64 + u64::from(self.database_max_connections),
            // A proxied request holds an upstream socket as well as the client's.
            files_per_connection: if self.upstreams.is_empty() { 1 } else { 2 },
            shutdown_timeout: self.shutdown_timeout,
        }
    }
}
