//! Stopping with SIGTERM, as an orchestrator does: `/readyz` fails at once while the listener
//! still serves new connections for `shutdown_delay`; then new connections are refused, every
//! request that has begun is answered in full (or cut at `shutdown_timeout`), no acknowledged
//! rotation is lost, and the process exits 0. The real binary, on the tier under test.

use futures::future::join_all;
use portcullis_tests::raw_http::{KeptAlive, Response};
use portcullis_tests::replica::Replica;
use portcullis_tests::tier::{tier, TestStorage};
use portcullis_tests::{Browser, Reply, COOKIE_NAME, PASSWORD};
use reqwest::StatusCode;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Long enough to tell "during the delay" from "after it" on a busy machine.
const DELAY: Duration = Duration::from_secs(2);
const EXIT_WITHIN: Duration = Duration::from_secs(30);

#[tokio::test]
async fn sigterm_fails_readyz_at_once_serves_new_connections_for_the_delay_then_refuses_them() {
    let storage = TestStorage::create(tier()).await;
    let mut gateway = Replica::start(&storage, &[("PORTCULLIS_SHUTDOWN_DELAY", "2s")]).await;
    let email = gateway.new_user().await;
    assert_eq!(get(&gateway, "/readyz").await.status, StatusCode::OK);
    // Requests still arriving when the signal comes, finished only once the listener has
    // closed: a login halfway through its body, and a request halfway through its head. They
    // keep the process up meanwhile, and must still be answered.
    let (mut slow_body, rest_of_body) = begin_login(gateway.addr(), &email).await;
    let mut slow_head = KeptAlive::connect(gateway.addr()).await.expect("connect");
    slow_head
        .send(b"GET /healthz HTTP/1.1\r\nHo")
        .await
        .expect("the first half of a head");

    let signalled = Instant::now();
    gateway.terminate();
    let unready = until_unready(&gateway).await;
    assert_eq!(unready.error(), "shutting_down", "{unready:?}");
    let flipped_after = signalled.elapsed();
    assert!(
        flipped_after < DELAY / 2,
        "/readyz answered 503 only {flipped_after:?} after the signal"
    );
    assert_eq!(get(&gateway, "/healthz").await.status, StatusCode::OK);
    let mut newcomer = Browser::new(fresh_client(), gateway.base.clone());
    let login = newcomer.login(&email, PASSWORD).await;
    assert_eq!(
        login.status,
        StatusCode::OK,
        "a new connection during the delay is served: {login:?}"
    );

    let refused_after = until_refused(gateway.addr()).await - signalled;
    assert!(
        refused_after >= DELAY,
        "new connections were refused {refused_after:?} after the signal, before the delay"
    );
    slow_body
        .send(rest_of_body.as_bytes())
        .await
        .expect("the rest of the body");
    slow_head
        .send(b"st: gateway\r\n\r\n")
        .await
        .expect("the rest of the head");
    for slow in [&mut slow_body, &mut slow_head] {
        let answer = slow.response().await.expect("a complete answer");
        assert_eq!(answer.status, 200, "{answer:?}");
        assert!(answer.closes_connection(), "{answer:?}");
    }
    let status = gateway.exited(EXIT_WITHIN).await;
    assert!(status.success(), "exit status {status}");
}

#[tokio::test]
async fn a_request_unfinished_at_the_shutdown_timeout_is_cut_and_the_process_still_exits_0() {
    let storage = TestStorage::create(tier()).await;
    let log = storage.data.path().join("gateway.log");
    let settings = [
        ("PORTCULLIS_SHUTDOWN_DELAY", "0s"),
        ("PORTCULLIS_SHUTDOWN_TIMEOUT", "1s"),
        ("PORTCULLIS_LOG_FORMAT", "json"),
    ];
    let mut gateway = Replica::start_logging_to(&storage, &settings, &log).await;
    // Its body never completes (the body deadline, 30 s, is far off).
    let (mut stuck, _never_sent) = begin_login(gateway.addr(), "nobody@example.com").await;

    let signalled = Instant::now();
    gateway.terminate();
    let status = gateway.exited(EXIT_WITHIN).await;
    let took = signalled.elapsed();
    assert!(status.success(), "exit status {status}");
    assert!(
        took >= Duration::from_secs(1),
        "exited after {took:?}, without waiting for the request in flight"
    );
    assert!(
        stuck.response().await.is_err(),
        "the connection is closed without an answer"
    );
    let log = std::fs::read_to_string(&log).expect("the gateway's log");
    let cut = log
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| {
            line["fields"]["message"]
                .as_str()
                .is_some_and(|message| message.contains("connections were cut"))
        })
        .unwrap_or_else(|| panic!("no line about cut connections in {log}"));
    assert_eq!(cut["fields"]["connections"], 1, "{cut}");
}

