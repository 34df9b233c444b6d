//! Chosen security events leave the gateway as signed webhook deliveries, from an outbox that
//! survives the replica: a reuse alert recorded while the receiver is down is delivered by the
//! next replica on the same database, even after the first was killed with SIGKILL.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use portcullis_core::EventKind;
use portcullis_tests::replica::{admin_json, Replica};
use portcullis_tests::tier::{tier, TestStorage, Tier};
use portcullis_tests::{TestApp, PASSWORD};
use portcullis_webhook::verify_signature;
use reqwest::StatusCode;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const SECRET: &str = "webhook secret for the tests";
/// Long enough for a replica to start, a retry to come due, and a dead replica's lease (the
/// attempt timeout, 5 s, plus 5 s) to lapse.
const PATIENCE: Duration = Duration::from_secs(30);

/// One delivery the receiver accepted.
struct Delivery {
    headers: HeaderMap,
    body: Bytes,
}

impl Delivery {
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    fn event_id(&self) -> i64 {
        self.header("x-portcullis-event-id")
            .parse()
            .unwrap_or_else(|_| panic!("no event id in {:?}", self.headers))
    }

    fn is_signed_with(&self, secret: &[u8]) -> bool {
        verify_signature(
            secret,
            &self.header("x-portcullis-timestamp"),
            &self.body,
            &self.header("x-portcullis-signature"),
        )
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("json body")
    }
}

#[derive(Clone)]
struct ReceiverState {
    up: Arc<AtomicBool>,
    refused: mpsc::UnboundedSender<()>,
    accepted: mpsc::UnboundedSender<Delivery>,
}

/// A receiver on a free loopback port: while down it answers every delivery 503 (and tells the
/// test); while up it accepts and hands each delivery to the test.
struct Receiver {
    url: String,
    up: Arc<AtomicBool>,
    refused: mpsc::UnboundedReceiver<()>,
    accepted: mpsc::UnboundedReceiver<Delivery>,
}

impl Receiver {
    async fn start(up: bool) -> Self {
        let (refused_tx, refused) = mpsc::unbounded_channel();
        let (accepted_tx, accepted) = mpsc::unbounded_channel();
        let state = ReceiverState {
            up: Arc::new(AtomicBool::new(up)),
            refused: refused_tx,
            accepted: accepted_tx,
        };
        let up = Arc::clone(&state.up);
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url,
            up,
            refused,
            accepted,
        }
    }

    fn come_up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }

    async fn next_refused(&mut self) {
        tokio::time::timeout(PATIENCE, self.refused.recv())
            .await
            .expect("a delivery attempt in time")
            .expect("receiver open");
    }

    async fn next(&mut self) -> Delivery {
        tokio::time::timeout(PATIENCE, self.accepted.recv())
            .await
            .expect("a delivery in time")
            .expect("receiver open")
    }

    /// Deliveries accepted from now until none has come for `quiet`.
    async fn until_quiet(&mut self, quiet: Duration) -> Vec<Delivery> {
        let mut got = Vec::new();
        while let Ok(Some(delivery)) = tokio::time::timeout(quiet, self.accepted.recv()).await {
            got.push(delivery);
        }
        got
    }

    /// The webhook settings of a replica delivering `kinds` here.
    fn settings<'a>(&'a self, kinds: &'a str) -> [(&'a str, &'a str); 3] {
        [
            ("PORTCULLIS_WEBHOOK_URL", &self.url),
            ("PORTCULLIS_WEBHOOK_SECRET", SECRET),
            ("PORTCULLIS_WEBHOOK_KINDS", kinds),
        ]
    }
}

