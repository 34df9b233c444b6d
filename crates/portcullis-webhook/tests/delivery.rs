//! The security-event webhook against a real HTTP receiver on 127.0.0.1:0 and a real outbox (a
//! SQLite store in a temporary directory): what is sent, how it is signed, what is not sent,
//! retries, that recording never waits for the receiver, that a delivery left behind by a
//! stopped task is made by the next one, and that the delivery task stops when told to.

// The helpers below are test code too (clippy only exempts `#[test]` bodies): a failed
// expectation there is a failed test.
#![allow(clippy::expect_used)]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use portcullis_core::webhook_outbox::DeliveryState;
use portcullis_core::{
    ClientInfo, EventKind, EventSink, EventStore, SecurityEvent, SessionId, UserId, WebhookOutbox,
};
use portcullis_metrics::Metrics;
use portcullis_store_sqlite::SqliteStore;
use portcullis_webhook::{verify_signature, Webhook, WebhookSettings};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const SECRET: &[u8] = b"webhook-test-secret";
/// How long a test waits for a request that should come; only reached when something is broken.
const PATIENCE: Duration = Duration::from_secs(10);

/// An outbox of its own: a migrated SQLite store, removed with the directory.
struct Outbox {
    store: Arc<SqliteStore>,
    _dir: TempDir,
}

impl Outbox {
    async fn new() -> Self {
        let dir = TempDir::new().expect("temporary directory");
        let store = SqliteStore::open(&dir.path().join("outbox.db"))
            .await
            .expect("open");
        store.migrate().await.expect("migrate");
        Self {
            store: Arc::new(store),
            _dir: dir,
        }
    }

    fn shared(&self) -> Arc<dyn WebhookOutbox> {
        Arc::clone(&self.store) as Arc<dyn WebhookOutbox>
    }
}

/// A webhook and its delivery task over one outbox, as the gateway and the server use them.
struct Running {
    webhook: Webhook,
    outbox: Outbox,
    metrics: Metrics,
    stop: CancellationToken,
    tasks: TaskTracker,
}

impl Running {
    async fn start(settings: WebhookSettings) -> Self {
        Self::start_on(settings, Outbox::new().await)
    }

    fn start_on(settings: WebhookSettings, outbox: Outbox) -> Self {
        let (metrics, stop, tasks) = (Metrics::new(), CancellationToken::new(), TaskTracker::new());
        let webhook = Webhook::new(settings);
        webhook.start_delivery(outbox.shared(), metrics.clone(), stop.clone(), &tasks);
        Self {
            webhook,
            outbox,
            metrics,
            stop,
            tasks,
        }
    }

    /// What the gateway does with an event: store it (with its delivery when the webhook
    /// delivers its kind) and wake the delivery task. Returns the stored id.
    async fn record(&self, event: &SecurityEvent) -> i64 {
        let deliver = self.webhook.delivers(event.kind);
        let id = self
            .outbox
            .store
            .record_event(event, deliver)
            .await
            .expect("stored");
        if deliver {
            self.webhook.recorded();
        }
        id
    }

    /// Stops the delivery task and waits for it; returns the outbox for another one.
    async fn stop(self) -> Outbox {
        self.stop.cancel();
        self.tasks.close();
        tokio::time::timeout(Duration::from_secs(2), self.tasks.wait())
            .await
            .expect("the delivery task stopped");
        self.outbox
    }
}