/// Long enough for a good part of the load to land in it.
const LOAD_DELAY: Duration = Duration::from_secs(1);
const CLIENTS: usize = 32;

#[tokio::test]
async fn sigterm_under_refresh_load_answers_what_was_sent_in_time_and_loses_no_rotation() {
    let storage = TestStorage::create(tier()).await;
    let settings = [
        ("PORTCULLIS_SHUTDOWN_DELAY", "1s"),
        ("PORTCULLIS_SHUTDOWN_TIMEOUT", "20s"),
        // A rotation committed but never answered then shows below as reuse, not as a replay
        // the grace window would forgive.
        ("PORTCULLIS_REUSE_GRACE", "0s"),
    ];
    let mut gateway = Replica::start(&storage, &settings).await;
    let cookies = join_all((0..CLIENTS).map(|_| logged_in_cookie(&gateway))).await;
    let (progress, mut refreshed) = mpsc::unbounded_channel();
    let workers: Vec<_> = cookies
        .into_iter()
        .map(|cookie| {
            tokio::spawn(refresh_until_refused(
                gateway.addr(),
                cookie,
                progress.clone(),
            ))
        })
        .collect();
    drop(progress);
    for _ in 0..CLIENTS * 3 {
        refreshed.recv().await.expect("refreshes are flowing");
    }

    let signalled = Instant::now();
    gateway.terminate();
    // The gateway got the signal after it was sent, so it listens at least until the delay
    // has passed since; the probe narrows down when it stopped.
    let probe = tokio::spawn(last_accepted_attempt(
        gateway.addr(),
        signalled + LOAD_DELAY,
    ));
    let status = gateway.exited(EXIT_WITHIN).await;
    let took = signalled.elapsed();
    assert!(status.success(), "exit status {status}");
    assert!(
        took < Duration::from_secs(10),
        "exited {took:?} after the signal: connections were left open for the shutdown timeout"
    );
    let clients: Vec<Client> = join_all(workers)
        .await
        .into_iter()
        .map(|worker| worker.expect("client task"))
        .collect();

    let listening_until = probe.await.expect("probe");
    let mut served_after_the_signal = 0;
    for attempt in clients.iter().flat_map(|client| &client.attempts) {
        if let Some(status) = attempt.answer {
            assert_eq!(status, 200, "every answer is a rotation");
        }
        let Some(written_at) = attempt.written_at else {
            continue;
        };
        if written_at < listening_until {
            assert_eq!(
                attempt.answer,
                Some(200),
                "a refresh sent {:?} after the signal, before the listener closed, got no \
                 complete answer",
                written_at.saturating_duration_since(signalled)
            );
            if written_at > signalled {
                served_after_the_signal += 1;
            }
        }
    }
    assert!(
        served_after_the_signal > 0,
        "refreshes sent during the delay were served"
    );

    // Every rotation a client was answered 200 for is committed: on a new gateway over the
    // same storage, the last cookie it was given rotates, and the one before it is spent.
    gateway.restart().await;
    for client in &clients {
        let mut browser = gateway.browser();
        browser.cookie = client.acknowledged.last().cloned();
        let reply = browser.refresh().await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "the last cookie answered with 200 still works: {reply:?}"
        );
        if let [.., earlier, _] = client.acknowledged.as_slice() {
            browser.cookie = Some(earlier.clone());
            let reply = browser.refresh().await;
            assert_eq!(reply.error(), "refresh_token_reused", "{reply:?}");
        }
    }
}

/// One refresh as its client saw it.
struct Attempt {
    /// When its bytes had all been handed to the kernel; `None` if they never were.
    written_at: Option<Instant>,
    /// Its status, if a complete response came back.
    answer: Option<u16>,
}

struct Client {
    /// Every refresh cookie the client was given, in order: at login, then with each 200.
    acknowledged: Vec<String>,
    attempts: Vec<Attempt>,
}

