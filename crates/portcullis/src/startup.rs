//! Building and running the server: open storage, start the gateway, bind the listeners.
//! `Application::build` binds before returning, so a test can ask for port 0 and read the port.
//! The application owns one [`Metrics`] registry, handed to everything that counts; with
//! `metrics_listen` it is served on its own listener (`crate::metrics_listener`).
//! With `tls_cert_file` and `tls_key_file` the listener serves HTTPS: the certificate is loaded
//! first (a bad file stops the start before storage is opened) and reloaded on SIGHUP
//! (`crate::tls`).
//! How connections are served (limits, timeouts, shutdown) is `crate::server`'s business;
//! when to stop accepting is decided here: `shutdown_delay` after the stop signal, with
//! `/readyz` answering 503 meanwhile. Every background task (the embedded tier's follower,
//! cache refills, webhook delivery, retention) watches one stop signal, and is awaited, within
//! a bound, when the app stops.

use crate::config::Config;
use crate::metrics_listener;
use crate::server::{self, ServerSettings};
use crate::storage::{self, OnMissing};
use crate::tls::{self, CurrentCertificate};
use anyhow::Context;
use axum::Router;
use portcullis_core::EventSink;
use portcullis_http::{AppState, Draining};
use portcullis_metrics::Metrics;
use portcullis_service::Gateway;
use portcullis_webhook::Webhook;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long shutdown waits for the background tasks once they are told to stop.
const STOP_WITHIN: Duration = Duration::from_secs(5);

/// Resolves once a background task has ended.
type Stopped = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The background tasks of one process: the signal that stops them all, and what to await.
pub struct Background {
    stop: CancellationToken,
    running: Vec<(&'static str, Stopped)>,
}

impl Default for Background {
    fn default() -> Self {
        Self::new()
    }
}

impl Background {
    pub fn new() -> Self {
        Self {
            stop: CancellationToken::new(),
            running: Vec::new(),
        }
    }

    /// The signal every background task watches.
    pub fn token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Awaits `stopped` on shutdown; it must resolve once the task named `name` has ended.
    fn wait_for(&mut self, name: &'static str, stopped: impl Future<Output = ()> + Send + 'static) {
        self.running.push((name, Box::pin(stopped)));
    }

    fn join(&mut self, name: &'static str, task: JoinHandle<()>) {
        self.wait_for(name, async move {
            if let Err(error) = task.await {
                tracing::warn!(task = name, %error, "background task ended abnormally");
            }
        });
    }

    /// Cancels the stop signal and waits up to 5 s for every task, logging any that did not
    /// stop (the runtime drops it when the process exits).
    pub async fn stop(mut self) {
        self.stop.cancel();
        let deadline = tokio::time::Instant::now() + STOP_WITHIN;
        for (name, stopped) in std::mem::take(&mut self.running) {
            if tokio::time::timeout_at(deadline, stopped).await.is_err() {
                tracing::warn!(task = name, within = ?STOP_WITHIN, "background task did not stop");
            }
        }
    }
}

impl Drop for Background {
    /// Tasks of a process that never got to stop them (a failed start) are told to stop too.
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub struct Application {
    listener: TcpListener,
    /// Bound when `metrics_listen` is set.
    metrics_listener: Option<TcpListener>,
    router: Router,
    gateway: Arc<Gateway>,
    metrics: Metrics,
    server: ServerSettings,
    /// Set when the listener serves HTTPS.
    tls: Option<Arc<rustls::ServerConfig>>,
    draining: Draining,
    shutdown_delay: Duration,
    background: Background,
    /// Set when `webhook_url` is: its delivery task runs only while serving.
    webhook: Option<Arc<Webhook>>,
}

impl Application {
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let mut background = Background::new();
        // First: a certificate that cannot be used stops the start before storage is touched.
        let tls = serve_tls(config, &mut background)?;
        let metrics = Metrics::new();
        let webhook = webhook(config)?;
        let sink = webhook.clone().map(|webhook| webhook as Arc<dyn EventSink>);
        let gateway = Arc::new(
            start_gateway(config, &mut background, &metrics, sink, OnMissing::Create).await?,
        );
        let state = AppState::new(Arc::clone(&gateway), config.web_settings()?);
        let draining = state.draining.clone();
        let listener = server::bind(&config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let metrics_listener = match &config.metrics_listen {
            Some(address) => Some(
                server::bind(address)
                    .await
                    .with_context(|| format!("cannot serve metrics on {address}"))?,
            ),
            None => None,
        };
        Ok(Self {
            listener,
            metrics_listener,
            router: portcullis_http::router(state),
            gateway,
            metrics,
            server: config.server_settings(),
            tls,
            draining,
            shutdown_delay: config.shutdown_delay,
            background,
            webhook,
        })
    }

    /// `https` when the listener serves TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        match self.tls {
            Some(_) => "https",
            None => "http",
        }
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where `/metrics` is served, when `metrics_listen` is set.
    pub fn metrics_addr(&self) -> Option<std::io::Result<SocketAddr>> {
        self.metrics_listener.as_ref().map(TcpListener::local_addr)
    }

    pub fn gateway(&self) -> Arc<Gateway> {
        Arc::clone(&self.gateway)
    }

