//! A TCP proxy that can be told to misbehave: pass traffic, refuse connections (cutting the
//! open ones), stall (accept and hold connections without forwarding a byte), or pass traffic
//! late. Put between the gateway and Postgres or Redis to simulate outages of the real servers
//! and a slow network.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{copy_bidirectional, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Pass,
    /// New connections are closed at once; open ones are cut.
    Refuse,
    /// Connections are accepted and held; nothing is forwarded either way.
    Stall,
    /// Everything is forwarded, each read this much later, in order.
    Delay(Duration),
}

pub struct FaultProxy {
    addr: SocketAddr,
    mode: watch::Sender<Mode>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        Self::start_at(SocketAddr::from(([127, 0, 0, 1], 0)), upstream).await
    }

    /// A proxy listening on `listen` (port 0: any free one).
    pub async fn start_at(listen: SocketAddr, upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind(listen).await.expect("proxy binds");
        let addr = listener.local_addr().expect("proxy address");
        let (mode, watcher) = watch::channel(Mode::Pass);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(client, upstream, watcher.clone()));
            }
        });
        Self { addr, mode, task }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut client: TcpStream, upstream: SocketAddr, mut mode: watch::Receiver<Mode>) {
    loop {
        let current = *mode.borrow_and_update();
        match current {
            Mode::Refuse => return,
            Mode::Stall => {
                // Hold the connection open, silent, until the fault is lifted; then close it.
                let _ = mode.changed().await;
                return;
            }
            Mode::Pass | Mode::Delay(_) => {
                let Ok(mut server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let delay = match current {
                    Mode::Delay(delay) => delay,
                    _ => Duration::ZERO,
                };
                tokio::select! {
                    _ = forward(&mut client, &mut server, delay) => return,
                    changed = mode.changed() => {
                        if changed.is_err() { return; }
                        // A fault began: stop forwarding and apply it to this connection.
                        drop(server);
                        continue;
                    }
                }
            }
        }
    }
}

/// Copies both ways until either side closes; with a delay, every read waits that long before
/// it is written on, so bytes arrive late but in order.
async fn forward(client: &mut TcpStream, server: &mut TcpStream, delay: Duration) {
    if delay.is_zero() {
        let _ = copy_bidirectional(client, server).await;
        return;
    }
    let (client_read, client_write) = client.split();
    let (server_read, server_write) = server.split();
    tokio::select! {
        () = late(client_read, server_write, delay) => {}
        () = late(server_read, client_write, delay) => {}
    }
}

async fn late(
    mut from: impl AsyncReadExt + Unpin,
    mut to: impl AsyncWriteExt + Unpin,
    delay: Duration,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let Ok(read) = from.read(&mut buffer).await else {
            return;
        };
        if read == 0 {
            return;
        }
        tokio::time::sleep(delay).await;
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}