/// Refreshes with the newest cookie, one request at a time on a kept-alive connection (a new
/// one when the server closes it), until a request fails or a connection is refused.
async fn refresh_until_refused(
    addr: SocketAddr,
    cookie: String,
    progress: mpsc::UnboundedSender<()>,
) -> Client {
    let mut client = Client {
        acknowledged: vec![cookie],
        attempts: Vec::new(),
    };
    let mut open: Option<KeptAlive> = None;
    loop {
        let connection = match open.as_mut() {
            Some(connection) => connection,
            None => match KeptAlive::connect(addr).await {
                Ok(connection) => open.insert(connection),
                Err(_) => return client,
            },
        };
        let cookie = client.acknowledged.last().expect("a cookie");
        let request = format!(
            "POST /auth/refresh HTTP/1.1\r\nHost: {addr}\r\nX-CSRF: 1\r\n\
             Cookie: {COOKIE_NAME}={cookie}\r\nContent-Length: 0\r\n\r\n"
        );
        let written_at = match connection.send(request.as_bytes()).await {
            Ok(()) => Some(Instant::now()),
            Err(_) => None,
        };
        let answer = match written_at {
            Some(_) => tokio::time::timeout(Duration::from_secs(10), connection.response())
                .await
                .ok()
                .and_then(Result::ok),
            None => None,
        };
        client.attempts.push(Attempt {
            written_at,
            answer: answer.as_ref().map(|response| response.status),
        });
        let Some(response) = answer.filter(|response| response.status == 200) else {
            return client;
        };
        client.acknowledged.push(refresh_cookie(&response));
        let _ = progress.send(());
        if response.closes_connection() {
            open = None;
        }
    }
}

fn refresh_cookie(response: &Response) -> String {
    let prefix = format!("{COOKIE_NAME}=");
    response
        .headers_named("set-cookie")
        .find_map(|value| value.strip_prefix(&prefix))
        .and_then(|value| value.split(';').next())
        .unwrap_or_else(|| panic!("no refresh cookie in {response:?}"))
        .to_owned()
}

async fn logged_in_cookie(gateway: &Replica) -> String {
    let email = gateway.new_user().await;
    let mut browser = gateway.browser();
    let reply = browser.login(&email, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    browser.cookie.expect("a refresh cookie")
}

/// Sends a login's head and half its body; returns the connection and the other half.
async fn begin_login(addr: SocketAddr, email: &str) -> (KeptAlive, String) {
    let body = serde_json::json!({ "email": email, "password": PASSWORD }).to_string();
    let head = format!(
        "POST /auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    let (first, rest) = body.split_at(body.len() / 2);
    let mut connection = KeptAlive::connect(addr).await.expect("connect");
    let begun = format!("{head}{first}");
    connection.send(begun.as_bytes()).await.expect("send");
    (connection, rest.to_owned())
}

/// A client without a connection pool: every request on a new connection, as a load
/// balancer's health check or a newly arriving client.
fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client")
}

async fn get(gateway: &Replica, path: &str) -> Reply {
    let response = fresh_client()
        .get(format!("{}{path}", gateway.base))
        .send()
        .await
        .unwrap_or_else(|error| panic!("GET {path}: {error}"));
    Reply::read(response).await
}

/// Asks `/readyz` on new connections until it answers 503; returns that answer.
async fn until_unready(gateway: &Replica) -> Reply {
    loop {
        let url = format!("{}/readyz", gateway.base);
        let response = fresh_client()
            .get(url)
            .send()
            .await
            .unwrap_or_else(|error| {
                panic!("the listener closed before /readyz ever answered 503: {error}")
            });
        let reply = Reply::read(response).await;
        if reply.status == StatusCode::SERVICE_UNAVAILABLE {
            return reply;
        }
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    }
}

/// From `from` on, connects as fast as it can until a connection is refused; returns when the
/// last accepted one was attempted (or `from`): the listener was open at least until then.
async fn last_accepted_attempt(addr: SocketAddr, from: Instant) -> Instant {
    tokio::time::sleep_until(from).await;
    let mut open_after = from;
    loop {
        let attempt = Instant::now();
        if TcpStream::connect(addr).await.is_err() {
            return open_after;
        }
        open_after = attempt;
    }
}

/// Connects until a connection is refused (the listener is closed: nothing else to await);
/// returns when it was.
async fn until_refused(addr: SocketAddr) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if TcpStream::connect(addr).await.is_err() {
            return Instant::now();
        }
        assert!(Instant::now() < deadline, "connections are still accepted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
