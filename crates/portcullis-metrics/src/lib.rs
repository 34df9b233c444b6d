//! The Prometheus metrics of one Portcullis application: [`Metrics`] owns the registry and
//! every metric family, and encodes them for a scrape.
//!
//! There is no process-global recorder on purpose: the binary creates one `Metrics` and hands
//! it to whatever counts (the service layer, the HTTP layer, the webhook), so several gateways
//! in one process (as in the test suite) never mix their counts. This crate decides names,
//! labels and buckets and nothing else; what an outcome *is* stays with the code deciding it.
//! Label values come from closed enums ([`VerifyOutcome`], ...) or from callers that promise a
//! bounded set (route templates, never raw paths).

mod key_age;
mod outcomes;

pub use outcomes::{LoginOutcome, RefreshOutcome, RevocationKind, VerifyOutcome, WebhookOutcome};

use key_age::SigningKeyAge;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The content type of [`Metrics::encode_prometheus`]'s output.
pub const PROMETHEUS_CONTENT_TYPE: &str =
    prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
/// The content type of [`Metrics::encode_openmetrics`]'s output.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Buckets of the latency histograms, in seconds: a cached verify takes well under a
/// millisecond, a login with argon2 tens of milliseconds, a slow upstream seconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

/// Every metric of one application, and the registry that exposes them. Cloning is cheap and
/// every clone counts into the same families.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    http_requests: Family<RequestLabels, Counter>,
    http_duration: Family<RouteLabel, Histogram>,
    verify: Family<OutcomeLabel, Counter>,
    refresh: Family<OutcomeLabel, Counter>,
    login: Family<OutcomeLabel, Counter>,
    revocations: Family<KindLabel, Counter>,
    cache_trusted: Gauge,
    memory_synced: Gauge,
    stream_resyncs: Counter,
    unconfirmed: Counter,
    password_wait: Histogram,
    signing_key: SigningKeyAge,
    webhook: Family<OutcomeLabel, Counter>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every family registered. Outcome counters start with each of
    /// their label values at zero, so a rate over them exists before the first event.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let http_requests = Family::<RequestLabels, Counter>::default();
        // prometheus-client adds `_total` to a counter's name itself.
        registry.register(
            "portcullis_http_requests",
            "HTTP requests answered, by route template, method and status",
            http_requests.clone(),
        );
        let http_duration = Family::<RouteLabel, Histogram>::new_with_constructor(
            (|| Histogram::new(LATENCY_BUCKETS)) as fn() -> Histogram,
        );
        registry.register(
            "portcullis_http_request_duration_seconds",
            "Time until the response headers were ready, by route template",
            http_duration.clone(),
        );
        let verify = outcome_counter(
            &mut registry,
            "portcullis_verify",
            "Access-token checks, by outcome",
            VerifyOutcome::ALL.iter().map(|o| o.as_str()),
        );
        let refresh = outcome_counter(
            &mut registry,
            "portcullis_refresh",
            "Refresh-token presentations, by outcome",
            RefreshOutcome::ALL.iter().map(|o| o.as_str()),
        );
        let login = outcome_counter(
            &mut registry,
            "portcullis_login",
            "Login attempts, by outcome",
            LoginOutcome::ALL.iter().map(|o| o.as_str()),
        );
        let revocations = Family::<KindLabel, Counter>::default();
        for kind in RevocationKind::ALL {
            let _ = revocations.get_or_create(&KindLabel {
                kind: kind.as_str(),
            });
        }
        registry.register(
            "portcullis_revocations",
            "Deliberate revocations by an admin or a user, by what they covered",
            revocations.clone(),
        );
        let cache_trusted = Gauge::default();
        registry.register(
            "portcullis_revocation_cache_trusted",
            "1 while revocation checks are answered from the revocation cache, 0 while they go \
             to the durable store (cache unreachable, not filled, or missing a change)",
            cache_trusted.clone(),
        );
        let memory_synced = Gauge::default();
        registry.register(
            "portcullis_revocation_memory_synced",
            "Production tier: 1 while this replica answers revocation checks from its own memory, \
             kept exact by the revocation stream; 0 while it is resynchronising and asks the \
             cache instead (always 0 on the embedded tier, whose cache is in memory)",
            memory_synced.clone(),
        );
        let stream_resyncs = Counter::default();
        registry.register(
            "portcullis_revocation_stream_resyncs",
            "Times this replica stopped trusting its memory (stream connection lost or silent, \
             an announcement missed, the cache's data lost) and resynchronised",
            stream_resyncs.clone(),
        );
        let unconfirmed = Counter::default();
        registry.register(
            "portcullis_revocation_unconfirmed",
            "Revocations this replica announced that not every listening replica acknowledged \
             in time",
            unconfirmed.clone(),
        );
        let password_wait = Histogram::new(LATENCY_BUCKETS);
        registry.register(
            "portcullis_password_hash_wait_seconds",
            "Time a password hash or check waited for a free hashing slot",
            password_wait.clone(),
        );
        let signing_key = SigningKeyAge::default();
        registry.register_collector(Box::new(signing_key.clone()));
        let webhook = outcome_counter(
            &mut registry,
            "portcullis_webhook_deliveries",
            "Security events handed to the webhook, by what became of them",
            WebhookOutcome::ALL.iter().map(|o| o.as_str()),
        );
        Self {
            registry: Arc::new(registry),
            http_requests,
            http_duration,
            verify,
            refresh,
            login,
            revocations,
            cache_trusted,
            memory_synced,
            stream_resyncs,
            unconfirmed,
            password_wait,
            signing_key,
            webhook,
        }
    }

    /// The Prometheus text format (0.0.4), what `promtool check metrics` reads.
    pub fn encode_prometheus(&self) -> Result<String, fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }

    /// The OpenMetrics text format, for scrapers that ask for it.
    pub fn encode_openmetrics(&self) -> Result<String, fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }

    /// One answered HTTP request. `route` must come from a bounded set (a route template or a
    /// fixed name); the method is folded to `OTHER` unless it is a standard one.
    pub fn http_request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        self.http_requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                method: standard_method(method),
                status,
            })
            .inc();
        self.http_duration
            .get_or_create(&RouteLabel {
                route: route.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    pub fn verify(&self, outcome: VerifyOutcome) {
        count(&self.verify, outcome.as_str());
    }

    pub fn refresh(&self, outcome: RefreshOutcome) {
        count(&self.refresh, outcome.as_str());
    }

    pub fn login(&self, outcome: LoginOutcome) {
        count(&self.login, outcome.as_str());
    }

    pub fn revocation(&self, kind: RevocationKind) {
        self.revocations
            .get_or_create(&KindLabel {
                kind: kind.as_str(),
            })
            .inc();
    }

    /// Whether revocation checks are currently answered from the cache.
    pub fn revocation_cache_trusted(&self, trusted: bool) {
        self.cache_trusted.set(i64::from(trusted));
    }

    /// Whether revocation checks are currently answered from this replica's memory.
    pub fn revocation_memory_synced(&self, synced: bool) {
        self.memory_synced.set(i64::from(synced));
    }

    /// This replica stopped trusting its memory and resynchronises.
    pub fn revocation_stream_resync(&self) {
        self.stream_resyncs.inc();
    }

    /// An announced revocation was not acknowledged by every listener in time.
    pub fn revocation_unconfirmed(&self) {
        self.unconfirmed.inc();
    }

    pub fn password_hash_wait(&self, waited: Duration) {
        self.password_wait.observe(waited.as_secs_f64());
    }

    /// The signing key now in use; its age is reported from `created_at_unix` at each scrape.
    pub fn signing_key_in_use(&self, kid: &str, created_at_unix: i64) {
        self.signing_key.set(kid, created_at_unix);
    }

    /// `events` security events met `outcome` at the webhook.
    pub fn webhook_deliveries(&self, outcome: WebhookOutcome, events: u64) {
        self.webhook
            .get_or_create(&OutcomeLabel {
                outcome: outcome.as_str(),
            })
            .inc_by(events);
    }
}

/// Registers a counter family labelled `outcome` with every value present at zero.
fn outcome_counter<'a>(
    registry: &mut Registry,
    name: &str,
    help: &str,
    outcomes: impl Iterator<Item = &'static str> + 'a,
) -> Family<OutcomeLabel, Counter> {
    let family = Family::<OutcomeLabel, Counter>::default();
    for outcome in outcomes {
        let _ = family.get_or_create(&OutcomeLabel { outcome });
    }
    registry.register(name, help, family.clone());
    family
}

fn count(family: &Family<OutcomeLabel, Counter>, outcome: &'static str) {
    family.get_or_create(&OutcomeLabel { outcome }).inc();
}

/// A client picks the method: anything but the standard ones shares one label value, so a
/// client cannot mint series.
fn standard_method(method: &str) -> &'static str {
    const STANDARD: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
    ];
    STANDARD
        .into_iter()
        .find(|standard| *standard == method)
        .unwrap_or("OTHER")
}

#[cfg(test)]
mod tests;
