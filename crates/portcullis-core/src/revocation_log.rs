//! The durable revocation log: every revocation fact the durable store commits, numbered in
//! commit order, so that a replica holding the revocation state in memory can catch up on what
//! it may have missed by reading what follows the last number it merged.
//!
//! Numbers are dense and become visible in order: entry `n + 1` is never readable while entry
//! `n` is not. A reader that has merged everything up to `n` and then reads the entries after
//! `n` therefore misses nothing, unless the entries it needs were purged, which it is told.

use crate::revocation::RevocationChange;
use crate::store::StoreResult;
use async_trait::async_trait;

/// The entries that followed a position in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogRead {
    /// The changes after the position, oldest first, and the number of the last one returned
    /// (the position itself when there were none). More may follow when `changes` is as long
    /// as the limit asked for.
    Entries {
        changes: Vec<RevocationChange>,
        through: i64,
    },
    /// Some entries after the position were purged: the reader must start over from a snapshot.
    Purged,
}

/// Reading the revocation log. Every backend writes it in the same transaction as the facts,
/// and the retention pass deletes its old entries.
#[async_trait]
pub trait RevocationLog: Send + Sync {
    /// The number of the newest committed entry (0 when the log has none). A reader that takes
    /// this *before* reading a [`crate::RevocationSnapshot`] can follow the log from here on
    /// without missing anything the snapshot lacks.
    async fn revocation_log_head(&self) -> StoreResult<i64>;
    /// At most `limit` entries after `after`, oldest first.
    async fn revocation_log_since(&self, after: i64, limit: u32) -> StoreResult<LogRead>;
}
