//! A subscription to the revocation stream on its own Redis connection, watched so that its
//! end is never silent: a closed connection, a connection that stops answering its heartbeat,
//! a message that does not read, a listener that falls too far behind, or Redis dropping the
//! subscription (its slot moved to another node) all end it, and the replica then knows it may
//! have missed an announcement. It never resubscribes by itself: the replica resynchronises
//! and listens again.
//!
//! The stream uses sharded pub/sub (`SSUBSCRIBE`/`SPUBLISH`), so that on a cluster the count
//! `SPUBLISH` returns is every listener (they all subscribe on the node owning the channel's
//! slot), exactly what a writer waits for. The connection is a plain RESP3 connection to that
//! node: no reconnecting manager, whose automatic resubscription could hide a gap.

use crate::address::RedisAddress;
use crate::error::{bounded, redis_error};
use crate::slot_owner;
use crate::wire;
use async_trait::async_trait;
use portcullis_core::revocation_stream::{Heard, RevocationListener};
use portcullis_core::StoreResult;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, PushInfo, PushKind, Value};
use std::time::Duration;
use tokio::sync::mpsc;

/// How often the subscription's connection must prove it still answers. A connection that
/// stalls (a half-open socket, a hung proxy) is noticed within twice this.
pub const HEARTBEAT: Duration = Duration::from_millis(100);
/// How many heard messages may wait for the replica before the subscription is given up.
const BACKLOG: usize = 65_536;

/// The channels one replica listens on.
pub(crate) struct Channels {
    pub announcements: String,
    pub acknowledgements: String,
}

pub(crate) struct RedisListener {
    heard: mpsc::Receiver<Heard>,
}

#[async_trait]
impl RevocationListener for RedisListener {
    async fn heard(&mut self) -> Option<Heard> {
        self.heard.recv().await
    }
}

/// Subscribes on the node that serves the channels and returns once Redis has confirmed the
/// subscription.
pub(crate) async fn subscribe(
    address: &RedisAddress,
    channels: Channels,
    deadline: Duration,
) -> StoreResult<RedisListener> {
    let node = slot_owner::node_serving(address, &channels.announcements, deadline).await?;
    let client = redis::Client::open(node).map_err(redis_error)?;
    let (pushes_sender, mut pushes) = mpsc::unbounded_channel();
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(deadline))
        .set_response_timeout(None)
        .set_push_sender(pushes_sender);
    let mut conn = bounded(
        deadline,
        "listen",
        client.get_multiplexed_async_connection_with_config(&config),
    )
    .await?;
    for channel in [&channels.announcements, &channels.acknowledgements] {
        // One channel per command, so the command has exactly one confirmation: its reply.
        let _confirmed: Value = bounded(
            deadline,
            "listen",
            redis::cmd("SSUBSCRIBE").arg(channel).query_async(&mut conn),
        )
        .await?;
    }
    let (sender, heard) = mpsc::channel(BACKLOG);
    tokio::spawn(async move {
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                push = pushes.recv() => {
                    let Some(push) = push else {
                        tracing::warn!("revocation stream connection closed");
                        break;
                    };
                    match classify(&channels, push) {
                        Push::Heard(heard) => {
                            if sender.try_send(heard).is_err() {
                                tracing::warn!("revocation stream listener fell behind or stopped");
                                break;
                            }
                        }
                        Push::Confirmation => {}
                        Push::End(why) => {
                            tracing::warn!(why, "revocation stream subscription ended");
                            break;
                        }
                    }
                }
                _ = heartbeat.tick() => {
                    if let Err(error) = ping(&mut conn).await {
                        tracing::warn!(error = %portcullis_core::Causes(&error), "revocation stream connection stopped answering");
                        break;
                    }
                }
                () = sender.closed() => break,
            }
        }
    });
    Ok(RedisListener { heard })
}

/// Any answer will do: it proves the connection still carries traffic both ways.
async fn ping(conn: &mut MultiplexedConnection) -> StoreResult<Value> {
    bounded(HEARTBEAT, "heartbeat", redis::cmd("PING").query_async(conn)).await
}

/// What one push from Redis means for the subscription.
#[derive(Debug, PartialEq)]
enum Push {
    Heard(Heard),
    /// Redis confirming one of our own `SSUBSCRIBE`s.
    Confirmation,
    /// The subscription can no longer be trusted to have heard everything.
    End(&'static str),
}

fn classify(channels: &Channels, push: PushInfo) -> Push {
    match push.kind {
        PushKind::SMessage => match read(channels, &push.data) {
            Some(heard) => Push::Heard(heard),
            None => Push::End("unreadable message"),
        },
        PushKind::SSubscribe => Push::Confirmation,
        PushKind::SUnsubscribe => Push::End("redis dropped the subscription (its slot moved)"),
        PushKind::Disconnection => Push::End("connection closed"),
        _ => Push::End("unexpected push"),
    }
}

fn read(channels: &Channels, data: &[Value]) -> Option<Heard> {
    let [Value::BulkString(channel), Value::BulkString(payload)] = data else {
        return None;
    };
    let text = std::str::from_utf8(payload).ok()?;
    if channel.as_slice() == channels.announcements.as_bytes() {
        wire::announcement(text)
    } else if channel.as_slice() == channels.acknowledgements.as_bytes() {
        wire::acknowledgement(text)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channels() -> Channels {
        Channels {
            announcements: "{p}:stream".to_owned(),
            acknowledgements: "{p}:stream:acks:r1".to_owned(),
        }
    }

    fn push(kind: PushKind, data: &[&str]) -> PushInfo {
        PushInfo {
            kind,
            data: data
                .iter()
                .map(|text| Value::BulkString(text.as_bytes().to_vec()))
                .collect(),
        }
    }

    #[test]
    fn messages_on_our_channels_are_heard() {
        let announced = push(PushKind::SMessage, &["{p}:stream", "g 3 w "]);
        assert!(matches!(
            classify(&channels(), announced),
            Push::Heard(Heard::Announcement(_))
        ));
        let acknowledged = push(PushKind::SMessage, &["{p}:stream:acks:r1", "g 3 r2"]);
        assert!(matches!(
            classify(&channels(), acknowledged),
            Push::Heard(Heard::Acknowledged { .. })
        ));
        assert_eq!(
            classify(&channels(), push(PushKind::SSubscribe, &["{p}:stream"])),
            Push::Confirmation
        );
    }

    #[test]
    fn anything_that_could_hide_a_gap_ends_the_subscription() {
        for ending in [
            push(PushKind::SMessage, &["{p}:stream", "not an announcement"]),
            push(PushKind::SMessage, &["{p}:other", "g 3 w "]),
            push(PushKind::SMessage, &["{p}:stream"]),
            push(PushKind::SUnsubscribe, &["{p}:stream"]),
            push(PushKind::Disconnection, &[]),
            push(PushKind::Message, &["{p}:stream", "g 3 w "]),
        ] {
            let kind = ending.kind.clone();
            assert!(
                matches!(classify(&channels(), ending), Push::End(_)),
                "{kind:?}"
            );
        }
    }
}
