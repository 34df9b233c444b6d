//! The listening socket, with an accept queue deep enough for a burst of connections, and its
//! closing, which first takes what that queue holds.

use std::io;
use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// Connections the kernel queues for `accept` (capped by `net.core.somaxconn`). The usual 128
/// overflows when hundreds of clients connect at once, and every dropped handshake costs its
/// client a one-second retransmission: a delay a health check cannot afford.
const BACKLOG: u32 = 1024;

/// Listens on `address` (`host:port`; the first resolved address that binds).
pub async fn bind(address: &str) -> io::Result<TcpListener> {
    let mut failure = None;
    for addr in tokio::net::lookup_host(address).await? {
        match listen(addr) {
            Ok(listener) => return Ok(listener),
            Err(error) => failure = Some(error),
        }
    }
    Err(failure.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolves to nothing",
        )
    }))
}

fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    // As `std` and tokio do on Unix: a restart can bind while old connections linger.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Closes the listener, first taking the connections the kernel completed that the accept loop
/// has not accepted yet: their clients may have sent a request already, and closing the
/// listener would reset them. New connections are refused from the moment it returns.
pub fn close(listener: TcpListener) -> Vec<(TcpStream, SocketAddr)> {
    let mut queued = Vec::new();
    // A std listener asks the kernel directly; tokio's readiness may lag behind the queue.
    let Ok(listener) = listener.into_std() else {
        return queued;
    };
    loop {
        // Non-blocking, as tokio left it: `WouldBlock` once the queue is empty.
        match listener.accept() {
            Ok((stream, peer)) => {
                let adopted = stream
                    .set_nonblocking(true)
                    .and_then(|()| TcpStream::from_std(stream));
                match adopted {
                    Ok(stream) => queued.push((stream, peer)),
                    Err(error) => {
                        tracing::debug!(%error, %peer, "cannot serve a queued connection")
                    }
                }
            }
            // One client gave up while queued; the others are still there.
            Err(error) if error.kind() == io::ErrorKind::ConnectionAborted => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return queued,
        }
    }
}
