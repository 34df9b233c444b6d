//! Outgoing security-event webhooks: owns the bounded delivery queue, the background task that
//! POSTs each chosen event (signed with HMAC-SHA256, retried with backoff, one at a time and in
//! order), and [`verify_signature`] for receivers. The binary starts a [`Webhook`] and hands it
//! to the gateway as its [`EventSink`]; the use cases know only that trait.
//!
//! It must never slow or fail the request path: [`Webhook`]'s `notify` only enqueues, and a
//! full queue drops the webhook copy (the event itself is already stored). The secret, the
//! signature and the URL's path and query (often a token) are never logged. The delivery task
//! ends when its stop signal is cancelled; what is still queued then is dropped (and logged).
//! What becomes of each chosen event is counted (`portcullis_webhook_deliveries_total`):
//! `delivered`, `failed` (attempts exhausted) or `dropped` (queue full, or delivery stopped).

mod signature;

use aws_lc_rs::hmac;
use portcullis_core::{EventKind, EventSink, SecurityEvent};
use portcullis_metrics::{Metrics, WebhookOutcome};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use signature::sign;
pub use signature::verify_signature;

/// How many events may wait for delivery before new ones are dropped.
const QUEUE_CAPACITY: usize = 1024;
/// The longest pause between two attempts at one delivery.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Where and what to deliver.
#[derive(Clone)]
pub struct WebhookSettings {
    /// An http(s) URL.
    pub url: String,
    /// The HMAC key; never logged.
    pub secret: Vec<u8>,
    /// Only these kinds are sent.
    pub kinds: Vec<EventKind>,
    /// Per attempt; default 5 s.
    pub timeout: Duration,
    /// Default 6.
    pub max_attempts: u32,
    /// The pause after the first failed attempt, doubling after each further one (capped at
    /// 30 s); default 200 ms. Tests set it small.
    pub initial_backoff: Duration,
}

impl WebhookSettings {
    /// Settings with the defaults: 5 s per attempt, 6 attempts, backoff from 200 ms.
    pub fn new(url: impl Into<String>, secret: impl Into<Vec<u8>>, kinds: Vec<EventKind>) -> Self {
        Self {
            url: url.into(),
            secret: secret.into(),
            kinds,
            timeout: Duration::from_secs(5),
            max_attempts: 6,
            initial_backoff: Duration::from_millis(200),
        }
    }
}

impl fmt::Debug for WebhookSettings {
    // Hand-written so neither the secret nor a token in the URL's path or query can be printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("url", &origin(&self.url))
            .field("secret", &"..")
            .field("kinds", &self.kinds)
            .field("timeout", &self.timeout)
            .field("max_attempts", &self.max_attempts)
            .field("initial_backoff", &self.initial_backoff)
            .finish()
    }
}

/// The handle used to enqueue events for the delivery task.
pub struct Webhook {
    kinds: Arc<[EventKind]>,
    /// `None` when the settings could not produce a client; the reason was logged at start.
    queue: Option<mpsc::Sender<SecurityEvent>>,
    metrics: Metrics,
}

impl Webhook {
    /// Starts the delivery task on `tasks` (spawned, so call it inside a runtime), running
    /// until `stop` is cancelled, and returns the handle used to enqueue. An unusable URL is
    /// logged once and turns delivery off. Outcomes are counted in `metrics`.
    pub fn start(
        settings: WebhookSettings,
        metrics: Metrics,
        stop: CancellationToken,
        tasks: &TaskTracker,
    ) -> Self {
        let kinds: Arc<[EventKind]> = settings.kinds.clone().into();
        match Delivery::new(settings, metrics.clone()) {
            Ok(delivery) => {
                let (queue, events) = mpsc::channel(QUEUE_CAPACITY);
                tasks.spawn(delivery.run(events, stop));
                Self {
                    kinds,
                    queue: Some(queue),
                    metrics,
                }
            }
            Err(error) => {
                tracing::error!(error = %error, "webhook disabled");
                Self {
                    kinds,
                    queue: None,
                    metrics,
                }
            }
        }
    }
}

impl EventSink for Webhook {
    /// Never blocks and never fails the caller: enqueues if the kind is chosen; if the bounded
    /// queue (1024) is full, drops the event with a warning log (the event is still in the
    /// database).
    fn notify(&self, event: &SecurityEvent) {
        if !self.kinds.contains(&event.kind) {
            return;
        }
        let Some(queue) = &self.queue else {
            self.metrics.webhook_deliveries(WebhookOutcome::Dropped, 1);
            return;
        };
        match queue.try_send(event.clone()) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.metrics.webhook_deliveries(WebhookOutcome::Dropped, 1);
                tracing::warn!(
                    kind = event.kind.as_str(),
                    "webhook queue full; event not delivered (it is still stored)"
                );
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.metrics.webhook_deliveries(WebhookOutcome::Dropped, 1);
                tracing::warn!(
                    kind = event.kind.as_str(),
                    "webhook delivery task has stopped; event not delivered (it is still stored)"
                );
            }
        }
    }
}

/// The delivery task's state.
struct Delivery {
    client: reqwest::Client,
    url: reqwest::Url,
    key: hmac::Key,
    timeout: Duration,
    max_attempts: u32,
    initial_backoff: Duration,
    metrics: Metrics,
}