async fn receive(
    State(state): State<ReceiverState>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    if !state.up.load(Ordering::SeqCst) {
        let _ = state.refused.send(());
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let _ = state.accepted.send(Delivery { headers, body });
    StatusCode::NO_CONTENT
}

#[tokio::test]
async fn a_revoked_user_is_announced_to_the_webhook_with_a_valid_signature() {
    let mut receiver = Receiver::start(true).await;
    let url = receiver.url.clone();
    let app = TestApp::spawn_with(|config| {
        config.webhook_url = Some(url);
        config.webhook_secret = Some(SECRET.into());
        config.webhook_kinds = vec!["user_revoked".into()];
    })
    .await;
    let (_, email, _) = app.logged_in().await; // login_succeeded: not a chosen kind
    let user = app.gateway.find_user(&email).await.expect("user");
    app.gateway
        .revoke_user(user.id, "ops-oncall")
        .await
        .expect("revoke");
    let delivery = receiver.next().await;
    assert_eq!(
        delivery.header("x-portcullis-event"),
        "user_revoked",
        "the first delivery is the chosen kind only"
    );
    assert!(delivery.is_signed_with(SECRET.as_bytes()));
    assert!(!delivery.is_signed_with(b"another secret"));
    let event = delivery.json();
    assert_eq!(event["kind"], "user_revoked");
    assert_eq!(event["user_id"], user.id.to_string());
    assert_eq!(event["actor"], "ops-oncall");
    let query = portcullis_core::admin::EventQuery {
        kind: Some(EventKind::UserRevoked),
        limit: 10,
        ..Default::default()
    };
    let stored = app.gateway.events(&query).await.expect("events");
    assert_eq!(stored.len(), 1);
    assert_eq!(delivery.event_id(), stored[0].id);
    assert_eq!(event["event_id"], stored[0].id);
}

/// Logs in, rotates, then presents the rotated-away cookie (the grace window is 0 s): reuse.
async fn detect_reuse(replica: &Replica) {
    let email = replica.new_user().await;
    let mut browser = replica.browser();
    assert_eq!(browser.login(&email, PASSWORD).await.status, StatusCode::OK);
    let stolen = browser.clone();
    assert_eq!(browser.refresh().await.status, StatusCode::OK);
    let replay = stolen
        .post_cookie_once("/auth/refresh", &[("x-csrf", "1")], None)
        .await;
    assert_eq!(replay.error(), "refresh_token_reused", "{replay:?}");
}

/// `portcullis admin webhooks --json`, as a list.
fn undelivered(storage: &TestStorage) -> Vec<serde_json::Value> {
    match admin_json(storage, &["webhooks"]) {
        serde_json::Value::Array(rows) => rows,
        other => panic!("not a list: {other}"),
    }
}

#[tokio::test]
async fn a_reuse_alert_pending_when_its_replica_is_killed_is_delivered_by_the_next_one() {
    let storage = TestStorage::create(tier()).await;
    let mut receiver = Receiver::start(false).await;
    let mut settings = receiver.settings("refresh_token_reused").to_vec();
    settings.push(("PORTCULLIS_REUSE_GRACE", "0s"));
    let mut replica = Replica::start(&storage, &settings).await;

    detect_reuse(&replica).await;
    // The replica tried, the receiver was down, and the failed attempt is on record.
    receiver.next_refused().await;
    let deadline = Instant::now() + PATIENCE;
    let pending = loop {
        let rows = undelivered(&storage);
        if rows.first().is_some_and(|row| !row["last_error"].is_null()) {
            break rows;
        }
        assert!(
            Instant::now() < deadline,
            "no failed attempt recorded: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    replica.kill_hard();

    assert_eq!(pending.len(), 1, "{pending:?}");
    let row = &pending[0];
    assert_eq!(row["kind"], "refresh_token_reused");
    assert_eq!(row["state"], "pending");
    assert!(row["attempts"].as_u64() >= Some(1), "{row}");
    assert!(!row["next_attempt_at"].is_null(), "{row}");
    assert!(
        row["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("503")),
        "{row}"
    );
    let events = admin_json(&storage, &["events", "--kind", "refresh_token_reused"]);
    let stored_id = events[0]["id"].as_i64().expect("the stored event's id");
    assert_eq!(row["event_id"], stored_id);

    receiver.come_up();
    replica.restart().await;
    let delivery = receiver.next().await;

    assert!(delivery.is_signed_with(SECRET.as_bytes()));
    assert_eq!(delivery.event_id(), stored_id);
    assert_eq!(
        delivery.header("x-portcullis-event"),
        "refresh_token_reused"
    );
    let body = delivery.json();
    assert_eq!(body["kind"], "refresh_token_reused");
    assert_eq!(body["event_id"], stored_id);
    assert!(
        receiver
            .until_quiet(Duration::from_secs(1))
            .await
            .is_empty(),
        "exactly that event, once"
    );
    assert!(undelivered(&storage).is_empty(), "marked delivered");
}

#[tokio::test]
async fn two_replicas_on_one_database_deliver_each_event_once() {
    if tier() != Tier::Production {
        return; // replicas share a database on the production tier
    }
    let storage = TestStorage::create(tier()).await;
    let mut receiver = Receiver::start(true).await;
    let settings = receiver.settings("login_succeeded");
    let replicas = [
        Replica::start(&storage, &settings).await,
        Replica::start(&storage, &settings).await,
    ];
    let email = replicas[0].new_user().await;

    const LOGINS: usize = 8;
    for i in 0..LOGINS {
        let mut browser = replicas[i % 2].browser();
        assert_eq!(browser.login(&email, PASSWORD).await.status, StatusCode::OK);
    }

    let mut seen: HashMap<i64, usize> = HashMap::new();
    let deadline = Instant::now() + PATIENCE;
    while seen.len() < LOGINS {
        assert!(Instant::now() < deadline, "delivered so far: {seen:?}");
        let delivery = receiver.next().await;
        assert!(delivery.is_signed_with(SECRET.as_bytes()));
        *seen.entry(delivery.event_id()).or_default() += 1;
    }
    for late in receiver.until_quiet(Duration::from_secs(2)).await {
        *seen.entry(late.event_id()).or_default() += 1;
    }
    assert_eq!(seen.len(), LOGINS, "{seen:?}");
    assert!(seen.values().all(|&n| n == 1), "delivered twice: {seen:?}");
}

#[tokio::test]
async fn admin_webhooks_lists_a_delivery_whose_attempts_ran_out_as_failed() {
    let receiver = Receiver::start(false).await;
    let url = receiver.url.clone();
    let app = TestApp::spawn_with(|config| {
        config.webhook_url = Some(url);
        config.webhook_secret = Some(SECRET.into());
        config.webhook_kinds = vec!["user_locked".into()];
    })
    .await;
    let storage = app.storage();
    let (_, email, _) = app.logged_in().await;
    let user = app.gateway.find_user(&email).await.expect("user");
    app.gateway.lock_user(user.id, "ops").await.expect("lock");

    // Six attempts, 200 ms apart and doubling: given up after about six seconds.
    let deadline = Instant::now() + PATIENCE;
    let failed = loop {
        let rows = undelivered(&storage);
        if rows.first().is_some_and(|row| row["state"] == "failed") {
            break rows;
        }
        assert!(Instant::now() < deadline, "never failed: {rows:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };

    assert_eq!(failed.len(), 1, "{failed:?}");
    let row = &failed[0];
    assert_eq!(row["kind"], "user_locked");
    assert_eq!(row["attempts"], 6);
    assert!(row["next_attempt_at"].is_null(), "never retried: {row}");
    assert_eq!(
        row["last_error"],
        "receiver answered 503 Service Unavailable"
    );
    let scraped = app.gateway.metrics().encode_prometheus().expect("metrics");
    assert!(
        scraped.contains("portcullis_webhook_deliveries_total{outcome=\"failed\"} 1"),
        "{scraped}"
    );
}
