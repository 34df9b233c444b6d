//! A subscription to the revocation stream on its own Redis connection, watched so that its
//! end is never silent: a closed connection, a connection that stops answering its heartbeat,
//! a message that does not read, or a listener that falls too far behind all end it, and the
//! replica then knows it may have missed an announcement.

use crate::error::bounded;
use crate::wire;
use async_trait::async_trait;
use futures::StreamExt;
use portcullis_core::revocation_stream::{Heard, RevocationListener};
use portcullis_core::StoreResult;
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

/// Subscribes and returns once Redis has confirmed the subscription.
pub(crate) async fn subscribe(
    client: &redis::Client,
    channels: Channels,
    deadline: Duration,
) -> StoreResult<RedisListener> {
    let pubsub = bounded(deadline, "listen", client.get_async_pubsub()).await?;
    let (mut sink, mut stream) = pubsub.split();
    bounded(
        deadline,
        "listen",
        sink.subscribe(&[&channels.announcements, &channels.acknowledgements]),
    )
    .await?;
    let (sender, heard) = mpsc::channel(BACKLOG);
    tokio::spawn(async move {
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                message = stream.next() => {
                    let Some(message) = message else {
                        tracing::warn!("revocation stream connection closed");
                        break;
                    };
                    let Some(heard) = read(&channels, &message) else {
                        tracing::error!(channel = message.get_channel_name(), "unreadable revocation stream message");
                        break;
                    };
                    if sender.try_send(heard).is_err() {
                        tracing::warn!("revocation stream listener fell behind or stopped");
                        break;
                    }
                }
                _ = heartbeat.tick() => {
                    // Subscribed, Redis answers a PING with `["pong", ""]`; any answer will do.
                    let pong = bounded(HEARTBEAT, "heartbeat", sink.ping::<redis::Value>()).await;
                    if let Err(error) = pong {
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

fn read(channels: &Channels, message: &redis::Msg) -> Option<Heard> {
    let text: String = message.get_payload().ok()?;
    let channel = message.get_channel_name();
    if channel == channels.announcements {
        wire::announcement(&text)
    } else if channel == channels.acknowledgements {
        wire::acknowledgement(&text)
    } else {
        None
    }
}