    /// Serves until `shutdown` resolves; then answers `/readyz` with 503 while still serving
    /// for `shutdown_delay`, stops accepting, lets the requests that have begun finish (up to
    /// `shutdown_timeout`), and stops the background tasks and waits for them. The retention
    /// job, the webhook delivery task and the metrics listener run alongside, only while
    /// serving (never for one-off CLI commands, whose events' deliveries wait in the outbox
    /// for a server); metrics are served until the public listener has drained.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let mut background = self.background;
        if let Some(listener) = self.metrics_listener {
            let settings = ServerSettings {
                max_connections: metrics_listener::MAX_CONNECTIONS,
                ..self.server.clone()
            };
            let served =
                metrics_listener::spawn(listener, self.metrics, settings, background.token());
            background.join("metrics listener", served);
        }
        if let Some(webhook) = &self.webhook {
            start_delivery(webhook, &self.gateway, &mut background);
        }
        let retention = self.gateway.start_retention();
        self.gateway.start_key_upkeep();
        let (draining, delay) = (self.draining, self.shutdown_delay);
        let stop_accepting = async move {
            shutdown.await;
            // Load balancers see the 503 and stop sending new traffic; whatever still comes
            // during the delay is served, so no client meets a refused connection meanwhile.
            draining.begin();
            tracing::info!(shutdown_delay = ?delay, "stopping: not ready, still accepting");
            tokio::time::sleep(delay).await;
        };
        let served = server::serve(
            self.listener,
            self.router,
            self.server,
            self.tls,
            stop_accepting,
        )
        .await;
        background.wait_for("retention job", retention.stop());
        background.stop().await;
        tracing::info!("stopped");
        served
    }
}

/// The TLS configuration of the listener when `tls_cert_file` and `tls_key_file` are set, its
/// certificate loaded now and reloaded on every SIGHUP while `background` runs.
fn serve_tls(
    config: &Config,
    background: &mut Background,
) -> anyhow::Result<Option<Arc<rustls::ServerConfig>>> {
    let Some(files) = config.tls_files()? else {
        return Ok(None);
    };
    let provider = tls::provider();
    let certificate = Arc::new(
        CurrentCertificate::load(files, Arc::clone(&provider))
            .context("cannot serve TLS (tls_cert_file, tls_key_file)")?,
    );
    let server_config =
        tls::server_config(provider, Arc::clone(&certificate)).context("cannot configure TLS")?;
    let reloading = tls::reload_on_hangup(certificate, background.token())
        .context("cannot listen for SIGHUP (certificate reload)")?;
    background.join("TLS certificate reload", reloading);
    Ok(Some(server_config))
}

/// Opens storage and starts the gateway, with the webhook as its event sink if one is
/// configured (used by CLI commands that act on users: their chosen events are stored with a
/// pending delivery, made by a running server). Background tasks join `background`, which the
/// caller stops when done; outcomes are counted in `metrics`.
pub async fn build_gateway(
    config: &Config,
    background: &mut Background,
    metrics: &Metrics,
    on_missing: OnMissing,
) -> anyhow::Result<Gateway> {
    let sink = webhook(config)?.map(|webhook| webhook as Arc<dyn EventSink>);
    start_gateway(config, background, metrics, sink, on_missing).await
}

async fn start_gateway(
    config: &Config,
    background: &mut Background,
    metrics: &Metrics,
    event_sink: Option<Arc<dyn EventSink>>,
    on_missing: OnMissing,
) -> anyhow::Result<Gateway> {
    // Storage first: a command must not generate a key for a database it then refuses.
    let backends = open_storage(config, background, on_missing).await?;
    let kek = storage::key_encryption_key(config, on_missing)?;
    let settings = config.service_settings()?;
    let gateway = Gateway::start(
        settings,
        backends,
        &kek,
        event_sink,
        metrics.clone(),
        background.token(),
    )
    .await
    .context("cannot start the gateway")?;
    background.wait_for("revocation cache refill", gateway.background_stopped());
    Ok(gateway)
}

/// The configured webhook, if any.
fn webhook(config: &Config) -> anyhow::Result<Option<Arc<Webhook>>> {
    Ok(config
        .webhook_settings()?
        .map(|settings| Arc::new(Webhook::new(settings))))
}

/// Starts the webhook's delivery task over the gateway's outbox, on the shared stop signal, to
/// be awaited on shutdown.
fn start_delivery(webhook: &Webhook, gateway: &Gateway, background: &mut Background) {
    let tasks = TaskTracker::new();
    webhook.start_delivery(
        gateway.webhook_outbox(),
        gateway.metrics().clone(),
        background.token(),
        &tasks,
    );
    background.wait_for("webhook delivery", async move {
        tasks.close();
        tasks.wait().await;
    });
}

/// Opens storage and applies migrations, nothing else (`portcullis migrate`).
/// Creates (or upgrades) the database and, on the embedded tier, the key-encryption key.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let mut background = Background::new();
    let opened = open_storage(config, &mut background, OnMissing::Create).await;
    background.stop().await;
    opened?;
    storage::key_encryption_key(config, OnMissing::Create)?;
    Ok(())
}

async fn open_storage(
    config: &Config,
    background: &mut Background,
    on_missing: OnMissing,
) -> anyhow::Result<portcullis_core::Backends> {
    let opened = storage::open(config, &background.token(), on_missing).await?;
    if let Some(follower) = opened.follower {
        background.join("SQLite follower", follower);
    }
    Ok(opened.backends)
}
