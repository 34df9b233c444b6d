//! The security-event webhook against a real HTTP receiver on 127.0.0.1:0: what is sent, how it
//! is signed, what is not sent, retries, that `notify` never waits for the receiver, and that the
//! delivery task stops when told to.

// The helpers below are test code too (clippy only exempts `#[test]` bodies): a failed
// expectation there is a failed test.
#![allow(clippy::expect_used)]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use portcullis_core::{ClientInfo, EventKind, EventSink, SecurityEvent, SessionId, UserId};
use portcullis_metrics::Metrics;
use portcullis_webhook::{verify_signature, Webhook, WebhookSettings};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const SECRET: &[u8] = b"webhook-test-secret";
/// How long a test waits for a request that should come; only reached when something is broken.
const PATIENCE: Duration = Duration::from_secs(10);

/// A webhook whose delivery task runs until the test ends.
fn start(settings: WebhookSettings) -> Webhook {
    start_counted(settings).0
}

/// A webhook whose delivery task runs until the test ends, and the metrics it counts into.
fn start_counted(settings: WebhookSettings) -> (Webhook, Metrics) {
    let metrics = Metrics::new();
    let webhook = Webhook::start(
        settings,
        metrics.clone(),
        CancellationToken::new(),
        &TaskTracker::new(),
    );
    (webhook, metrics)
}

/// Waits until the webhook has counted `expected` events as `outcome`.
async fn counted(metrics: &Metrics, outcome: &str, expected: u64) {
    let series =
        format!("portcullis_webhook_deliveries_total{{outcome=\"{outcome}\"}} {expected}\n");
    let deadline = Instant::now() + PATIENCE;
    loop {
        let exposed = metrics.encode_prometheus().expect("metrics encode");
        if exposed.contains(&series) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never counted {series}: {exposed}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What the receiver does with one request.
#[derive(Clone, Copy)]
enum Reply {
    Status(StatusCode),
    /// Never answers.
    Hang,
}

/// One request as the receiver saw it.
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .expect("text header")
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    fn delivery(&self) -> String {
        self.header("x-portcullis-delivery").to_owned()
    }

    fn is_signed_with(&self, secret: &[u8]) -> bool {
        verify_signature(
            secret,
            self.header("x-portcullis-timestamp"),
            &self.body,
            self.header("x-portcullis-signature"),
        )
    }
}

#[derive(Clone)]
struct Script {
    /// Replies in order; once used up, every request gets 200.
    replies: Arc<Mutex<VecDeque<Reply>>>,
    seen: mpsc::UnboundedSender<Received>,
}

/// A webhook receiver that records every request and answers from a script.
struct Receiver {
    url: String,
    requests: mpsc::UnboundedReceiver<Received>,
}

impl Receiver {
    async fn start(replies: &[Reply]) -> Self {
        let (seen, requests) = mpsc::unbounded_channel();
        let script = Script {
            replies: Arc::new(Mutex::new(replies.iter().copied().collect())),
            seen,
        };
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(script);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url: format!("http://{address}/hook"),
            requests,
        }
    }

    /// The next request, waiting for it on the channel rather than sleeping.
    async fn next(&mut self) -> Received {
        tokio::time::timeout(PATIENCE, self.requests.recv())
            .await
            .expect("a webhook request in time")
            .expect("the receiver is running")
    }

    fn settings(&self, kinds: &[EventKind]) -> WebhookSettings {
        let mut settings = WebhookSettings::new(self.url.clone(), SECRET.to_vec(), kinds.to_vec());
        settings.initial_backoff = Duration::from_millis(5);
        settings
    }
}

async fn receive(State(script): State<Script>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let reply = script.replies.lock().expect("lock").pop_front();
    // A send error only means the test has finished.
    let _ = script.seen.send(Received { headers, body });
    match reply {
        Some(Reply::Status(status)) => status,
        Some(Reply::Hang) => std::future::pending().await,
        None => StatusCode::OK,
    }
}

fn event(kind: EventKind) -> SecurityEvent {
    SecurityEvent::new(kind, OffsetDateTime::now_utc())
        .user(UserId::new())
        .session(SessionId::new())
        .client(&ClientInfo {
            ip: Some("198.51.100.7".to_owned()),
            user_agent: Some("webhook-test/1".to_owned()),
        })
        .actor("ops")
        .details(r#"{"replayer_ip":"203.0.113.5"}"#.to_owned())
}

#[tokio::test]
async fn a_chosen_kind_arrives_signed_with_the_documented_headers_and_body() {
    let mut receiver = Receiver::start(&[]).await;
    let webhook = start(receiver.settings(&[EventKind::RefreshTokenReused]));
    let sent = event(EventKind::RefreshTokenReused);

    webhook.notify(&sent);
    let got = receiver.next().await;

    assert_eq!(got.header("content-type"), "application/json");
    assert_eq!(got.header("x-portcullis-event"), "refresh_token_reused");
    let timestamp: i64 = got
        .header("x-portcullis-timestamp")
        .parse()
        .expect("unix seconds");
    assert!((OffsetDateTime::now_utc().unix_timestamp() - timestamp).abs() < 60);
    let signature = got.header("x-portcullis-signature");
    assert!(signature.starts_with("sha256="), "{signature}");
    assert_eq!(signature.len(), "sha256=".len() + 64);
    assert!(signature[7..]
        .chars()
        .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()));
    assert!(got.is_signed_with(SECRET));

    let body = got.json();
    let delivery = uuid::Uuid::parse_str(&got.delivery()).expect("a uuid");
    assert_eq!(delivery.get_version_num(), 4);
    assert_eq!(body["id"], delivery.to_string());
    assert_eq!(body["kind"], "refresh_token_reused");
    let at = OffsetDateTime::parse(body["at"].as_str().expect("text"), &Rfc3339).expect("RFC 3339");
    assert_eq!(at, sent.at);
    assert_eq!(body["user_id"], sent.user_id.expect("set").to_string());
    assert_eq!(
        body["session_id"],
        sent.session_id.expect("set").to_string()
    );
    assert_eq!(body["ip"], "198.51.100.7");
    assert_eq!(body["user_agent"], "webhook-test/1");
    assert_eq!(body["actor"], "ops");
    assert_eq!(
        body["details"],
        serde_json::json!({ "replayer_ip": "203.0.113.5" })
    );
}