/// Waits until `metrics` has counted `expected` events as `outcome`.
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

    fn event_id(&self) -> i64 {
        self.header("x-portcullis-event-id")
            .parse()
            .expect("an integer event id")
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
    let running = Running::start(receiver.settings(&[EventKind::RefreshTokenReused])).await;
    let sent = event(EventKind::RefreshTokenReused);

    let id = running.record(&sent).await;
    let got = receiver.next().await;

    assert_eq!(got.header("content-type"), "application/json");
    assert_eq!(got.header("x-portcullis-event"), "refresh_token_reused");
    assert_eq!(got.event_id(), id, "the stored event's id");
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
    assert_eq!(
        body["event_id"], id,
        "the signed body carries the event id too"
    );
    assert_eq!(body["kind"], "refresh_token_reused");
    let at = OffsetDateTime::parse(body["at"].as_str().expect("text"), &Rfc3339).expect("RFC 3339");
    // SQLite keeps milliseconds.
    assert!((at - sent.at).abs() < time::Duration::milliseconds(1));
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
    let running = Running::start(receiver.settings(&[EventKind::UserLocked])).await;

    assert!(!running.webhook.delivers(EventKind::LoginSucceeded));
    running.record(&event(EventKind::LoginSucceeded)).await;
    running.record(&event(EventKind::UserLocked)).await;

    // Deliveries go out in the order they were recorded, so had the first been sent it would
    // come first.
    assert_eq!(receiver.next().await.json()["kind"], "user_locked");
    assert!(receiver.requests.try_recv().is_err());
}

#[tokio::test]
async fn a_receiver_that_fails_twice_gets_the_event_on_the_third_attempt() {
    let failure = Reply::Status(StatusCode::INTERNAL_SERVER_ERROR);
    let mut receiver = Receiver::start(&[failure, failure]).await;
    let running = Running::start(receiver.settings(&[EventKind::Logout])).await;

    running.record(&event(EventKind::Logout)).await;
    let attempts = [
        receiver.next().await,
        receiver.next().await,
        receiver.next().await,
    ];
    running.record(&event(EventKind::Logout)).await;
    let following = receiver.next().await;

    let first = attempts[0].delivery();
    for attempt in &attempts {
        assert_eq!(attempt.delivery(), first, "retries keep the delivery id");
        assert_eq!(attempt.event_id(), attempts[0].event_id());
        assert_eq!(attempt.body, attempts[0].body);
        assert!(attempt.is_signed_with(SECRET));
    }
    // The third attempt succeeded: the next request is the next event, not a fourth attempt.
    assert_ne!(following.delivery(), first);
    counted(&running.metrics, "delivered", 2).await;
    assert!(running
        .outbox
        .store
        .undelivered(10)
        .await
        .expect("listed")
        .is_empty());
}

#[tokio::test]
async fn delivery_gives_up_after_max_attempts_and_moves_on_counting_each_outcome() {
    let failure = Reply::Status(StatusCode::SERVICE_UNAVAILABLE);
    let mut receiver = Receiver::start(&[failure, failure, failure]).await;
    let mut settings = receiver.settings(&[EventKind::Logout]);
    settings.max_attempts = 2;
    let running = Running::start(settings).await;

    let given_up = running.record(&event(EventKind::Logout)).await;
    let seen: Vec<String> = [receiver.next().await, receiver.next().await]
        .iter()
        .map(Received::delivery)
        .collect();
    counted(&running.metrics, "failed", 1).await;
    running.record(&event(EventKind::Logout)).await;
    let then: Vec<String> = [receiver.next().await, receiver.next().await]
        .iter()
        .map(Received::delivery)
        .collect();

    assert_eq!(seen[0], seen[1]);
    assert_ne!(
        seen[1], then[0],
        "the first event was given up after two attempts"
    );
    assert_eq!(then[0], then[1]);
    counted(&running.metrics, "failed", 1).await;
    counted(&running.metrics, "delivered", 1).await;
    counted(&running.metrics, "dropped", 0).await;
    let kept = running.outbox.store.undelivered(10).await.expect("listed");
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0].event_id, given_up);
    assert_eq!(kept[0].state, DeliveryState::Failed);
    assert_eq!(kept[0].attempts, 2);
    assert_eq!(
        kept[0].last_error.as_deref(),
        Some("receiver answered 503 Service Unavailable")
    );
}

