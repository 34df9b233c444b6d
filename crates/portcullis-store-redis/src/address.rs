//! Where Redis is: one server (`redis://...`) or a Redis Cluster given by seed nodes
//! (`redis+cluster://host1:port1,host2:port2`), read once from `redis_url`. Also the rule that
//! keeps every key of a deployment on one cluster slot: its prefix must carry a hash tag.
//! Nothing here connects; a bad form is refused up front with a message saying what to write.

use portcullis_core::{StoreError, StoreResult};
use redis::{ConnectionInfo, IntoConnectionInfo};

/// The scheme of a cluster URL; the seeds are then plain `redis://` addresses.
const CLUSTER_SCHEME: &str = "redis+cluster";
/// TLS is not built into this crate's Redis client, for a server or a cluster.
const CLUSTER_TLS_SCHEME: &str = "rediss+cluster";

/// A parsed `redis_url`.
#[derive(Clone, Debug)]
pub enum RedisAddress {
    /// A single server (possibly with replicas behind a failover proxy).
    Server(ConnectionInfo),
    /// A Redis Cluster, found through any of these nodes (all with the same credentials).
    Cluster(Vec<ConnectionInfo>),
}

impl RedisAddress {
    /// Reads `redis://[user[:password]@]host:port[/db]` or
    /// `redis+cluster://[user[:password]@]host:port,host:port,...`.
    pub fn parse(url: &str) -> StoreResult<Self> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| invalid("it has no scheme (write redis://host:port)"))?;
        match scheme {
            CLUSTER_SCHEME => Ok(Self::Cluster(seeds(rest)?)),
            CLUSTER_TLS_SCHEME => Err(invalid(
                "rediss+cluster:// (TLS) is not supported by this build; use redis+cluster:// \
                 on a trusted network or a TLS tunnel",
            )),
            _ => url
                .into_connection_info()
                .map(Self::Server)
                .map_err(|error| invalid(&error.to_string())),
        }
    }

    pub fn is_cluster(&self) -> bool {
        matches!(self, Self::Cluster(_))
    }

    /// Checks that `prefix` can hold every key of a deployment: on a cluster, only a prefix
    /// with a hash tag keeps the keys (and the stream's channels) on one slot, which the
    /// scripts and the exact listener counts need.
    pub fn check_prefix(&self, prefix: &str) -> StoreResult<()> {
        if self.is_cluster() && hash_tag(prefix).is_none() {
            return Err(StoreError::Backend(
                format!(
                    "on a Redis Cluster, redis_prefix must contain a non-empty hash tag, such as \
                     \"{{portcullis}}:\", so that every key lives on one slot; got {prefix:?}"
                )
                .into(),
            ));
        }
        Ok(())
    }
}

fn invalid(why: &str) -> StoreError {
    StoreError::Backend(format!("invalid redis url: {why}").into())
}

/// `[credentials@]host:port,host:port[/0][?query]` → one `redis://` address per host.
fn seeds(rest: &str) -> StoreResult<Vec<ConnectionInfo>> {
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (credentials, hosts) = match authority.rsplit_once('@') {
        Some((credentials, hosts)) => (format!("{credentials}@"), hosts),
        None => (String::new(), authority),
    };
    let (path, query) = tail.split_once('?').map_or((tail, ""), |(p, q)| (p, q));
    if !matches!(path, "" | "/" | "/0") {
        return Err(invalid(
            "a Redis Cluster has only database 0; remove the path after the hosts",
        ));
    }
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    if hosts.is_empty() {
        return Err(invalid(
            "redis+cluster:// needs at least one seed node (redis+cluster://host:port,host:port)",
        ));
    }
    hosts
        .split(',')
        .map(|host| {
            if host.is_empty() || !has_port(host) {
                return Err(invalid(&format!(
                    "each seed node is host:port, separated by commas; got {host:?}"
                )));
            }
            format!("redis://{credentials}{host}/{query}")
                .into_connection_info()
                .map_err(|error| invalid(&format!("seed node {host:?}: {error}")))
        })
        .collect()
}

/// `host:port` or `[v6]:port`, with a numeric port.
fn has_port(host: &str) -> bool {
    host.rsplit_once(':').is_some_and(|(name, port)| {
        !name.is_empty() && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
    })
}

