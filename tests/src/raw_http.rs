//! [`exchange`]: one HTTP request written as raw bytes and what came back, for requests an HTTP
//! client library would not send as written (dot segments it would resolve, duplicate or
//! oddly spelled upgrade headers). [`KeptAlive`]: a kept-alive connection that says exactly
//! when a request was handed to the kernel, which a client library does not; over TCP, or over
//! any other stream (a TLS session).

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
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

/// One kept-alive HTTP/1.1 connection, a request at a time.
pub struct KeptAlive<S = TcpStream> {
    stream: S,
    received: Vec<u8>,
}

/// A complete response read from a [`KeptAlive`] connection.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Header lines, names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every header named `name` (lowercase).
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.headers
            .iter()
            .filter(move |(header, _)| header == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whether the server said this is the connection's last response.
    pub fn closes_connection(&self) -> bool {
        self.header("connection")
            .is_some_and(|value| value.eq_ignore_ascii_case("close"))
    }
}

impl KeptAlive {
    pub async fn connect(addr: SocketAddr) -> std::io::Result<Self> {
        Ok(Self::over(TcpStream::connect(addr).await?))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> KeptAlive<S> {
    /// HTTP/1.1 over a connection already open.
    pub fn over(stream: S) -> Self {
        Self {
            stream,
            received: Vec::new(),
        }
    }

    /// The connection underneath.
    pub fn stream(&self) -> &S {
        &self.stream
    }

    /// Writes `request` whole; once this returns, the bytes are the kernel's to deliver.
    pub async fn send(&mut self, request: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(request).await
    }

    /// Reads the next response (its body framed by `Content-Length`); an error if the
    /// connection ends before it is complete.
    pub async fn response(&mut self) -> std::io::Result<Response> {
        let head_end = loop {
            if let Some(end) = find(&self.received, b"\r\n\r\n") {
                break end;
            }
            self.read_more().await?;
        };
        let head = String::from_utf8_lossy(&self.received[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| invalid(&head))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(name, _)| name == "content-length")
            .and_then(|(_, value)| value.parse().ok())
            .ok_or_else(|| invalid(&head))?;
        let body_start = head_end + 4;
        while self.received.len() < body_start + length {
            self.read_more().await?;
        }
        let body = self.received[body_start..body_start + length].to_vec();
        self.received.drain(..body_start + length);
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    async fn read_more(&mut self) -> std::io::Result<()> {
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk).await? {
            0 => Err(std::io::ErrorKind::UnexpectedEof.into()),
            read => {
                self.received.extend_from_slice(&chunk[..read]);
                Ok(())
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn invalid(head: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("not a response head with a Content-Length: {head:?}"),
    )
}
