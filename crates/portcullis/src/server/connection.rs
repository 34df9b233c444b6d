//! One client connection from accept to close: HTTP/1.1 (with upgrades) over a socket that
//! reports bytes read and written to the registry, raced against the registry's verdict
//! (timeout, stall, eviction) and the server's shutdown. It never decides deadlines itself.
//!
//! On a TLS listener the handshake comes first, over the same counting socket, raced against
//! the same verdict: the head deadline runs from accept, so a client that connects and never
//! finishes its handshake is closed at `http_header_timeout` like one that never sends a head.
//! Handshake bytes are a request's first bytes to the registry, so a stop that comes during a
//! handshake lets that request be served (its response the connection's last).
//!
//! When the server stops, a connection with nothing of a request on it closes at once; one
//! whose request has begun (in flight, head partly read, or bytes still unread in the kernel)
//! is served to the end of that request and then closed. The socket is shared with that check
//! so that it can ask the kernel: a request sent just before the stop must not be reset.

use super::registry::{Admitted, Connection, Slot};
use super::service::ConnectionService;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use portcullis_http::Transport;
use rustix::net::RecvFlags;
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;

/// Bytes read at most at a time. The buffer hyper lends is zeroed before each read (filling
/// uninitialised memory would take `unsafe`), so this keeps that cost in proportion.
const READ_AT_MOST: usize = 64 * 1024;

/// What every connection task shares.
#[derive(Clone)]
pub struct Shared {
    pub http: http1::Builder,
    pub router: Router,
    pub body_timeout: Duration,
    /// Cancelled when the server stops accepting.
    pub stopping: CancellationToken,
    /// Set on a TLS listener: every connection begins with a handshake.
    pub tls: Option<TlsAcceptor>,
}

/// Serves one connection until the client leaves, the registry closes it, or shutdown drains it.
pub async fn serve(shared: Shared, stream: TcpStream, peer: SocketAddr, admitted: Admitted) {
    let Admitted {
        slot, connection, ..
    } = admitted;
    let stream = Arc::new(stream);
    let tracked = Tracked {
        stream: Arc::clone(&stream),
        connection: Arc::clone(&connection),
        _slot: slot,
    };
    let (io, transport) = match &shared.tls {
        None => (Either::Left(tracked), Transport::Plain),
        Some(acceptor) => {
            let Some(secured) = handshake(acceptor, tracked, &connection, peer).await else {
                return;
            };
            (Either::Right(secured), Transport::Tls)
        }
    };
    let io = TokioIo::new(io);
    let service = ConnectionService::new(
        shared.router,
        peer,
        transport,
        Arc::clone(&connection),
        shared.body_timeout,
        shared.stopping.clone(),
    );
    let mut served = pin!(shared.http.serve_connection(io, service).with_upgrades());
    let mut draining = false;
    loop {
        tokio::select! {
            result = served.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, %peer, "connection ended with an error");
                }
                break;
            }
            why = connection.closed_by_server() => {
                tracing::debug!(?why, %peer, "closing the connection");
                break;
            }
            () = shared.stopping.cancelled(), if !draining => {
                draining = true;
                if connection.has_request_in_flight() {
                    // Finish the request in flight, then close instead of keeping alive.
                    served.as_mut().graceful_shutdown();
                } else if connection.is_quiet() && !bytes_waiting(&stream) {
                    // Nothing to finish: close now rather than wait for a slow or idle client.
                    break;
                }
                // Otherwise a request has begun to arrive. hyper's graceful shutdown would drop
                // it (it closes a connection it considers idle), so serve it: its response says
                // `Connection: close`, and hyper closes after it.
            }
        }
    }
    // After an upgrade the socket lives on in the tunnel, still holding its slot.
    connection.detach();
}

/// The TLS handshake, unless the registry closes the connection first (the head deadline,
/// counted from accept; eviction; the shutdown timeout). `None` when it failed or was cut.
async fn handshake(
    acceptor: &TlsAcceptor,
    tracked: Tracked,
    connection: &Connection,
    peer: SocketAddr,
) -> Option<Box<tokio_rustls::server::TlsStream<Tracked>>> {
    tokio::select! {
        accepted = acceptor.accept(tracked) => match accepted {
            // Boxed: the TLS state is large, and the connection task holds it for its lifetime.
            Ok(secured) => Some(Box::new(secured)),
            Err(error) => {
                tracing::debug!(%error, %peer, "TLS handshake failed");
                None
            }
        },
        why = connection.closed_by_server() => {
            tracing::debug!(?why, %peer, "closing the connection during its TLS handshake");
            None
        }
    }
}

