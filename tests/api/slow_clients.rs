//! Slow and idle clients cannot starve the gateway: a head must arrive within
//! `http_header_timeout`, an idle connection goes after `http_idle_timeout`, a stalled body
//! fails with 408 after `http_body_timeout` (a steady one may take as long as it needs), a
//! request to the gateway's own routes ends at that deadline however it trickles, a response
//! nobody reads is cut after `http_idle_timeout`, and with a low file-descriptor limit a
//! thousand slow connections leave `/healthz` answering.
//!
//! Clients here speak raw HTTP/1.1 over TCP: the point is what the server does with bytes that
//! come late or never, which a well-behaved HTTP client cannot be made to do.

use portcullis::config::UpstreamConfig;
use portcullis_tests::replica::binary;
use portcullis_tests::tier::{TestStorage, Tier};
use portcullis_tests::{free_port, EchoUpstream, TestApp};
use serde_json::Value;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tokio::time::{sleep, timeout, Instant};

const SLOW_CLIENTS: usize = 1000;
const FILE_LIMIT: u32 = 256;
const HEADER_TIMEOUT: Duration = Duration::from_secs(2);
/// Scheduling slack on top of a server deadline.
const MARGIN: Duration = Duration::from_secs(1);
const TRICKLE_EVERY: Duration = Duration::from_millis(250);
/// Well under the body timeouts used here: the inactivity deadline alone never fires.
const TRICKLE_BODY_EVERY: Duration = Duration::from_millis(300);
/// Far more than every buffer between the upstream and a client that does not read.
const DOWNLOAD_BYTES: usize = 64 * 1024 * 1024;

