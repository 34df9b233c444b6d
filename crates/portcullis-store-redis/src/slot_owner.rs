//! Which node serves a channel: the server itself, or on a cluster the master owning the
//! channel's slot, asked of the seed nodes in turn (`CLUSTER KEYSLOT`, then `CLUSTER SLOTS`).
//! The slot is Redis's own answer, so no hashing is re-implemented here.

use crate::address::RedisAddress;
use crate::error::{bounded, redis_error};
use portcullis_core::{StoreError, StoreResult};
use redis::{ConnectionAddr, ConnectionInfo, ProtocolVersion, Value};
use std::time::Duration;

/// The address to subscribe to `channel` on, speaking RESP3 (pushes need it).
pub(crate) async fn node_serving(
    address: &RedisAddress,
    channel: &str,
    deadline: Duration,
) -> StoreResult<ConnectionInfo> {
    let node = match address {
        RedisAddress::Server(info) => info.clone(),
        RedisAddress::Cluster(seeds) => {
            let mut last = None;
            let mut found = None;
            for seed in seeds {
                match ask(seed, channel, deadline).await {
                    Ok(node) => {
                        found = Some(node);
                        break;
                    }
                    Err(error) => last = Some(error),
                }
            }
            match (found, last) {
                (Some(node), _) => node,
                (None, Some(error)) => return Err(error),
                (None, None) => {
                    return Err(StoreError::Backend("no redis cluster seed node".into()))
                }
            }
        }
    };
    let settings = node
        .redis_settings()
        .clone()
        .set_protocol(ProtocolVersion::RESP3);
    Ok(node.set_redis_settings(settings))
}

/// Asks one seed node who owns `channel`'s slot.
async fn ask(
    seed: &ConnectionInfo,
    channel: &str,
    deadline: Duration,
) -> StoreResult<ConnectionInfo> {
    let client = redis::Client::open(seed.clone()).map_err(redis_error)?;
    let mut conn = bounded(
        deadline,
        "cluster slots",
        client.get_multiplexed_async_connection(),
    )
    .await?;
    let slot: u16 = bounded(
        deadline,
        "cluster slots",
        redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(channel)
            .query_async(&mut conn),
    )
    .await?;
    let slots: Value = bounded(
        deadline,
        "cluster slots",
        redis::cmd("CLUSTER").arg("SLOTS").query_async(&mut conn),
    )
    .await?;
    let (host, port) = owner(&slots, slot).ok_or_else(|| {
        StoreError::Unavailable(format!("no redis cluster node serves slot {slot}").into())
    })?;
    // No endpoint means "the host you asked, at this port" (CLUSTER SLOTS).
    let host = match (host, seed.addr()) {
        (Some(host), _) => host,
        (None, ConnectionAddr::Tcp(asked, _)) => asked.clone(),
        (None, other) => {
            return Err(StoreError::Backend(
                format!("cannot reach a cluster node through {other:?}").into(),
            ))
        }
    };
    Ok(seed.clone().set_addr(ConnectionAddr::Tcp(host, port)))
}

/// The master serving `slot` in a `CLUSTER SLOTS` reply: its endpoint (`None` when Redis
/// says "the node you asked") and port. `None` when no range covers the slot or the
/// endpoint is unknown (`?`).
fn owner(slots: &Value, slot: u16) -> Option<(Option<String>, u16)> {
    let Value::Array(ranges) = slots else {
        return None;
    };
    ranges.iter().find_map(|range| {
        let Value::Array(range) = range else {
            return None;
        };
        let [Value::Int(start), Value::Int(end), Value::Array(master), ..] = range.as_slice()
        else {
            return None;
        };
        if !(*start..=*end).contains(&i64::from(slot)) {
            return None;
        }
        let [endpoint, Value::Int(port), ..] = master.as_slice() else {
            return None;
        };
        let host = match endpoint {
            Value::Nil => None,
            Value::BulkString(text) if text.is_empty() => None,
            Value::BulkString(text) if text.as_slice() == b"?" => return None,
            Value::BulkString(text) => Some(String::from_utf8(text.clone()).ok()?),
            _ => return None,
        };
        Some((host, u16::try_from(*port).ok()?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> Value {
        Value::BulkString(value.as_bytes().to_vec())
    }

    fn range(start: i64, end: i64, endpoint: Value, port: i64) -> Value {
        let replica = Value::Array(vec![text("10.0.0.9"), Value::Int(7009), text("r")]);
        Value::Array(vec![
            Value::Int(start),
            Value::Int(end),
            Value::Array(vec![endpoint, Value::Int(port), text("id")]),
            replica,
        ])
    }

    #[test]
    fn the_master_of_the_covering_range_serves_the_slot() {
        let slots = Value::Array(vec![
            range(0, 5460, text("10.0.0.1"), 7000),
            range(5461, 10922, text("10.0.0.2"), 7001),
            range(10923, 16383, Value::Nil, 7002),
        ]);
        assert_eq!(owner(&slots, 0), Some((Some("10.0.0.1".to_owned()), 7000)));
        assert_eq!(
            owner(&slots, 5461),
            Some((Some("10.0.0.2".to_owned()), 7001))
        );
        assert_eq!(
            owner(&slots, 10922),
            Some((Some("10.0.0.2".to_owned()), 7001))
        );
        assert_eq!(
            owner(&slots, 16383),
            Some((None, 7002)),
            "unknown endpoint: ask the same host"
        );
    }

    #[test]
    fn an_uncovered_slot_or_an_unknown_node_has_no_owner() {
        let slots = Value::Array(vec![
            range(0, 99, text("10.0.0.1"), 7000),
            range(100, 199, text("?"), 7001),
            range(200, 299, text(""), 7002),
        ]);
        assert_eq!(owner(&slots, 150), None);
        assert_eq!(owner(&slots, 300), None);
        assert_eq!(owner(&slots, 250), Some((None, 7002)));
        assert_eq!(owner(&Value::Nil, 1), None);
    }
}
