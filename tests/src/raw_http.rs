//! [`exchange`]: one HTTP request written as raw bytes and what came back, for requests an HTTP
//! client library would not send as written (dot segments it would resolve, duplicate or
//! oddly spelled upgrade headers).

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const READ_LIMIT: usize = 256 * 1024;

/// What a raw exchange received.
#[derive(Debug)]
pub struct RawReply {
    pub status: u16,
    /// Everything received, head and body, as text.
    pub text: String,
}

impl RawReply {
    /// The body as JSON, when it is JSON.
    pub fn json(&self) -> serde_json::Value {
        self.text
            .split_once("\r\n\r\n")
            .and_then(|(_, body)| serde_json::from_str(body).ok())
            .unwrap_or(serde_json::Value::Null)
    }
}

/// Sends `request` (raw bytes, `\r\n` line ends) to `addr` and reads until the peer closes or
/// goes quiet for a moment: whatever a tunnel would carry arrives right after the head, so a
/// quiet moment means nothing more is coming. Requests that should end quickly say
/// `Connection: close`.
pub async fn exchange(addr: SocketAddr, request: &str) -> RawReply {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send the request");
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(Ok(read)) =
        tokio::time::timeout(Duration::from_millis(500), stream.read(&mut chunk)).await
    {
        if read == 0 || received.len() > READ_LIMIT {
            break;
        }
        received.extend_from_slice(&chunk[..read]);
    }
    let text = String::from_utf8_lossy(&received).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
    RawReply { status, text }
}