#[tokio::test]
async fn recording_returns_at_once_while_the_receiver_hangs() {
    let mut receiver = Receiver::start(&[Reply::Hang]).await;
    let mut settings = receiver.settings(&[EventKind::LoginFailed]);
    settings.timeout = Duration::from_secs(60);
    let running = Running::start(settings).await;
    running.record(&event(EventKind::LoginFailed)).await;
    // The delivery task is now stuck inside a request that will not be answered.
    receiver.next().await;

    let started = Instant::now();
    for _ in 0..20 {
        running.record(&event(EventKind::LoginFailed)).await;
    }
    for _ in 0..3000 {
        running.webhook.recorded();
    }
    let took = started.elapsed();

    assert!(took < Duration::from_secs(5), "recording waited: {took:?}");
    assert!(receiver.requests.try_recv().is_err());
    let waiting = running.outbox.store.undelivered(100).await.expect("listed");
    assert_eq!(
        waiting.len(),
        21,
        "nothing is dropped: every event waits its turn"
    );
}

#[tokio::test]
async fn a_delivery_left_behind_by_a_stopped_task_is_made_by_the_next_one() {
    let mut receiver = Receiver::start(&[Reply::Status(StatusCode::SERVICE_UNAVAILABLE)]).await;
    let mut settings = receiver.settings(&[EventKind::RefreshTokenReused]);
    // The retry is due long after this task has gone.
    settings.initial_backoff = Duration::from_millis(500);
    let running = Running::start(settings.clone()).await;
    let id = running.record(&event(EventKind::RefreshTokenReused)).await;
    let refused = receiver.next().await;
    // Stopped once the failed attempt is recorded (and the row no longer leased).
    let deadline = Instant::now() + PATIENCE;
    while running.outbox.store.undelivered(1).await.expect("listed")[0]
        .last_error
        .is_none()
    {
        assert!(
            Instant::now() < deadline,
            "the failed attempt was never recorded"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let outbox = running.stop().await;
    assert!(
        receiver.requests.try_recv().is_err(),
        "nothing more was sent"
    );

    let next = Running::start_on(settings, outbox);
    let delivered = receiver.next().await;

    assert_eq!(delivered.event_id(), id);
    assert_eq!(delivered.delivery(), refused.delivery());
    assert!(delivered.is_signed_with(SECRET));
    counted(&next.metrics, "delivered", 1).await;
}

#[tokio::test]
async fn a_row_held_by_a_task_stopped_mid_attempt_is_taken_over_when_its_lease_lapses() {
    let mut receiver = Receiver::start(&[Reply::Hang]).await;
    let mut settings = receiver.settings(&[EventKind::UserLocked]);
    // The lease is this plus five seconds.
    settings.timeout = Duration::from_secs(1);
    let running = Running::start(settings.clone()).await;
    let id = running.record(&event(EventKind::UserLocked)).await;
    let abandoned = receiver.next().await;
    let outbox = running.stop().await;
    let held = outbox.store.undelivered(1).await.expect("listed");
    assert!(held[0].locked_until.is_some(), "{held:?}");

    let started = Instant::now();
    let next = Running::start_on(settings, outbox);
    let delivered = receiver.next().await;

    assert_eq!(delivered.event_id(), id);
    assert_eq!(delivered.delivery(), abandoned.delivery());
    assert!(
        started.elapsed() > Duration::from_secs(3),
        "taken over only once the lease lapsed, after {:?}",
        started.elapsed()
    );
    counted(&next.metrics, "delivered", 1).await;
}

#[tokio::test]
async fn a_tampered_body_or_wrong_secret_fails_verification() {
    let mut receiver = Receiver::start(&[]).await;
    let running = Running::start(receiver.settings(&[EventKind::RolesChanged])).await;
    running.record(&event(EventKind::RolesChanged)).await;
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
    let running = Running::start(settings).await;
    running.record(&event(EventKind::Logout)).await;
    receiver.next().await;

    // Fails the test unless the task ends within two seconds.
    running.stop().await;
}
