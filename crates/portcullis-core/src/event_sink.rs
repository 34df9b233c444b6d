//! [`EventSink`]: the seam through which recorded security events also leave the process (a
//! webhook, a queue). The core only names it; how and when an event is delivered, retried or
//! dropped is the sink's business, and nothing here performs I/O.

use crate::event::SecurityEvent;

/// Somewhere recorded security events are handed, besides the audit trail.
///
/// [`EventSink::notify`] is called for every event the gateway records, while the request (or
/// command) that caused it waits, so it must return at once and can neither block nor fail
/// it: a sink that cannot take an event drops it (and says so in its own logs), since the
/// event is stored either way. Choosing which kinds to deliver is the sink's business too.
pub trait EventSink: Send + Sync {
    /// Hands over one recorded event; never waits for delivery.
    fn notify(&self, event: &SecurityEvent);
}
