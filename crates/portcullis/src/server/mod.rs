//! The HTTP server under the router: the accept loop, and the limits that keep slow or idle
//! clients from starving everyone else. It owns sockets and connections; it knows nothing of
//! routes, tokens or status codes (the body deadline's 408 is the HTTP layer's answer).
//!
//! Every wait a client controls has a deadline, and open connections have a cap:
//! - the request head must arrive within `http_header_timeout`, counted from accept (or from
//!   the first byte after an idle spell), never reset by trickled bytes;
//! - a connection with no request in flight is closed after `http_idle_timeout`;
//! - a connection with a request in flight is closed once no byte has been read or written
//!   for `http_idle_timeout` (a client that stopped reading its response, an upstream that
//!   stopped answering): nginx's `send_timeout` and `proxy_read_timeout`. The socket wrapper
//!   reports the bytes; the registry's watchdog keeps the deadline;
//! - a request body that stops for `http_body_timeout` fails (tower-http `TimeoutBody`);
//! - a request to the gateway's own routes must be complete, body included, within
//!   `http_body_timeout` in all, or it is a 408 (the HTTP layer's `TimeoutLayer`). Their bodies
//!   are small; without it one trickled just under the inactivity timeout would stay in flight,
//!   and so never evictable, for good;
//! - at most `max_connections` are open, fewer if the file-descriptor limit says so.
//!
//! What no deadline here bounds: a proxied request that keeps moving, however slowly (uploads
//! and downloads stream for as long as they need, as through nginx), and WebSocket tunnels.
//! Once upgraded a connection is detached: no timeout, no stall check, never evicted, though it
//! still counts against the cap until its socket closes.
//!
//! Why not hyper's `header_read_timeout` (checked in hyper 1.12): it is a fixed deadline and it
//! covers connections that send nothing, but it starts whenever hyper waits for a head, which
//! on a kept-alive connection is right after the previous response: it would close idle
//! connections at the header timeout and leave `http_idle_timeout` meaningless. The registry
//! applies the two the way nginx does (`keepalive_timeout` while idle, `client_header_timeout`
//! once a head starts).
//!
//! Why not a semaphore before `accept`: connections queued in the kernel behind slow ones are
//! not served at all, `/healthz` included. This loop always accepts; at the cap it closes the
//! oldest connection without a request in flight (slow head senders and idle keep-alives, the
//! way nginx reuses connections), and only when every connection is busy the new one. It then
//! waits (50 ms at most) for the evicted one to close, so a flood cannot pile up closing
//! connections faster than they release their descriptors. A failed `accept` (out of
//! descriptors) frees an idle connection, backs off briefly and is logged at most once a
//! second. The accept queue is 1024 deep, not the usual 128: an overflow drops handshakes,
//! and each costs its client (a health check, say) a one-second retransmission.
//!
//! Stopping: when the future given to [`serve`] resolves, the loop stops accepting. The
//! connections the kernel already completed are taken from the accept queue first (closing
//! the listener would reset them, and their clients may have sent a request), then the
//! listener is closed and new connections are refused. A connection with nothing of a request
//! on it closes at once; every request that has begun, in flight or still arriving, is served
//! and its connection closed after it (`Connection: close`). Requests still in flight after
//! `shutdown_timeout` have their connections closed, and the count is logged. Upgraded
//! connections are no longer HTTP and are not waited for.
//!
//! HTTP/1.1 only, with upgrades (WebSocket tunnels through the built-in proxy): HTTP/2 ends at
//! the proxy in front. TLS may end here too (`tls_cert_file`): then each connection's handshake
//! runs on its own task, under the same registry deadline as the first request head (counted
//! from accept), so a client that never finishes a handshake holds its slot no longer than
//! one that never sends a head, and is as evictable. ALPN offers `http/1.1` alone.

mod accept;
mod budget;
mod connection;
mod listener;
mod registry;
mod service;