/// Whether the client has sent bytes that nothing has read yet. Asks the kernel, not tokio,
/// whose readiness may not yet have caught up with bytes that just arrived.
fn bytes_waiting(stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    let peeked = rustix::net::recv(stream, &mut byte, RecvFlags::PEEK | RecvFlags::DONTWAIT);
    matches!(peeked, Ok((1.., _)))
}

/// The client socket, telling the registry when bytes arrive (the start of a request head is
/// only visible here) and when they leave (a response still moving is not stalled), and
/// holding the registry slot for as long as the socket is open. The socket is shared (with
/// [`bytes_waiting`] on shutdown), so it is driven through tokio's `&TcpStream` calls.
struct Tracked {
    stream: Arc<TcpStream>,
    connection: Arc<Connection>,
    _slot: Slot,
}

impl AsyncRead for Tracked {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            ready!(self.stream.poll_read_ready(cx))?;
            let room = buf.remaining().min(READ_AT_MOST);
            match self.stream.try_read(buf.initialize_unfilled_to(room)) {
                Ok(read) => {
                    buf.advance(read);
                    if read > 0 {
                        self.connection.bytes_arrived();
                    }
                    return Poll::Ready(Ok(()));
                }
                // The readiness was stale; `try_read` cleared it, so the next poll waits.
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }
}

impl Tracked {
    fn note_written(&self, polled: &Poll<io::Result<usize>>) {
        if matches!(polled, Poll::Ready(Ok(written)) if *written > 0) {
            self.connection.bytes_sent();
        }
    }

    /// Writes with `write` once the socket is writable, as tokio's own `poll_write` does.
    fn poll_written(
        &self,
        cx: &mut Context<'_>,
        write: impl Fn(&TcpStream) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.stream.poll_write_ready(cx))?;
            match write(&self.stream) {
                // The readiness was stale; the failed try cleared it, so the next poll waits.
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                written => {
                    let polled = Poll::Ready(written);
                    self.note_written(&polled);
                    return polled;
                }
            }
        }
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_written(cx, |stream| stream.try_write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_written(cx, |stream| stream.try_write_vectored(bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    /// A TCP socket buffers nothing in user space: there is nothing to flush.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let shut = rustix::net::shutdown(&*self.stream, rustix::net::Shutdown::Write);
        Poll::Ready(shut.map_err(io::Error::from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::registry::Registry;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Connects to `listener`, sends `sent`, and serves the connection as a server that has
    /// just stopped, before it has read anything; returns the client's end.
    async fn stopping_connection(listener: &TcpListener, sent: &[u8]) -> TcpStream {
        let mut client = TcpStream::connect(listener.local_addr().expect("address"))
            .await
            .expect("connect");
        client.write_all(sent).await.expect("send");
        let (stream, peer) = listener.accept().await.expect("accept");
        let stopping = CancellationToken::new();
        stopping.cancel();
        let shared = Shared {
            http: http1::Builder::new(),
            router: Router::new().route("/", get(|| async { "ok" })),
            body_timeout: Duration::from_secs(10),
            stopping,
            tls: None,
        };
        let registry = Arc::new(Registry::new(
            1,
            Duration::from_secs(10),
            Duration::from_secs(10),
        ));
        let admitted = registry.admit().expect("room");
        serve(shared, stream, peer, admitted).await;
        client
    }

    #[tokio::test]
    async fn a_request_the_server_has_not_read_when_it_stops_is_answered_and_the_last() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        // Whether the task first sees the stop or the bytes is up to `select!`'s random order:
        // enough rounds that the stop comes first in some.
        for _ in 0..16 {
            let request = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
            let mut client = stopping_connection(&listener, request).await;
            let mut answer = String::new();
            client
                .read_to_string(&mut answer)
                .await
                .expect("a complete answer, then the end of the connection");
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
            assert!(
                answer.to_ascii_lowercase().contains("connection: close"),
                "{answer:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_connection_with_nothing_sent_closes_when_the_server_stops() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let closing = stopping_connection(&listener, b"");
        let mut client = tokio::time::timeout(Duration::from_secs(2), closing)
            .await
            .expect("closed at once, not at the 10 s header timeout");
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.expect("a clean end");
        assert!(answer.is_empty(), "{answer:?}");
    }
}
