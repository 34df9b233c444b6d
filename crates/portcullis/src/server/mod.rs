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
//! HTTP/1.1 only, with upgrades (WebSocket tunnels through the built-in proxy), as before:
//! TLS and HTTP/2 end at the proxy in front.

mod accept;
mod budget;
mod connection;
mod listener;
mod registry;
mod service;

pub use listener::bind;

use axum::Router;
use hyper::server::conn::http1;
use registry::Registry;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How long accepting may pause for an evicted connection to close.
const SETTLE_AT_MOST: Duration = Duration::from_millis(50);

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
}

/// Serves `router` on `listener` until `shutdown` resolves; then stops accepting, closes
/// connections with nothing in flight and waits for the requests in flight to finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: ServerSettings,
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
    let shared = connection::Shared {
        http,
        router,
        body_timeout: settings.body_timeout,
    };
    let (stop, stopped) = watch::channel(());
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
        let Some(admitted) = registry.admit() else {
            tracing::debug!(%peer, cap = registry.cap(), "every connection is busy: refusing");
            continue;
        };
        let made_room = admitted.made_room;
        tokio::spawn(connection::serve(
            shared.clone(),
            stream,
            peer,
            admitted,
            stopped.clone(),
        ));
        if made_room {
            // Let the evicted connection close before accepting more (microseconds, bounded).
            registry.settled(SETTLE_AT_MOST).await;
        }
    }
    drop(listener);
    // Every connection task holds a receiver: once they are all gone, the server is drained.
    drop(stopped);
    let _ = stop.send(());
    stop.closed().await;
    Ok(())
}
