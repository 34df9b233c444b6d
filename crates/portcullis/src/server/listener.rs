//! The listening socket, with an accept queue deep enough for a burst of connections.

use std::io;
use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpSocket};

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