#[tokio::test]
async fn a_thousand_slow_clients_neither_starve_healthz_nor_outstay_the_header_timeout() {
    let gateway =
        FileLimitedGateway::start(FILE_LIMIT, &[("PORTCULLIS_HTTP_HEADER_TIMEOUT", "2s")]).await;
    let connected = Arc::new(AtomicUsize::new(0));
    let mut clients = JoinSet::new();
    for i in 0..SLOW_CLIENTS {
        // One in ten sends nothing at all: the header timeout must hold for those too.
        let silent = i % 10 == 0;
        clients.spawn(slow_client(gateway.addr, Arc::clone(&connected), silent));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while connected.load(Ordering::SeqCst) < SLOW_CLIENTS && Instant::now() < deadline {
        sleep(Duration::from_millis(10)).await;
    }

    // Probe while the slow clients are still trickling (they last up to the header timeout).
    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        let started = Instant::now();
        let answer = timeout(Duration::from_secs(5), get(gateway.addr, "/healthz")).await;
        let took = started.elapsed();
        let status = answer.ok().flatten().map(|(status, _)| status);
        assert_eq!(
            status,
            Some(200),
            "/healthz did not answer (waited {took:?})"
        );
        slowest = slowest.max(took);
        sleep(Duration::from_millis(200)).await;
    }

    let mut lifetimes = Vec::with_capacity(SLOW_CLIENTS);
    while let Some(outcome) = clients.join_next().await {
        lifetimes.push(outcome.expect("slow client task"));
    }
    let failed_to_connect = lifetimes.iter().filter(|l| l.is_err()).count();
    let kept_open = lifetimes.iter().filter(|l| matches!(l, Ok(None))).count();
    let closed: Vec<Duration> = lifetimes
        .iter()
        .filter_map(|l| l.clone().ok().flatten())
        .collect();
    let longest = closed.iter().max().copied().unwrap_or_default();
    let made_room = closed.iter().filter(|d| **d < HEADER_TIMEOUT / 2).count();
    eprintln!(
        "slowest /healthz: {slowest:?}; {} slow connections closed by the server ({made_room} \
         early to make room), the longest after {longest:?}; {kept_open} still open; \
         {failed_to_connect} failed to connect",
        closed.len()
    );
    assert!(
        slowest < Duration::from_secs(1),
        "/healthz took {slowest:?}"
    );
    assert_eq!(failed_to_connect, 0, "every slow client gets connected");
    assert_eq!(
        kept_open, 0,
        "every slow connection is closed by the server"
    );
    assert!(
        longest <= HEADER_TIMEOUT + MARGIN,
        "a slow connection lived {longest:?}, past the header timeout"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let idle_timeout = Duration::from_secs(3);
    let app = TestApp::spawn_with(|config| {
        config.http_header_timeout = Duration::from_secs(1);
        config.http_idle_timeout = idle_timeout;
    })
    .await;
    let mut stream = TcpStream::connect(app.addr()).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n")
        .await
        .expect("request");
    let (status, _) = read_response(&mut stream).await.expect("a response");
    assert_eq!(status, 200);

    let closed_after = closed_within(&mut stream, idle_timeout + MARGIN + MARGIN).await;
    let closed_after = closed_after.expect("the idle connection is closed");
    assert!(
        closed_after >= idle_timeout - Duration::from_millis(100),
        "closed after {closed_after:?}: idle connections get the idle timeout, not the header one"
    );
    assert!(
        closed_after <= idle_timeout + MARGIN,
        "closed after {closed_after:?}"
    );
}

#[tokio::test]
async fn a_stalled_json_body_is_a_408_after_the_body_timeout() {
    let body_timeout = Duration::from_secs(1);
    let app = TestApp::spawn_with(|config| config.http_body_timeout = body_timeout).await;
    let mut stream = TcpStream::connect(app.addr()).await.expect("connect");
    stream
        .write_all(
            b"POST /auth/login HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"email\": \"slow",
        )
        .await
        .expect("a partial request");
    let started = Instant::now();

    let response = timeout(body_timeout + MARGIN + MARGIN, read_response(&mut stream)).await;
    let (status, body) = response
        .ok()
        .flatten()
        .expect("an answer after the body timeout");
    let waited = started.elapsed();
    assert_eq!(status, 408, "{body}");
    assert_eq!(body["error"], "request_timeout");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(
        waited >= body_timeout - Duration::from_millis(100),
        "{waited:?}"
    );
}

#[tokio::test]
async fn a_large_upload_at_a_steady_pace_may_take_longer_than_the_body_timeout() {
    let upstream = EchoUpstream::start().await;
    let body_timeout = Duration::from_secs(1);
    let app = proxied_app(&upstream, body_timeout).await;
    let (_, _, token) = app.logged_in().await;

    let (chunk, chunks, pause) = (256 * 1024, 16, Duration::from_millis(250));
    let mut stream = TcpStream::connect(app.addr()).await.expect("connect");
    let head = format!(
        "POST /api/upload HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {token}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        chunk * chunks
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    let started = Instant::now();
    for _ in 0..chunks {
        stream.write_all(&vec![b'u'; chunk]).await.expect("a chunk");
        sleep(pause).await;
    }
    let response = timeout(Duration::from_secs(10), read_response(&mut stream)).await;
    let (status, body) = response.ok().flatten().expect("the upstream's answer");
    assert!(started.elapsed() > body_timeout * 3, "the upload was slow");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["body_bytes"], chunk * chunks, "arrived whole");
}

#[tokio::test]
async fn a_stalled_upload_through_the_proxy_is_a_408_too() {
    let upstream = EchoUpstream::start().await;
    let body_timeout = Duration::from_secs(1);
    let app = proxied_app(&upstream, body_timeout).await;
    let (_, _, token) = app.logged_in().await;

    let mut stream = TcpStream::connect(app.addr()).await.expect("connect");
    let head = format!(
        "POST /api/upload HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {token}\r\n\
         Content-Length: 1000000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream
        .write_all(&[b'u'; 1000])
        .await
        .expect("a little body");

    let response = timeout(body_timeout + MARGIN + MARGIN, read_response(&mut stream)).await;
    let (status, body) = response
        .ok()
        .flatten()
        .expect("an answer after the body timeout");
    assert_eq!(status, 408, "{body}");
    assert_eq!(body["error"], "request_timeout");
}

#[tokio::test]
async fn a_body_trickled_below_the_inactivity_timeout_still_ends_at_the_deadline() {
    let body_timeout = Duration::from_secs(1);
    let app = TestApp::spawn_with(|config| config.http_body_timeout = body_timeout).await;
    let mut stream = TcpStream::connect(app.addr()).await.expect("connect");
    start_login(&mut stream).await.expect("a request head");
    let started = Instant::now();

    let answer = trickle_until_answered(&mut stream, body_timeout + MARGIN + MARGIN).await;
    let waited = started.elapsed();
    let (status, body) = answer.unwrap_or_else(|| panic!("no answer after {waited:?}"));
    assert_eq!(status, 408, "{body}");
    assert_eq!(body["error"], "request_timeout");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(
        waited >= body_timeout - Duration::from_millis(100),
        "{waited:?}"
    );
    assert!(waited <= body_timeout + MARGIN, "answered after {waited:?}");
}

#[tokio::test]
async fn a_response_the_client_never_reads_does_not_hold_its_connection() {
    let upstream = EchoUpstream::start().await;
    let idle_timeout = Duration::from_secs(2);
    let url = upstream.base();
    let app = TestApp::spawn_with(move |config| {
        config.upstreams = vec![UpstreamConfig {
            prefix: "/api".to_owned(),
            url,
        }];
        config.http_idle_timeout = idle_timeout;
    })
    .await;
    let (_, _, token) = app.logged_in().await;

    let socket = TcpSocket::new_v4().expect("a socket");
    // Small, so the response stalls as soon as the few buffers in between are full.
    socket
        .set_recv_buffer_size(4096)
        .expect("a small receive buffer");
    let mut stream = socket.connect(app.addr()).await.expect("connect");
    let request = format!(
        "GET /api/download?n={DOWNLOAD_BYTES} HTTP/1.1\r\nHost: gateway\r\n\
         Authorization: Bearer {token}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("request");
    // The buffers fill within milliseconds; from then on nothing moves until we read.
    sleep(idle_timeout + MARGIN).await;

    let (received, head) = timeout(Duration::from_secs(20), drain(&mut stream))
        .await
        .expect("reading ends");
    assert!(
        head.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    assert!(
        received < DOWNLOAD_BYTES,
        "all {received} bytes came: the stalled connection was still open {:?} after the stall",
        idle_timeout + MARGIN
    );
}

#[tokio::test]
async fn trickled_bodies_at_the_connection_cap_keep_healthz_out_only_until_the_deadline() {
    let body_timeout = Duration::from_secs(1);
    let cap = 4;
    let app = TestApp::spawn_with(|config| {
        config.http_body_timeout = body_timeout;
        config.max_connections = cap;
    })
    .await;
    let mut tricklers = JoinSet::new();
    for _ in 0..cap {
        let mut stream = TcpStream::connect(app.addr()).await.expect("connect");
        start_login(&mut stream).await.expect("a request head");
        tricklers.spawn(async move {
            trickle_until_answered(&mut stream, Duration::from_secs(10)).await
        });
    }
    let started = Instant::now();
    // Let the server take in the heads: every connection then has a request in flight.
    sleep(Duration::from_millis(200)).await;
    let refused = timeout(Duration::from_secs(1), get(app.addr(), "/healthz")).await;
    assert!(
        matches!(refused, Ok(None)),
        "at the cap with every connection busy, a newcomer is refused: {refused:?}"
    );

    let mut answered = None;
    while answered.is_none() && started.elapsed() < body_timeout + MARGIN {
        let probe = timeout(Duration::from_millis(500), get(app.addr(), "/healthz")).await;
        if matches!(probe, Ok(Some((200, _)))) {
            answered = Some(started.elapsed());
        } else {
            sleep(Duration::from_millis(50)).await;
        }
    }
    let answered = answered.unwrap_or_else(|| {
        panic!(
            "/healthz still refused {:?} after the bodies began",
            started.elapsed()
        )
    });
    eprintln!("/healthz answered {answered:?} after the trickling bodies began");
    while let Some(outcome) = tricklers.join_next().await {
        let (status, body) = outcome.expect("trickler task").expect("an answer");
        assert_eq!(
            (status, &body["error"]),
            (408, &Value::from("request_timeout"))
        );
    }
}

async fn proxied_app(upstream: &EchoUpstream, body_timeout: Duration) -> TestApp {
    let url = upstream.base();
    TestApp::spawn_with(move |config| {
        config.upstreams = vec![UpstreamConfig {
            prefix: "/api".to_owned(),
            url,
        }];
        config.http_body_timeout = body_timeout;
    })
    .await
}

/// Connects, starts a request head and never finishes it, adding a byte now and then (or,
/// `silent`, sends nothing at all). `Ok(Some(lifetime))` when the server closed the connection, measured from the connect;
/// `Ok(None)` when it was still open well past the header timeout.
async fn slow_client(
    addr: SocketAddr,
    connected: Arc<AtomicUsize>,
    silent: bool,
) -> Result<Option<Duration>, String> {
    let mut stream = timeout(Duration::from_secs(5), TcpStream::connect(addr))
        .await
        .map_err(|_| "connect timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    let since = Instant::now();
    connected.fetch_add(1, Ordering::SeqCst);
    let started = silent
        || stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nX-Slow: ")
            .await
            .is_ok();
    if !started {
        return Ok(Some(since.elapsed()));
    }
    let give_up = since + HEADER_TIMEOUT + MARGIN * 3;
    let mut buf = [0u8; 512];
    while Instant::now() < give_up {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => return Ok(Some(since.elapsed())),
                Ok(_) => {} // an error page is fine; the close is what counts
            },
            () = sleep(TRICKLE_EVERY) => {
                if !silent && stream.write_all(b"a").await.is_err() {
                    return Ok(Some(since.elapsed()));
                }
            }
        }
    }
    Ok(None)
}

/// Sends the head of a login whose body will never be complete, and the body's first byte.
async fn start_login(stream: &mut TcpStream) -> std::io::Result<()> {
    let head = b"POST /auth/login HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n\
                 Content-Length: 1000\r\n\r\n{";
    stream.write_all(head).await
}

/// Adds a byte of (JSON) whitespace every [`TRICKLE_BODY_EVERY`] until the server answers, or
/// `limit` passes (`None`).
async fn trickle_until_answered(stream: &mut TcpStream, limit: Duration) -> Option<(u16, Value)> {
    let (mut reader, mut writer) = stream.split();
    let trickle = async {
        loop {
            sleep(TRICKLE_BODY_EVERY).await;
            if writer.write_all(b" ").await.is_err() {
                // Closed after answering, perhaps: the answer is still to be read.
                return std::future::pending().await;
            }
        }
    };
    tokio::select! {
        answer = read_response(&mut reader) => answer,
        () = trickle => None,
        () = sleep(limit) => None,
    }
}

/// Reads until the server ends the connection (or more than [`DOWNLOAD_BYTES`] came): how
/// many bytes came, and the first of them.
async fn drain(stream: &mut TcpStream) -> (usize, Vec<u8>) {
    let mut buf = vec![0u8; 64 * 1024];
    let (mut received, mut head) = (0, Vec::new());
    while received <= DOWNLOAD_BYTES {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if head.len() < 64 {
                    head.extend_from_slice(&buf[..n.min(64)]);
                }
                received += n;
            }
        }
    }
    (received, head)
}

/// How long until the peer closes `stream`, if it does within `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let since = Instant::now();
    let mut buf = [0u8; 512];
    loop {
        match timeout(limit.saturating_sub(since.elapsed()), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return Some(since.elapsed()),
            Ok(Ok(_)) => {}
            Err(_) => return None,
        }
    }
}

