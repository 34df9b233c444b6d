//! Configuration: an optional TOML file, then `PORTCULLIS_<KEY>` environment overrides, then
//! validation into the settings each layer needs. Every key has a safe default, so no config at
//! all serves the embedded tier on 127.0.0.1:8080 with its data under `./data/`.
//!
//! This file holds the flat [`Config`] (its keys are the external contract) and its loading;
//! the keys of each layer are checked and converted in their own module. Enumerated keys are
//! typed, so a bad value is refused while reading, with the valid values in the message.

use anyhow::{bail, Context};
use figment::providers::{Env, Format, Toml};
use figment::Figment;
use portcullis_service::{RevocationFallback, Settings, SigningAlg};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub mod example;
mod front_door;
pub mod keys;
mod logging;
mod public_url;
mod redact;
mod secrets;
mod server;
mod service;
mod tls;
mod web;
mod webhook;

pub use front_door::{RouteConfig, UpstreamConfig};
pub use logging::LogFormat;
pub use redact::redacted_url;
pub use secrets::Secret;
pub use web::CookieSameSite;

/// Every configuration key. The README documents each with its default. Serialized, it is the
/// TOML of `portcullis.example.toml` (secrets come out as `[redacted]`, never as themselves).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Address serving `GET /metrics` (Prometheus), apart from `listen`; unset serves none.
    pub metrics_listen: Option<String>,
    /// PEM certificate chain (server certificate first) to serve HTTPS on `listen` with; needs
    /// `tls_key_file`. Both are read again on SIGHUP.
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of that certificate (ECDSA, Ed25519 or RSA; PKCS#8, SEC1 or PKCS#1).
    pub tls_key_file: Option<PathBuf>,
    /// Where the embedded tier keeps its database and generated key-encryption key.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` (embedded tier); unset means `<data_dir>/portcullis.db`.
    pub database_url: Option<String>,
    /// Redis URL of the production tier: `redis://host:port`, or
    /// `redis+cluster://host:port,host:port` for the seed nodes of a Redis Cluster.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key, so deployments can share one Redis; on a cluster it must
    /// contain a hash tag (`{portcullis}:`).
    pub redis_prefix: String,
    /// Deadline of a revocation lookup in Redis (on every verify); past it, the fallback applies.
    #[serde(with = "crate::duration")]
    pub redis_timeout: Duration,
    /// Deadline of a Redis write (publishing a revocation, refilling the cache).
    #[serde(with = "crate::duration")]
    pub redis_write_timeout: Duration,
    /// Deadline of every database call (pool wait, statement, whole call).
    #[serde(with = "crate::duration")]
    pub database_timeout: Duration,
    /// Postgres connections per replica.
    pub database_max_connections: u32,
    /// The URL clients reach the gateway at (`https://auth.example.com`); publishes the
    /// discovery document and is the default `issuer`.
    pub public_url: Option<String>,
    pub issuer: String,
    pub audience: String,
    #[serde(with = "crate::duration")]
    pub access_ttl: Duration,
    #[serde(with = "crate::duration")]
    pub refresh_idle_ttl: Duration,
    #[serde(with = "crate::duration")]
    pub session_max_ttl: Duration,
    #[serde(with = "crate::duration")]
    pub reuse_grace: Duration,
    #[serde(with = "crate::duration")]
    pub leeway: Duration,
    /// Origins allowed on the cookie endpoints; comma-separated in the environment.
    #[serde(deserialize_with = "list_or_csv")]
    pub allowed_origins: Vec<String>,
    /// Proxies (addresses or CIDR ranges) whose `X-Forwarded-For` gives the client address;
    /// comma-separated in the environment.
    #[serde(deserialize_with = "list_or_csv")]
    pub trusted_proxies: Vec<String>,
    /// Whether `POST /auth/register` is open.
    pub registration: bool,
    pub cookie_name: String,
    /// Name the cookie with the `__Host-` prefix: host-only, on `Path=/`.
    pub cookie_prefix_host: bool,
    /// `Strict`, `Lax` or `None`, in any case.
    pub cookie_samesite: CookieSameSite,
    /// `EdDSA` (Ed25519) or `ES256`.
    #[serde(serialize_with = "signing_alg_name")]
    pub signing_alg: SigningAlg,
    /// Base64 of 32 random bytes; required to share keys between replicas.
    pub key_encryption_key: Option<Secret>,
    /// A file holding the key-encryption key; the embedded default is `<data_dir>/kek`.
    pub key_encryption_key_file: Option<PathBuf>,
    /// Number of verified access tokens remembered (0 disables the cache).
    pub verify_cache_size: u64,
    /// `durable` or `deny`: what revocation checks do when the cache is unreachable.
    #[serde(serialize_with = "revocation_fallback_name")]
    pub revocation_fallback: RevocationFallback,
    /// How often a production replica reads the durable revocation log for revocations it was
    /// not told about.
    #[serde(with = "crate::duration")]
    pub revocation_epoch_interval: Duration,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// Where chosen security events are POSTed (signed); unset disables the webhook.
    pub webhook_url: Option<String>,
    /// The HMAC-SHA256 key signing webhook deliveries; required with `webhook_url`.
    pub webhook_secret: Option<Secret>,
    /// Event kinds delivered to the webhook; comma-separated in the environment.
    #[serde(deserialize_with = "list_or_csv")]
    pub webhook_kinds: Vec<String>,
    /// Failed logins allowed per account within `login_failure_window` (0 disables).
    pub login_max_failures_per_account: u32,
    /// Failed logins allowed per client address within `login_failure_window` (0 disables).
    pub login_max_failures_per_ip: u32,
    #[serde(with = "crate::duration")]
    pub login_failure_window: Duration,
    /// Ordered route policies of forward-auth and the built-in proxy (`[[routes]]`).
    pub routes: Vec<RouteConfig>,
    /// Applications served by the built-in proxy (`[[upstreams]]`).
    pub upstreams: Vec<UpstreamConfig>,
    /// How long an upstream may take to start answering (then 504).
    #[serde(with = "crate::duration")]
    pub upstream_timeout: Duration,
    /// How long a client may take to send a request's headers (from connecting, or from the
    /// first byte of a request on a kept-alive connection) before the connection is closed.
    #[serde(with = "crate::duration")]
    pub http_header_timeout: Duration,
    /// How long a connection with no request in flight stays open, and how long one with a
    /// request in flight may move no byte at all.
    #[serde(with = "crate::duration")]
    pub http_idle_timeout: Duration,
    /// The total deadline of a request to the gateway's own routes, and how long a proxied
    /// request body may stall (no bytes at all); past either, 408.
    #[serde(with = "crate::duration")]
    pub http_body_timeout: Duration,
    /// Open client connections at most (fewer if the file-descriptor limit is lower).
    pub max_connections: usize,
    /// How long the listener keeps accepting after a stop signal, with `/readyz` already 503,
    /// so load balancers take the instance out before connections are refused.
    #[serde(with = "crate::duration")]
    pub shutdown_delay: Duration,
    /// How long requests in flight may take to finish once the listener has closed; then their
    /// connections are closed anyway.
    #[serde(with = "crate::duration")]
    pub shutdown_timeout: Duration,
    /// Development mode: serve the demo single-page app under `/demo/`.
    pub demo: bool,
    /// How long security events are kept; `0` keeps them forever.
    #[serde(with = "crate::duration")]
    pub event_retention: Duration,
    /// How often the retention pass deletes what can no longer change a decision.
    #[serde(with = "crate::duration")]
    pub retention_interval: Duration,
    /// How old the newest signing key may grow before one replica makes the next; `0` never
    /// rotates on a schedule.
    #[serde(with = "crate::duration")]
    pub signing_key_rotation: Duration,
    /// How long a new signing key is published before it signs; at least the JWKS cache
    /// lifetime (5m).
    #[serde(with = "crate::duration")]
    pub signing_key_publish_ahead: Duration,
}

