//! Outgoing security-event webhooks, delivered from a transactional outbox: owns the choice of
//! which events are delivered ([`Webhook`], the gateway's [`EventSink`]), the background task
//! that works the outbox (claim a due row, POST it signed with HMAC-SHA256, record the outcome,
//! retry with backoff), and [`verify_signature`] for receivers.
//!
//! The event store writes a chosen event's delivery row in the event's own transaction, so a
//! replica killed before sending loses nothing: any replica's task delivers it later. Delivery
//! is at least once: a receiver may see an event twice (a replica died between the receiver's
//! 2xx and recording it) and deduplicates on `X-Portcullis-Event-Id`.
//!
//! It must never slow or fail the request path: [`Webhook`]'s sink methods only compare a kind
//! and wake the task. The secret, the signature and the URL's path and query (often a token)
//! are never logged. What becomes of each delivery is counted
//! (`portcullis_webhook_deliveries_total`): `delivered`, `failed` (attempts exhausted);
//! `dropped` is counted by the gateway when an event and its delivery could not be stored.
//!
//! | module | what it owns |
//! | --- | --- |
//! | `settings.rs` | [`WebhookSettings`] and what `Debug` may print |
//! | `sender.rs` | one signed POST: body, headers, HTTP client |
//! | `worker.rs` | the delivery task: poll, claim, attempt, record |
//! | `signature.rs` | the signature scheme, both ends |

mod sender;
mod settings;
mod signature;
mod worker;

use portcullis_core::{EventKind, EventSink, WebhookOutbox};
use portcullis_metrics::Metrics;
use std::sync::Arc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use settings::WebhookSettings;
pub use signature::verify_signature;

/// The configured webhook: what the gateway asks which events to deliver, and what starts the
/// delivery task.
pub struct Webhook {
    settings: WebhookSettings,
    /// Woken when this replica has recorded a chosen event, so it is sent at once.
    wake: Arc<Notify>,
}

impl Webhook {
    pub fn new(settings: WebhookSettings) -> Self {
        Self {
            settings,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Starts the delivery task on `tasks` (spawned, so call it inside a runtime), working
    /// `outbox` until `stop` is cancelled and counting outcomes in `metrics`. An unusable URL
    /// is logged once and no task starts: the deliveries stay pending in the outbox for a
    /// replica (or a restart) with a usable one.
    pub fn start_delivery(
        &self,
        outbox: Arc<dyn WebhookOutbox>,
        metrics: Metrics,
        stop: CancellationToken,
        tasks: &TaskTracker,
    ) {
        let sender = match sender::Sender::new(&self.settings) {
            Ok(sender) => sender,
            Err(error) => {
                tracing::error!(error = %portcullis_core::Causes(&error), "webhook delivery disabled");
                return;
            }
        };
        let worker = worker::Worker::new(
            sender,
            outbox,
            self.settings.retry_policy(),
            self.settings.timeout,
            metrics,
        );
        tasks.spawn(worker.run(Arc::clone(&self.wake), stop));
    }
}

impl EventSink for Webhook {
    fn delivers(&self, kind: EventKind) -> bool {
        self.settings.kinds.contains(&kind)
    }

    /// Never waits: a wake-up given while the task is busy is kept for when it next looks.
    fn recorded(&self) {
        self.wake.notify_one();
    }
}
