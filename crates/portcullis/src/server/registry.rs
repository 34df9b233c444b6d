//! The open client connections: how many there are, which have a request in flight, when each
//! must be closed, and which one to give up when the cap is reached. It decides; the connection
//! tasks act (they wait on [`Connection::closed_by_server`] and drop the socket). It never
//! touches a socket itself: the socket's wrapper reports bytes read and written.

use std::collections::BTreeMap;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Why the server closes a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Closing {
    /// The request head did not arrive within `http_header_timeout`.
    HeaderTimeout,
    /// No request came for `http_idle_timeout` after the last one.
    IdleTimeout,
    /// The cap was reached and this was the oldest connection without a request in flight.
    Evicted,
    /// A request was in flight, but no byte was read or written for `http_idle_timeout`: a
    /// client that stopped reading its response, say.
    Stalled,
    /// The server is stopping and `shutdown_timeout` has passed with this one still open.
    ShutdownTimeout,
}

pub struct Registry {
    cap: usize,
    header_timeout: Duration,
    idle_timeout: Duration,
    next_id: AtomicU64,
    /// By accept order, so the first idle entry is the oldest.
    open: Mutex<BTreeMap<u64, Arc<Connection>>>,
    /// Wakes an accept loop waiting for an evicted connection to be gone.
    freed: Notify,
}

impl Registry {
    pub fn new(cap: usize, header_timeout: Duration, idle_timeout: Duration) -> Self {
        Self {
            cap,
            header_timeout,
            idle_timeout,
            next_id: AtomicU64::new(0),
            open: Mutex::new(BTreeMap::new()),
            freed: Notify::new(),
        }
    }

    /// Registers a just-accepted connection. At the cap the oldest connection without a request
    /// in flight is told to close to make room; when every connection is busy, the newcomer is
    /// refused (`None`) rather than a request being cut short.
    pub fn admit(self: &Arc<Self>) -> Option<Admitted> {
        let mut open = lock(&self.open);
        let made_room = open.len() >= self.cap;
        if made_room && !evict_oldest_idle(&open) {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let connection = Arc::new(Connection::new(self.header_timeout, self.idle_timeout));
        open.insert(id, Arc::clone(&connection));
        let slot = Slot {
            registry: Arc::clone(self),
            id,
        };
        Some(Admitted {
            slot,
            connection,
            made_room,
        })
    }

    /// Closes the oldest connection without a request in flight, if there is one: what the
    /// accept loop does when the process runs out of file descriptors anyway.
    pub fn evict_oldest_idle(&self) -> bool {
        evict_oldest_idle(&lock(&self.open))
    }

    /// Waits, at most `limit`, until no more connections are open than the cap allows. An
    /// evicted connection closes on its own task; accepting faster than those run would pile
    /// up closing connections until the process is out of descriptors.
    pub async fn settled(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let mut freed = pin!(self.freed.notified());
            // Registered before looking, so a slot freed in between still wakes us.
            freed.as_mut().enable();
            if lock(&self.open).len() <= self.cap {
                return;
            }
            if tokio::time::timeout_at(deadline, freed).await.is_err() {
                return;
            }
        }
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Tells every connection still served over HTTP to close now, requests in flight or not:
    /// the shutdown timeout has passed. Returns how many were told.
    pub fn cut_all(&self) -> usize {
        let open = lock(&self.open);
        let mut cut = 0;
        for connection in open.values() {
            if connection.cut() {
                cut += 1;
            }
        }
        cut
    }
}

/// A connection let in.
pub struct Admitted {
    pub slot: Slot,
    pub connection: Arc<Connection>,
    /// Whether another connection was told to close for it (it is still closing).
    pub made_room: bool,
}

fn evict_oldest_idle(open: &BTreeMap<u64, Arc<Connection>>) -> bool {
    open.values().any(|connection| connection.evict_if_idle())
}

/// A place in the registry, held by the socket's wrapper: freed when the socket is closed,
/// which may be after the HTTP connection ended (an upgraded WebSocket tunnel keeps it).
pub struct Slot {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Slot {
    fn drop(&mut self) {
        lock(&self.registry.open).remove(&self.id);
        self.registry.freed.notify_waiters();
    }
}

/// One client connection as the registry sees it.
pub struct Connection {
    header_timeout: Duration,
    idle_timeout: Duration,
    /// What [`Self::last_progress`] counts from.
    opened: Instant,
    /// Milliseconds from `opened` to the last byte read or written. An atomic, not part of
    /// `state`: it is stored on every read and write, and only the watchdog looks at it.
    last_progress: AtomicU64,
    state: Mutex<State>,
    /// Set while no byte of the next request has been read: from accept, and again once a
    /// request ends. The first byte after an idle spell starts the head deadline.
    awaiting_head: AtomicBool,
    /// Wakes the connection's watchdog when its deadline changes or it is evicted.
    wake: Notify,
}

struct State {
    requests_in_flight: usize,
    /// When the server closes the connection unless a request arrives first; `None` while a
    /// request is in flight (then it is closed only once nothing moves for the idle timeout).
    deadline: Option<(Instant, Closing)>,
    evicted: bool,
    /// Closed by a server that could wait no longer for its request to finish.
    cut: bool,
    /// No longer served as HTTP (upgraded to a tunnel): never evicted, never timed out here.
    detached: bool,
}

impl Connection {
    fn new(header_timeout: Duration, idle_timeout: Duration) -> Self {
        Self {
            header_timeout,
            idle_timeout,
            opened: Instant::now(),
            last_progress: AtomicU64::new(0),
            state: Mutex::new(State {
                requests_in_flight: 0,
                // A new connection gets the header timeout from the moment it is accepted, so
                // one that sends nothing at all is closed as surely as a trickling one.
                deadline: Some((Instant::now() + header_timeout, Closing::HeaderTimeout)),
                evicted: false,
                cut: false,
                detached: false,
            }),
            awaiting_head: AtomicBool::new(true),
            wake: Notify::new(),
        }
    }