impl Delivery {
    fn new(settings: WebhookSettings, metrics: Metrics) -> Result<Self, SetupError> {
        let url =
            reqwest::Url::parse(&settings.url).map_err(|error| SetupError::Url(error.into()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SetupError::Scheme);
        }
        Ok(Self {
            client: client()?,
            url,
            key: hmac::Key::new(hmac::HMAC_SHA256, &settings.secret),
            timeout: settings.timeout,
            max_attempts: settings.max_attempts.max(1),
            initial_backoff: settings.initial_backoff,
            metrics,
        })
    }

    /// Delivers events in order until the queue closes or `stop` is cancelled (a delivery in
    /// progress is abandoned then).
    async fn run(self, mut events: mpsc::Receiver<SecurityEvent>, stop: CancellationToken) {
        let delivering = async {
            while let Some(event) = events.recv().await {
                self.deliver(&event).await;
            }
        };
        tokio::select! {
            () = stop.cancelled() => {}
            () = delivering => return,
        }
        let dropped = events.len();
        self.metrics
            .webhook_deliveries(WebhookOutcome::Dropped, dropped as u64);
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "webhook delivery stopped; queued events not delivered (they are still stored)"
            );
        }
    }

    /// Tries one event until it is accepted or the attempts run out.
    async fn deliver(&self, event: &SecurityEvent) {
        let delivery = Uuid::new_v4();
        let kind = event.kind.as_str();
        let body = body(event, delivery).to_string().into_bytes();
        let mut backoff = self.initial_backoff;
        for attempt in 1..=self.max_attempts {
            let failure = match self.attempt(kind, delivery, &body).await {
                Ok(()) => {
                    self.metrics
                        .webhook_deliveries(WebhookOutcome::Delivered, 1);
                    return;
                }
                Err(failure) => failure,
            };
            if attempt == self.max_attempts {
                self.metrics.webhook_deliveries(WebhookOutcome::Failed, 1);
                tracing::error!(
                    %delivery, kind, attempts = attempt, %failure,
                    "webhook delivery failed; giving up"
                );
                return;
            }
            tracing::warn!(%delivery, kind, attempt, %failure, "webhook delivery failed; will retry");
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2).min(MAX_BACKOFF);
        }
    }

    /// One POST. Re-signed each time, so the timestamp is fresh for the receiver's replay window.
    async fn attempt(&self, kind: &str, delivery: Uuid, body: &[u8]) -> Result<(), Failure> {
        let timestamp = OffsetDateTime::now_utc().unix_timestamp().to_string();
        let signature = sign(&self.key, &timestamp, body);
        let response = self
            .client
            .post(self.url.clone())
            .timeout(self.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Portcullis-Event", kind)
            .header("X-Portcullis-Delivery", delivery.to_string())
            .header("X-Portcullis-Timestamp", &timestamp)
            .header("X-Portcullis-Signature", signature)
            .body(body.to_vec())
            .send()
            .await
            // The error's text would otherwise include the URL.
            .map_err(|error| Failure::Transport(error.without_url()))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(Failure::Status(status))
        }
    }
}

/// Why delivery could not start; it is then off, and this is logged once.
#[derive(Debug, thiserror::Error)]
enum SetupError {
    #[error("the webhook URL is not a URL")]
    Url(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the webhook URL is not http(s)")]
    Scheme,
    #[error("the webhook TLS configuration was refused")]
    Tls(#[source] rustls::Error),
    #[error("the webhook HTTP client could not be built")]
    Client(#[source] reqwest::Error),
}

/// Why one attempt failed, for the log.
enum Failure {
    Transport(reqwest::Error),
    Status(reqwest::StatusCode),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport(error) if error.is_timeout() => f.write_str("timed out"),
            Self::Transport(error) => write!(f, "{error}"),
            Self::Status(status) => write!(f, "receiver answered {status}"),
        }
    }
}

/// The HTTP client: rustls on aws-lc-rs (this crate's crypto provider, not a process-wide
/// default), the Mozilla roots built in, no redirects (a 3xx is a failed attempt, and the signed
/// body is never re-sent somewhere else).
fn client() -> Result<reqwest::Client, SetupError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(SetupError::Tls)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(SetupError::Client)
}

/// The JSON body of one delivery.
fn body(event: &SecurityEvent, delivery: Uuid) -> serde_json::Value {
    // Details are stored as JSON object text; should one ever not parse, send it as a string
    // rather than lose it.
    let details = serde_json::from_str::<serde_json::Value>(&event.details)
        .unwrap_or_else(|_| serde_json::json!({ "unparsed": event.details }));
    serde_json::json!({
        "id": delivery,
        "kind": event.kind.as_str(),
        // Only years outside 0..=9999 fail to format; no real event has one.
        "at": event.at.format(&Rfc3339).ok(),
        "user_id": event.user_id.map(|id| id.to_string()),
        "session_id": event.session_id.map(|id| id.to_string()),
        "ip": event.client.ip,
        "user_agent": event.client.user_agent,
        "actor": event.actor,
        "details": details,
    })
}

/// `scheme://host[:port]` of a URL, for `Debug`; the path and query may carry a token.
fn origin(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(url) => url.origin().ascii_serialization(),
        Err(_) => "<not a URL>".to_owned(),
    }
}

#[cfg(test)]
mod tests;
