//! One client connection from accept to close: HTTP/1.1 (with upgrades) over a socket that
//! reports bytes read and written to the registry, raced against the registry's verdict
//! (timeout, stall, eviction) and the server's shutdown. It never decides deadlines itself.

use super::registry::{Admitted, Connection, Slot};
use super::service::ConnectionService;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// What every connection task shares.
#[derive(Clone)]
pub struct Shared {
    pub http: http1::Builder,
    pub router: Router,
    pub body_timeout: Duration,
}

/// Serves one connection until the client leaves, the registry closes it, or shutdown drains it.
pub async fn serve(
    shared: Shared,
    stream: TcpStream,
    peer: SocketAddr,
    admitted: Admitted,
    mut shutdown: watch::Receiver<()>,
) {
    let Admitted {
        slot, connection, ..
    } = admitted;
    let io = TokioIo::new(Tracked {
        stream,
        connection: Arc::clone(&connection),
        _slot: slot,
    });
    let service = ConnectionService::new(
        shared.router,
        peer,
        Arc::clone(&connection),
        shared.body_timeout,
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
            _ = shutdown.changed(), if !draining => {
                // Nothing to finish: close now rather than wait for a slow or idle client.
                if !connection.has_request_in_flight() {
                    break;
                }
                // Finish the request in flight, then close instead of keeping alive.
                served.as_mut().graceful_shutdown();
                draining = true;
            }
        }
    }
    // After an upgrade the socket lives on in the tunnel, still holding its slot.
    connection.detach();
}

/// The client socket, telling the registry when bytes arrive (the start of a request head is
/// only visible here) and when they leave (a response still moving is not stalled), and
/// holding the registry slot for as long as the socket is open.
struct Tracked {
    stream: TcpStream,
    connection: Arc<Connection>,
    _slot: Slot,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.connection.bytes_arrived();
        }
        polled
    }
}

impl Tracked {
    fn note_written(&self, polled: &Poll<io::Result<usize>>) {
        if matches!(polled, Poll::Ready(Ok(written)) if *written > 0) {
            self.connection.bytes_sent();
        }
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.note_written(&polled);
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.note_written(&polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