    /// A request reached the service; it is in flight until the returned guard is dropped
    /// (with the response body).
    pub fn request_started(self: &Arc<Self>) -> InFlight {
        self.progressed();
        let mut state = lock(&self.state);
        state.requests_in_flight += 1;
        state.deadline = None;
        drop(state);
        // The watchdog may be sleeping towards a later idle or head deadline.
        self.wake.notify_one();
        InFlight(Arc::clone(self))
    }

    fn request_finished(&self) {
        let mut state = lock(&self.state);
        state.requests_in_flight = state.requests_in_flight.saturating_sub(1);
        if state.requests_in_flight == 0 {
            state.deadline = Some((Instant::now() + self.idle_timeout, Closing::IdleTimeout));
            self.awaiting_head.store(true, Ordering::Release);
            drop(state);
            self.wake.notify_one();
        }
    }

    /// Bytes arrived from the client. The first ones after an idle spell start a request head,
    /// which must then be complete within the header timeout, however slowly it trickles.
    pub fn bytes_arrived(&self) {
        self.progressed();
        if !self.awaiting_head.swap(false, Ordering::AcqRel) {
            return;
        }
        let mut state = lock(&self.state);
        // A new connection's head deadline has run since accept: only an idle one gets a new one.
        let idle = matches!(state.deadline, Some((_, Closing::IdleTimeout)));
        if state.requests_in_flight == 0 && idle {
            state.deadline = Some((Instant::now() + self.header_timeout, Closing::HeaderTimeout));
            drop(state);
            self.wake.notify_one();
        }
    }

    /// Bytes were written to the client: a response in flight is still moving.
    pub fn bytes_sent(&self) {
        self.progressed();
    }

    /// Only ever moves the stall deadline later, so the watchdog need not be woken: it looks
    /// again when the deadline it slept towards has passed.
    fn progressed(&self) {
        let since = Instant::now().saturating_duration_since(self.opened);
        let millis = u64::try_from(since.as_millis()).unwrap_or(u64::MAX);
        self.last_progress.fetch_max(millis, Ordering::Relaxed);
    }

    /// When a request in flight counts as stalled unless a byte moves first.
    fn stalls_at(&self) -> Instant {
        let millis = self.last_progress.load(Ordering::Relaxed);
        self.opened + Duration::from_millis(millis) + self.idle_timeout
    }

    /// The HTTP connection is over but the socket lives on (an upgrade): leave it alone.
    pub fn detach(&self) {
        let mut state = lock(&self.state);
        state.detached = true;
        state.deadline = None;
    }

    pub fn has_request_in_flight(&self) -> bool {
        lock(&self.state).requests_in_flight > 0
    }

    /// Whether the server has nothing of a request on this connection: none in flight, and no
    /// byte of the next one read. Bytes the kernel holds unread are the caller's to check.
    pub fn is_quiet(&self) -> bool {
        self.awaiting_head.load(Ordering::Acquire) && !self.has_request_in_flight()
    }

    fn cut(&self) -> bool {
        let mut state = lock(&self.state);
        if state.detached {
            return false;
        }
        state.cut = true;
        drop(state);
        self.wake.notify_one();
        true
    }

    fn evict_if_idle(&self) -> bool {
        let mut state = lock(&self.state);
        if state.requests_in_flight > 0 || state.evicted || state.detached {
            return false;
        }
        state.evicted = true;
        drop(state);
        self.wake.notify_one();
        true
    }

    /// Resolves when the server should close this connection, and says why.
    pub async fn closed_by_server(&self) -> Closing {
        loop {
            let (deadline, evicted, cut) = {
                let state = lock(&self.state);
                let stalls = state.requests_in_flight > 0 && !state.detached;
                let deadline = match state.deadline {
                    None if stalls => Some((self.stalls_at(), Closing::Stalled)),
                    deadline => deadline,
                };
                (deadline, state.evicted, state.cut)
            };
            if evicted {
                return Closing::Evicted;
            }
            if cut {
                return Closing::ShutdownTimeout;
            }
            match deadline {
                Some((at, why)) if at <= Instant::now() => return why,
                // A notification (stored as a permit if it came just before) means the
                // deadline moved or an eviction came: look again.
                Some((at, _)) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = self.wake.notified() => {}
                    }
                }
                None => self.wake.notified().await,
            }
        }
    }
}

/// A request in flight on a connection.
pub struct InFlight(Arc<Connection>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// No code here panics while holding a lock; should one ever, the counts are still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