/// `GET path` on a fresh connection.
async fn get(addr: SocketAddr, path: &str) -> Option<(u16, Value)> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    read_response(&mut stream).await
}

/// One response: the status and the JSON body (by `Content-Length`, else up to the close).
async fn read_response(stream: &mut (impl AsyncRead + Unpin)) -> Option<(u16, Value)> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        received.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&received[..head_end]).into_owned();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let length = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())
            .flatten()
    });
    let mut body = received[head_end..].to_vec();
    loop {
        if length.is_some_and(|length| body.len() >= length) {
            break;
        }
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    Some((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

/// The real binary as a child process under a lowered file-descriptor limit, on the
/// embedded tier, killed when dropped.
struct FileLimitedGateway {
    addr: SocketAddr,
    child: Child,
    _storage: TestStorage,
}

impl FileLimitedGateway {
    async fn start(file_limit: u32, settings: &[(&str, &str)]) -> Self {
        let storage = TestStorage::create(Tier::Embedded).await;
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let child = Command::new("bash")
            .arg("-c")
            .arg(format!("ulimit -n {file_limit} && exec \"$0\" serve"))
            .arg(binary())
            .envs(storage.env())
            .env("PORTCULLIS_LISTEN", addr.to_string())
            .env("RUST_LOG", "warn")
            .envs(settings.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("bash starts the gateway");
        let mut gateway = Self {
            addr,
            child,
            _storage: storage,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        let up = || async {
            let answer = timeout(Duration::from_secs(2), get(addr, "/healthz")).await;
            answer.ok().flatten().map(|(status, _)| status) == Some(200)
        };
        while !up().await {
            if let Ok(Some(status)) = gateway.child.try_wait() {
                panic!("the gateway exited during start-up: {status}");
            }
            assert!(Instant::now() < deadline, "the gateway did not come up");
            sleep(Duration::from_millis(50)).await;
        }
        gateway
    }
}

impl Drop for FileLimitedGateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
