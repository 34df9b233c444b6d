//! The revocation stream: how a revocation that one replica commits reaches the memory of every
//! other replica within milliseconds, and how a replica knows it has heard all of it.
//!
//! The shared cache numbers every announcement: a *generation* (a random name the cache gives
//! itself, new whenever it has lost its data) and an *epoch* counting up from 1 within it. A
//! listener that knows the position it started from can tell from each announcement whether it
//! is the next one, one it has already merged, or whether something was lost in between
//! ([`arrival`]). Listeners acknowledge each announcement to its writer, which waits for them
//! before answering, so a revocation holds on every replica when the call that made it returns.

use crate::revocation::RevocationChange;
use crate::store::StoreResult;
use async_trait::async_trait;
use time::OffsetDateTime;

/// A place in the stream: the last epoch of `generation` merged. `generation` is `None` before
/// the cache has ever announced anything (or after it lost its data).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamPosition {
    pub generation: Option<String>,
    pub epoch: u64,
}

/// One announcement, as written by replica `writer`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announcement {
    pub generation: String,
    pub epoch: u64,
    pub writer: String,
    pub changes: Vec<RevocationChange>,
}

/// What a listener hears.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Heard {
    Announcement(Announcement),
    /// Replica `by` has merged the announcement `(generation, epoch)` of this listener's replica.
    Acknowledged {
        generation: String,
        epoch: u64,
        by: String,
    },
}

/// How an announcement relates to the position of the listener that hears it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// The one right after the position: merge it and move on.
    Next,
    /// At or before the position (announced while the listener was starting): merge it (merging
    /// is idempotent) and stay.
    Repeat,
    /// Something between the position and this announcement was not heard, or the cache started
    /// a new generation (it lost its data): the listener can no longer vouch for its memory.
    Gap,
}

/// Judges an announcement of `(generation, epoch)` against `position`.
pub fn arrival(position: &StreamPosition, generation: &str, epoch: u64) -> Arrival {
    match position.generation.as_deref() {
        Some(current) if current == generation => match epoch {
            e if e <= position.epoch => Arrival::Repeat,
            e if e == position.epoch + 1 => Arrival::Next,
            _ => Arrival::Gap,
        },
        // The first generation begins at epoch 1, and the listener started before it did.
        None if position.epoch == 0 && epoch == 1 => Arrival::Next,
        _ => Arrival::Gap,
    }
}

impl StreamPosition {
    /// The position after hearing `(generation, epoch)`, or `None` on a gap.
    pub fn after(&self, generation: &str, epoch: u64) -> Option<StreamPosition> {
        match arrival(self, generation, epoch) {
            Arrival::Next => Some(StreamPosition {
                generation: Some(generation.to_owned()),
                epoch,
            }),
            Arrival::Repeat => Some(self.clone()),
            Arrival::Gap => None,
        }
    }
}

/// An announcement once the cache has taken it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announced {
    pub generation: String,
    pub epoch: u64,
    /// How many listeners were subscribed when it was sent: the acknowledgements to wait for.
    pub listeners: u64,
}

/// A subscription to the stream. It ends (`None`) when the connection is lost or stops
/// answering; everything heard before that was heard in order.
#[async_trait]
pub trait RevocationListener: Send {
    async fn heard(&mut self) -> Option<Heard>;
}

/// The shared cache's side of the stream.
#[async_trait]
pub trait RevocationBroadcast: Send + Sync {
    /// Writes `changes` to the cache and announces them from replica `writer`, in one step.
    /// `None` when none of them can still refuse a token (nothing was announced).
    async fn announce(
        &self,
        changes: &[RevocationChange],
        writer: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Announced>>;
    /// Subscribes replica `listener` to announcements and to acknowledgements addressed to it.
    /// Returns once the subscription is in place.
    async fn listen(&self, listener: &str) -> StoreResult<Box<dyn RevocationListener>>;
    /// The stream's current position; read after [`RevocationBroadcast::listen`], it is where a
    /// new listener starts.
    async fn position(&self) -> StoreResult<StreamPosition>;
    /// Tells `writer` that `listener` has merged its announcement `(generation, epoch)`.
    async fn acknowledge(
        &self,
        writer: &str,
        generation: &str,
        epoch: u64,
        listener: &str,
    ) -> StoreResult<()>;
    /// Whether the cache holds a complete copy of the durable facts.
    async fn vouches(&self) -> StoreResult<bool>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(generation: Option<&str>, epoch: u64) -> StreamPosition {
        StreamPosition {
            generation: generation.map(str::to_owned),
            epoch,
        }
    }

    #[test]
    fn arrivals() {
        assert_eq!(arrival(&at(Some("g"), 4), "g", 5), Arrival::Next);
        assert_eq!(arrival(&at(Some("g"), 4), "g", 4), Arrival::Repeat);
        assert_eq!(arrival(&at(Some("g"), 4), "g", 1), Arrival::Repeat);
        assert_eq!(arrival(&at(Some("g"), 4), "g", 6), Arrival::Gap);
        assert_eq!(arrival(&at(Some("g"), 4), "h", 5), Arrival::Gap);
        assert_eq!(arrival(&at(Some("g"), 4), "h", 1), Arrival::Gap);
        assert_eq!(arrival(&at(None, 0), "h", 1), Arrival::Next);
        assert_eq!(arrival(&at(None, 0), "h", 2), Arrival::Gap);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// A listener that follows a stream with any announcements lost, repeated or from a new
        /// generation mixed in never reaches a position past an announcement it did not hear:
        /// whatever it accepts, it accepted every epoch up to there.
        #[test]
        fn a_listener_never_moves_past_what_it_missed(
            start in 0u64..5,
            deliveries in proptest::collection::vec((0u8..10, any::<bool>()), 0..60),
        ) {
            let mut position = at(Some("g"), start);
            let mut merged: std::collections::BTreeSet<u64> = (1..=start).collect();
            let mut sent = start;
            for (action, new_generation) in deliveries {
                let (generation, epoch) = match action {
                    // The next announcement is sent and heard.
                    0..=4 => { sent += 1; ("g", sent) }
                    // One is sent and lost.
                    5 | 6 => { sent += 1; continue; }
                    // An old one is heard again.
                    7 | 8 => ("g", sent.saturating_sub(u64::from(action))),
                    // The cache restarted.
                    _ => (if new_generation { "h" } else { "g" }, 1),
                };
                match position.after(generation, epoch) {
                    Some(next) => {
                        if generation == "g" { merged.insert(epoch); }
                        position = next;
                    }
                    None => break,
                }
                prop_assert!(position.generation.as_deref() == Some("g"));
                prop_assert!((1..=position.epoch).all(|e| merged.contains(&e)),
                    "at {} without having merged every earlier epoch", position.epoch);
            }
        }
    }
}
