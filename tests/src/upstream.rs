//! `EchoUpstream`: a stand-in for the application behind the gateway, so tests can see exactly
//! what a proxy in front of it forwarded. Every request gets its method, URI, headers and body
//! size echoed back as JSON; a few paths misbehave on purpose (slow, large download, WebSocket).
//! It holds no state but a request count and never checks anything: judging is the tests' job.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, FromRequestParts, Request, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use futures::StreamExt;
use serde_json::{json, Map, Value};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::{self, handshake::client::Response as WsResponse};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long `…/slow` waits before answering: longer than any proxy timeout a test sets.
const SLOW: Duration = Duration::from_secs(3);
const DOWNLOAD_DEFAULT: usize = 1024 * 1024;
const DOWNLOAD_CHUNK: usize = 64 * 1024;

pub struct EchoUpstream {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    /// Dropping it stops the server: the listener closes, idle connections are shut.
    _stop: oneshot::Sender<()>,
}

impl EchoUpstream {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("echo upstream binds");
        let addr = listener.local_addr().expect("echo upstream address");
        let hits = Arc::new(AtomicUsize::new(0));
        let router = Router::new()
            .fallback(answer)
            // Upload tests send many megabytes; the upstream must never be the one refusing.
            .layer(DefaultBodyLimit::disable())
            .with_state(hits.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Self {
            addr,
            hits,
            _stop: stop,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests received so far, WebSocket upgrades included.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// Opens a WebSocket to `url` (`ws://…`) with extra request headers, e.g. `Authorization`; a
/// header named twice keeps the last value. Panics if the handshake fails.
pub async fn ws_connect(
    url: &str,
    headers: &[(&str, &str)],
) -> (WebSocketStream<MaybeTlsStream<TcpStream>>, WsResponse) {
    try_ws_connect(url, headers)
        .await
        .unwrap_or_else(|e| panic!("websocket handshake with {url} failed: {e}"))
}

/// As [`ws_connect`], for tests that expect a refusal: a non-101 answer comes back as
/// `tungstenite::Error::Http` holding the response.
pub async fn try_ws_connect(
    url: &str,
    headers: &[(&str, &str)],
) -> Result<(WebSocketStream<MaybeTlsStream<TcpStream>>, WsResponse), tungstenite::Error> {
    let mut request = url.into_client_request()?;
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("valid header name");
        let value = HeaderValue::from_str(value).expect("valid header value");
        request.headers_mut().insert(name, value);
    }
    tokio_tungstenite::connect_async(request).await
}

async fn answer(State(hits): State<Arc<AtomicUsize>>, request: Request) -> Response {
    hits.fetch_add(1, Ordering::SeqCst);
    let (mut parts, body) = request.into_parts();
    match parts.uri.path().rsplit('/').next() {
        Some("ws") => match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
            Ok(upgrade) => {
                let headers = headers_json(&parts.headers);
                upgrade.on_upgrade(move |socket| echo_socket(socket, headers))
            }
            Err(rejection) => rejection.into_response(),
        },
        Some("download") => download(&parts.uri),
        Some("slow") => {
            tokio::time::sleep(SLOW).await;
            echo(parts, body).await
        }
        _ => echo(parts, body).await,
    }
}

async fn echo(parts: axum::http::request::Parts, body: Body) -> Response {
    // Counted as it streams, never buffered, so bodies of any size pass.
    let mut body_bytes = 0usize;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => body_bytes += chunk.len(),
            Err(e) => {
                return (StatusCode::BAD_REQUEST, format!("reading the body: {e}")).into_response()
            }
        }
    }
    let uri = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    Json(json!({
        "method": parts.method.as_str(),
        "uri": uri,
        "headers": headers_json(&parts.headers),
        "body_bytes": body_bytes,
    }))
    .into_response()
}

/// Header names are lowercase already (the `http` crate normalises them); repeated ones are
/// joined the way a proxy may legitimately fold them.
fn headers_json(headers: &HeaderMap) -> Value {
    let mut map = Map::new();
    for name in headers.keys() {
        let values: Vec<_> = headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        map.insert(name.as_str().to_owned(), Value::String(values.join(", ")));
    }
    Value::Object(map)
}

/// `n` bytes of `x` (`?n=`, 1 MiB by default), produced chunk by chunk so a proxy that buffers
/// whole responses is the only thing that could hold it all at once.
fn download(uri: &Uri) -> Response {
    let n = uri
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix("n="))
        .map_or(Ok(DOWNLOAD_DEFAULT), str::parse::<usize>);
    let Ok(n) = n else {
        return (StatusCode::BAD_REQUEST, "n must be a byte count").into_response();
    };
    let chunk = Bytes::from(vec![b'x'; DOWNLOAD_CHUNK]);
    let chunks = (0..n)
        .step_by(DOWNLOAD_CHUNK)
        .map(move |start| Ok::<_, Infallible>(chunk.slice(..DOWNLOAD_CHUNK.min(n - start))));
    (
        // A declared length lets clients tell a cut-short download from a complete one.
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_LENGTH, n.to_string()),
        ],
        Body::from_stream(futures::stream::iter(chunks)),
    )
        .into_response()
}

/// First the upgrade request's headers (what the proxy forwarded), then an echo of every text
/// and binary message until the client goes away. Pings are answered by the WebSocket library.
async fn echo_socket(mut socket: WebSocket, headers: Value) {
    let hello = json!({ "headers": headers }).to_string();
    if socket.send(Message::Text(hello.into())).await.is_err() {
        return;
    }
    while let Some(Ok(message)) = socket.recv().await {
        match message {
            Message::Text(_) | Message::Binary(_) => {
                if socket.send(message).await.is_err() {
                    return;
                }
            }
            Message::Close(_) => return,
            Message::Ping(_) | Message::Pong(_) => {}
        }
    }
}