pub use listener::bind;

use axum::Router;
use connection::Shared;
use hyper::server::conn::http1;
use registry::Registry;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long accepting may pause for an evicted connection to close.
const SETTLE_AT_MOST: Duration = Duration::from_millis(50);

/// How long connections cut at the shutdown timeout may take to close. They close as soon as
/// their task runs; this only keeps a task that never yields from holding up the exit.
const CUT_WITHIN: Duration = Duration::from_secs(1);

/// The server's limits (see the README's configuration table).
#[derive(Clone, Debug)]
pub struct ServerSettings {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub body_timeout: Duration,
    pub max_connections: usize,
    /// Descriptors set aside for the process's own files: listener, runtime, database pool,
    /// logs, outgoing connections that are not per request.
    pub reserved_files: u64,
    /// Descriptors a client connection may need: two when its request may be proxied.
    pub files_per_connection: u64,
    /// How long requests in flight may take to finish once the server stops accepting.
    pub shutdown_timeout: Duration,
}

/// Serves `router` on `listener` (over TLS with `tls`, plain HTTP without) until `shutdown`
/// resolves; then stops accepting, closes connections with nothing to finish and waits, up to
/// `shutdown_timeout`, for the requests that have begun to finish (see the module doc).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: ServerSettings,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let file_limit = budget::soft_file_limit();
    let cap = budget::connection_cap(
        settings.max_connections,
        file_limit,
        settings.reserved_files,
        settings.files_per_connection,
    );
    tracing::info!(
        tls = tls.is_some(),
        connection_cap = cap,
        max_connections = settings.max_connections,
        file_limit = ?file_limit,
        "accepting connections"
    );
    let registry = Arc::new(Registry::new(
        cap,
        settings.header_timeout,
        settings.idle_timeout,
    ));
    let mut http = http1::Builder::new();
    // The registry owns the head deadline (see the module doc); hyper's would also cut idle
    // connections short.
    http.header_read_timeout(None);
    let stopping = CancellationToken::new();
    let shared = Shared {
        http,
        router,
        body_timeout: settings.body_timeout,
        stopping: stopping.clone(),
        tls: tls.map(TlsAcceptor::from),
    };
    let connections = TaskTracker::new();
    let mut errors = accept::AcceptErrors::default();
    let mut shutdown = pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                errors.handle(&error, &registry).await;
                continue;
            }
        };
        if start(&shared, &registry, &connections, stream, peer) {
            // Let the evicted connection close before accepting more (microseconds, bounded).
            registry.settled(SETTLE_AT_MOST).await;
        }
    }
    for (stream, peer) in listener::close(listener) {
        start(&shared, &registry, &connections, stream, peer);
    }
    stopping.cancel();
    connections.close();
    tracing::info!(
        connections = connections.len(),
        "stopped accepting; finishing the requests that have begun"
    );
    let finished = tokio::time::timeout(settings.shutdown_timeout, connections.wait()).await;
    if finished.is_err() {
        let cut = registry.cut_all();
        tracing::warn!(
            connections = cut,
            shutdown_timeout = ?settings.shutdown_timeout,
            "requests still unfinished at the shutdown timeout: their connections were cut"
        );
        let _ = tokio::time::timeout(CUT_WITHIN, connections.wait()).await;
    }
    Ok(())
}

/// Serves a just-accepted connection on its own task, if the registry admits it. Returns
/// whether another connection was told to close to make room (it is still closing).
fn start(
    shared: &Shared,
    registry: &Arc<Registry>,
    connections: &TaskTracker,
    stream: TcpStream,
    peer: SocketAddr,
) -> bool {
    let Some(admitted) = registry.admit() else {
        tracing::debug!(%peer, cap = registry.cap(), "every connection is busy: refusing");
        return false;
    };
    let made_room = admitted.made_room;
    connections.spawn(connection::serve(shared.clone(), stream, peer, admitted));
    made_room
}