/// The hash tag every key under `prefix` hashes by, if the prefix fixes one: the text between
/// its first `{` and the first `}` after it, when not empty (Redis Cluster's rule). A prefix
/// whose `{` closes only later, in the key's own part, fixes nothing.
pub fn hash_tag(prefix: &str) -> Option<&str> {
    let open = prefix.find('{')?;
    let close = prefix[open + 1..].find('}')?;
    let tag = &prefix[open + 1..open + 1 + close];
    (!tag.is_empty()).then_some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use redis::cluster_routing::Slot;
    use redis::ConnectionAddr;

    fn addresses(url: &str) -> Vec<(String, u16)> {
        match RedisAddress::parse(url) {
            Ok(RedisAddress::Cluster(seeds)) => seeds
                .iter()
                .map(|seed| match seed.addr() {
                    ConnectionAddr::Tcp(host, port) => (host.clone(), *port),
                    other => panic!("{other:?}"),
                })
                .collect(),
            other => panic!("{url}: {other:?}"),
        }
    }

    fn refusal(url: &str) -> String {
        match RedisAddress::parse(url) {
            Err(error) => portcullis_core::Causes(&error).to_string(),
            Ok(address) => panic!("{url} was accepted as {address:?}"),
        }
    }

    #[test]
    fn a_cluster_url_lists_its_seed_nodes_with_shared_credentials() {
        assert_eq!(
            addresses("redis+cluster://10.0.0.1:7000,10.0.0.2:7001"),
            [("10.0.0.1".to_owned(), 7000), ("10.0.0.2".to_owned(), 7001)]
        );
        assert_eq!(
            addresses("redis+cluster://cache:6379/"),
            [("cache".to_owned(), 6379)]
        );
        let Ok(RedisAddress::Cluster(seeds)) =
            RedisAddress::parse("redis+cluster://app:s3cret@a:1,b:2/0")
        else {
            panic!("not a cluster");
        };
        for seed in &seeds {
            assert_eq!(seed.redis_settings().username(), Some("app"));
            assert_eq!(seed.redis_settings().password(), Some("s3cret"));
        }
    }

    #[test]
    fn a_plain_url_is_one_server() {
        assert!(matches!(
            RedisAddress::parse("redis://127.0.0.1:6379"),
            Ok(RedisAddress::Server(_))
        ));
    }

    #[test]
    fn bad_forms_are_refused_saying_what_to_write() {
        for (url, says) in [
            ("redis+cluster://", "at least one seed node"),
            ("redis+cluster://a:1,,b:2", "host:port"),
            ("redis+cluster://a:1,b", "host:port"),
            ("redis+cluster://a:x", "host:port"),
            ("redis+cluster://a:1/3", "only database 0"),
            ("rediss+cluster://a:1", "not supported"),
            ("cache:6379", "no scheme"),
            ("http://cache:6379", "invalid redis url"),
        ] {
            let error = refusal(url);
            assert!(error.contains(says), "{url}: {error}");
        }
    }

    #[test]
    fn a_cluster_needs_a_hash_tagged_prefix_and_a_server_takes_any() {
        let cluster = RedisAddress::parse("redis+cluster://a:1").unwrap();
        let server = RedisAddress::parse("redis://a:1").unwrap();
        for good in ["{portcullis}:", "{pc}", "app:{x}:", "{a}{b}"] {
            assert!(cluster.check_prefix(good).is_ok(), "{good}");
        }
        for bad in ["portcullis:", "{}:", "{portcullis:", "}{x", "{}{x}:", ""] {
            let error = cluster
                .check_prefix(bad)
                .err()
                .map(|e| portcullis_core::Causes(&e).to_string());
            assert!(
                error.as_deref().is_some_and(|e| e.contains("hash tag")),
                "{bad}: {error:?}"
            );
            assert!(server.check_prefix(bad).is_ok());
        }
    }

    proptest! {
        /// Whatever follows an accepted prefix, the key hashes to the prefix's slot.
        #[test]
        fn every_key_under_a_tagged_prefix_shares_one_slot(
            prefix in "[a-z{}:]{0,12}",
            first in "[a-z{}:0-9]{0,16}",
            second in "[a-z{}:0-9]{0,16}",
        ) {
            if hash_tag(&prefix).is_some() {
                prop_assert_eq!(
                    Slot::for_key(format!("{prefix}{first}")),
                    Slot::for_key(format!("{prefix}{second}"))
                );
            }
        }
    }
}