impl Default for Config {
    fn default() -> Self {
        let settings = Settings::default();
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            metrics_listen: None,
            tls_cert_file: None,
            tls_key_file: None,
            data_dir: PathBuf::from("./data"),
            database_url: None,
            redis_url: None,
            redis_prefix: "portcullis:".to_owned(),
            redis_timeout: Duration::from_millis(50),
            redis_write_timeout: Duration::from_millis(300),
            database_timeout: Duration::from_secs(2),
            database_max_connections: 10,
            public_url: None,
            issuer: public_url::DEFAULT_ISSUER.to_owned(),
            audience: settings.audience,
            access_ttl: settings.access_ttl,
            refresh_idle_ttl: settings.refresh_idle_ttl,
            session_max_ttl: settings.session_max_ttl,
            reuse_grace: settings.reuse_grace,
            leeway: settings.leeway,
            allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            webhook_url: None,
            webhook_secret: None,
            webhook_kinds: vec![
                "refresh_token_reused".to_owned(),
                "user_revoked".to_owned(),
                "user_locked".to_owned(),
            ],
            registration: settings.registration,
            cookie_name: "__Secure-portcullis-refresh".to_owned(),
            cookie_prefix_host: false,
            cookie_samesite: CookieSameSite::Strict,
            signing_alg: settings.signing_alg,
            key_encryption_key: None,
            key_encryption_key_file: None,
            verify_cache_size: settings.verify_cache_capacity,
            revocation_fallback: settings.revocation_fallback,
            revocation_epoch_interval: settings.revocation_epoch_interval,
            log_format: LogFormat::Text,
            login_max_failures_per_account: settings.login_throttle.per_account.max_failures,
            login_max_failures_per_ip: settings.login_throttle.per_ip.max_failures,
            login_failure_window: settings.login_throttle.per_account.window,
            routes: Vec::new(),
            upstreams: Vec::new(),
            upstream_timeout: Duration::from_secs(30),
            http_header_timeout: Duration::from_secs(10),
            http_idle_timeout: Duration::from_secs(60),
            http_body_timeout: Duration::from_secs(30),
            max_connections: 10_000,
            shutdown_delay: Duration::from_secs(5),
            shutdown_timeout: Duration::from_secs(30),
            demo: false,
            event_retention: settings.event_retention,
            retention_interval: settings.retention_interval,
            signing_key_rotation: settings.signing_key_rotation,
            signing_key_publish_ahead: settings.signing_key_publish_ahead,
        }
    }
}

