//! [`EventSink`]: the seam through which recorded security events also leave the process (the
//! webhook). The core only names it; how a delivery is made, retried or given up is the sink's
//! business, and nothing here performs I/O.

use crate::event::EventKind;

/// Somewhere chosen security events are delivered, besides the audit trail.
///
/// The gateway asks [`EventSink::delivers`] before it records an event; for a chosen kind the
/// event store writes a pending delivery in the event's own transaction (the outbox, see
/// [`crate::WebhookOutbox`]), so a crash after the commit cannot lose it. Both methods are
/// called while the request (or command) that caused the event waits: they must return at
/// once and can neither block nor fail it.
pub trait EventSink: Send + Sync {
    /// Whether events of `kind` are to be delivered.
    fn delivers(&self, kind: EventKind) -> bool;
    /// Told after a chosen event and its delivery have been committed, so delivery can start
    /// now rather than at the next poll; never waits for it.
    fn recorded(&self);
}
