//! [`SwitchingUpstream`]: an application that honours any protocol upgrade, as an h2c-capable
//! server does: it answers a request that asks for an upgrade with `101 Switching Protocols` and
//! then writes raw bytes that are not HTTP. An eager one switches even unasked. It records each request head it received, so a test
//! can tell what a proxy in front of it forwarded. Raw TCP on purpose: an HTTP library would
//! refuse to switch unasked, and that refusal is exactly what the tests must not rely on.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What a tunnel through the gateway would show a client after the 101.
pub const RAW_BYTES: &str = "RAW-PROTOCOL-BYTES";
const HEAD_LIMIT: usize = 64 * 1024;

/// When the stand-in switches protocols.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Switches {
    /// Only when the request carries an `Upgrade` header, as a real server does.
    WhenAsked,
    /// On every request: a misbehaving application.
    Always,
}

pub struct SwitchingUpstream {
    addr: SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
    server: JoinHandle<()>,
}

impl SwitchingUpstream {
    pub async fn start(switches: Switches) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("switching upstream binds");
        let addr = listener.local_addr().expect("switching upstream address");
        let heads = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&heads);
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(switch(stream, switches, Arc::clone(&recorded)));
            }
        });
        Self {
            addr,
            heads,
            server,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The request heads received so far, lower-cased.
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().expect("heads").clone()
    }
}

impl Drop for SwitchingUpstream {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn switch(mut stream: TcpStream, switches: Switches, heads: Arc<Mutex<Vec<String>>>) {
    let Some(head) = read_head(&mut stream).await else {
        return;
    };
    let head = head.to_ascii_lowercase();
    heads.lock().expect("heads").push(head.clone());
    if switches == Switches::WhenAsked && !asks_upgrade(&head) {
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            .await;
        return;
    }
    // Switch to what was asked for, as a server supporting it would (h2c when unasked).
    let protocol = head
        .lines()
        .find_map(|line| line.strip_prefix("upgrade:"))
        .map_or("h2c", str::trim);
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: {protocol}\r\n\r\n\
         {RAW_BYTES}"
    );
    if stream.write_all(answer.as_bytes()).await.is_ok() {
        // Keep the "upgraded" connection open a while, as a real protocol would.
        let mut sink = [0u8; 1024];
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut sink)).await;
    }
}

/// Whether a (lower-cased) request head has an `Upgrade` header line.
pub fn asks_upgrade(head: &str) -> bool {
    !upgrades_in(head).is_empty()
}

/// The protocols a (lower-cased) head's `Upgrade` lines name.
pub fn upgrades_in(head: &str) -> Vec<String> {
    head.lines()
        .filter_map(|line| line.strip_prefix("upgrade:"))
        .flat_map(|value| value.split(','))
        .map(|protocol| protocol.trim().to_owned())
        .collect()
}

/// Reads up to the end of an HTTP head (`\r\n\r\n`); `None` on EOF, error or an oversize head.
async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buffer.windows(4).any(|window| window == b"\r\n\r\n") {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 || buffer.len() > HEAD_LIMIT {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    Some(String::from_utf8_lossy(&buffer).into_owned())
}