fn list_or_csv<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Csv(String),
    }
    let items = match Raw::deserialize(deserializer)? {
        Raw::List(items) => items,
        Raw::Csv(text) => text.split(',').map(str::to_owned).collect(),
    };
    Ok(items
        .into_iter()
        .map(|item| item.trim().to_owned())
        .filter(|item| !item.is_empty())
        .collect())
}

// The two enums belong to the service layer, which has no reason to know serde can write them.
fn signing_alg_name<S: Serializer>(alg: &SigningAlg, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(alg.as_str())
}

fn revocation_fallback_name<S: Serializer>(
    fallback: &RevocationFallback,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(match fallback {
        RevocationFallback::Durable => "durable",
        RevocationFallback::Deny => "deny",
    })
}

impl Config {
    /// Reads `file` (if given) and the `PORTCULLIS_*` environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::new();
        if let Some(file) = file {
            if !file.exists() {
                bail!("config file {} does not exist", file.display());
            }
            figment = figment.merge(Toml::file(file));
        }
        let figment = figment.merge(Env::prefixed("PORTCULLIS_").ignore(&["config"]));
        let config: Self = figment.extract().context("invalid configuration")?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        self.service_settings()?;
        self.web_settings()?;
        self.public_url()?;
        self.webhook_settings()?;
        self.tls_files()?;
        for (name, value) in [
            ("access_ttl", self.access_ttl),
            ("refresh_idle_ttl", self.refresh_idle_ttl),
            ("session_max_ttl", self.session_max_ttl),
            ("login_failure_window", self.login_failure_window),
            ("redis_timeout", self.redis_timeout),
            ("redis_write_timeout", self.redis_write_timeout),
            ("database_timeout", self.database_timeout),
            ("upstream_timeout", self.upstream_timeout),
            ("http_header_timeout", self.http_header_timeout),
            ("http_idle_timeout", self.http_idle_timeout),
            ("http_body_timeout", self.http_body_timeout),
            ("retention_interval", self.retention_interval),
            ("revocation_epoch_interval", self.revocation_epoch_interval),
            // Zero would cut every request in flight; no delay is fine without a load balancer.
            ("shutdown_timeout", self.shutdown_timeout),
        ] {
            if value.is_zero() {
                bail!("{name} must be longer than zero");
            }
        }
        if self.metrics_listen.as_deref().is_some_and(|address| {
            // Port 0 picks a free port for each listener, so only tests share that spelling.
            address.trim().is_empty() || (address == self.listen && !address.ends_with(":0"))
        }) {
            bail!("metrics_listen must be an address of its own, apart from listen");
        }
        if self.max_connections == 0 {
            bail!("max_connections must be at least 1");
        }
        if self.signing_key_publish_ahead < portcullis_http::JWKS_MAX_AGE {
            bail!(
                "signing_key_publish_ahead must be at least {}s, the JWKS cache lifetime: a \
                 verifier holding a cached JWKS must know a key before it signs",
                portcullis_http::JWKS_MAX_AGE.as_secs()
            );
        }
        if self.leeway > Duration::from_secs(300) {
            bail!("leeway must be at most 5m: clock skew beyond that is a misconfiguration");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