#[tokio::test]
async fn an_unchosen_kind_is_not_sent() {
    let mut receiver = Receiver::start(&[]).await;
    let webhook = start(receiver.settings(&[EventKind::UserLocked]));

    webhook.notify(&event(EventKind::LoginSucceeded));
    webhook.notify(&event(EventKind::UserLocked));

    // Deliveries go out one at a time in order, so had the first been sent it would come first.
    assert_eq!(receiver.next().await.json()["kind"], "user_locked");
    assert!(receiver.requests.try_recv().is_err());
}

#[tokio::test]
async fn a_receiver_that_fails_twice_gets_the_event_on_the_third_attempt() {
    let failure = Reply::Status(StatusCode::INTERNAL_SERVER_ERROR);
    let mut receiver = Receiver::start(&[failure, failure]).await;
    let webhook = start(receiver.settings(&[EventKind::Logout]));

    webhook.notify(&event(EventKind::Logout));
    let attempts = [
        receiver.next().await,
        receiver.next().await,
        receiver.next().await,
    ];
    webhook.notify(&event(EventKind::Logout));
    let following = receiver.next().await;

    let first = attempts[0].delivery();
    for attempt in &attempts {
        assert_eq!(attempt.delivery(), first, "retries keep the delivery id");
        assert_eq!(attempt.body, attempts[0].body);
        assert!(attempt.is_signed_with(SECRET));
    }
    // The third attempt succeeded: the next request is the next event, not a fourth attempt.
    assert_ne!(following.delivery(), first);
}

#[tokio::test]
async fn delivery_gives_up_after_max_attempts_and_moves_on_counting_each_outcome() {
    let failure = Reply::Status(StatusCode::SERVICE_UNAVAILABLE);
    let mut receiver = Receiver::start(&[failure, failure, failure]).await;
    let mut settings = receiver.settings(&[EventKind::Logout]);
    settings.max_attempts = 2;
    let (webhook, metrics) = start_counted(settings);

    webhook.notify(&event(EventKind::Logout));
    webhook.notify(&event(EventKind::Logout));
    let seen: Vec<String> = [
        receiver.next().await,
        receiver.next().await,
        receiver.next().await,
        receiver.next().await,
    ]
    .iter()
    .map(Received::delivery)
    .collect();

    assert_eq!(seen[0], seen[1]);
    assert_ne!(
        seen[1], seen[2],
        "the first event was given up after two attempts"
    );
    assert_eq!(seen[2], seen[3]);
    counted(&metrics, "failed", 1).await;
    counted(&metrics, "delivered", 1).await;
    counted(&metrics, "dropped", 0).await;
}

#[tokio::test]
async fn notify_returns_at_once_while_the_receiver_hangs() {
    let mut receiver = Receiver::start(&[Reply::Hang]).await;
    let mut settings = receiver.settings(&[EventKind::LoginFailed]);
    settings.timeout = Duration::from_secs(60);
    let webhook = start(settings);
    webhook.notify(&event(EventKind::LoginFailed));
    // The delivery task is now stuck inside a request that will not be answered.
    receiver.next().await;

    // Far more than the queue holds: the overflow is dropped, never waited for.
    let started = Instant::now();
    for _ in 0..3000 {
        webhook.notify(&event(EventKind::LoginFailed));
    }
    let took = started.elapsed();

    assert!(took < Duration::from_secs(2), "notify waited: {took:?}");
    assert!(receiver.requests.try_recv().is_err());
}

#[tokio::test]
async fn a_tampered_body_or_wrong_secret_fails_verification() {
    let mut receiver = Receiver::start(&[]).await;
    let webhook = start(receiver.settings(&[EventKind::RolesChanged]));
    webhook.notify(&event(EventKind::RolesChanged));
    let got = receiver.next().await;
    let timestamp = got.header("x-portcullis-timestamp");
    let signature = got.header("x-portcullis-signature");
    assert!(verify_signature(SECRET, timestamp, &got.body, signature));

    let mut tampered = got.body.to_vec();
    let last = tampered.len() - 2;
    tampered[last] ^= 0x01;
    assert!(!verify_signature(SECRET, timestamp, &tampered, signature));
    assert!(!verify_signature(
        b"wrong-secret",
        timestamp,
        &got.body,
        signature
    ));
    let replayed_later = (timestamp.parse::<i64>().expect("seconds") + 600).to_string();
    assert!(!verify_signature(
        SECRET,
        &replayed_later,
        &got.body,
        signature
    ));
}

#[tokio::test]
async fn the_delivery_task_ends_when_stopped_even_inside_a_hanging_request() {
    let mut receiver = Receiver::start(&[Reply::Hang]).await;
    let mut settings = receiver.settings(&[EventKind::Logout]);
    settings.timeout = Duration::from_secs(60);
    let (stop, tasks) = (CancellationToken::new(), TaskTracker::new());
    let webhook = Webhook::start(settings, Metrics::new(), stop.clone(), &tasks);
    webhook.notify(&event(EventKind::Logout));
    receiver.next().await;

    stop.cancel();
    tasks.close();

    tokio::time::timeout(Duration::from_secs(2), tasks.wait())
        .await
        .expect("the delivery task stopped");
}
