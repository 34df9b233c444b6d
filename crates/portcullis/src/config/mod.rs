//! Configuration: an optional TOML file, then `PORTCULLIS_<KEY>` environment overrides, then
//! validation into the settings each layer needs. Every key has a safe default, so no config at
//! all serves the embedded tier on 127.0.0.1:8080 with its data under `./data/`.

use crate::server::ServerSettings;
use anyhow::{bail, Context};
use cookie::SameSite;
use figment::providers::{Env, Format, Toml};
use figment::Figment;
use portcullis_core::throttle::{Limit, LoginThrottle};
use portcullis_core::EventKind;
use portcullis_http::{CookieSettings, WebSettings};
use portcullis_service::{RevocationFallback, Settings, SigningAlg, WebhookSettings};
use serde::{Deserialize, Deserializer};
use std::path::{Path, PathBuf};
use std::time::Duration;

mod front_door;

pub use front_door::{RouteConfig, UpstreamConfig};

/// Every configuration key. The README documents each with its default.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Where the embedded tier keeps its database and generated key-encryption key.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` (embedded tier); unset means `<data_dir>/portcullis.db`.
    pub database_url: Option<String>,
    /// Redis URL of the production tier.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key, so deployments can share one Redis.
    pub redis_prefix: String,
    /// Deadline of a revocation lookup in Redis (on every verify); past it, the fallback applies.
    #[serde(deserialize_with = "crate::duration::deserialize")]
    pub redis_timeout: Duration,
    /// Deadline of a Redis write (publishing a revocation, refilling the cache).
    #[serde(deserialize_with = "crate::duration::deserialize")]
    pub redis_write_timeout: Duration,
    /// Deadline of every database call (pool wait, statement, whole call).
    #[serde(deserialize_with = "crate::duration::deserialize")]
    pub database_timeout: Duration,
    /// Postgres connections per replica.
    pub database_max_connections: u32,
    pub issuer: String,
    pub audience: String,
    #[serde(deserialize_with = "crate::duration::deserialize")]
    pub access_ttl: Duration,
    #[serde(deserialize_with = "crate::duration::deserialize")]
    pub refresh_idle_ttl: Duration,
    #[serde(deserialize_with = "crate::duration::deserialize")]
    pub session_max_ttl: Duration,
    #[serde(deserialize_with = "crate::duration::deserialize")]
    pub reuse_grace: Duration,
    #[serde(deserialize_with = "crate::duration::deserialize")]
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
    /// `Strict`, `Lax` or `None`.
    pub cookie_samesite: String,
    /// `EdDSA` (Ed25519) or `ES256`.
    pub signing_alg: String,
    /// Base64 of 32 random bytes; required to share keys between replicas.
    pub key_encryption_key: Option<String>,
    /// A file holding the key-encryption key; the embedded default is `<data_dir>/kek`.
    pub key_encryption_key_file: Option<PathBuf>,
    /// Number of verified access tokens remembered (0 disables the cache).
    pub verify_cache_size: u64,
    /// `durable` or `deny`: what revocation checks do when the cache is unreachable.
    pub revocation_fallback: String,
    /// `text` or `json`.
    pub log_format: String,
    /// Where chosen security events are POSTed (signed); unset disables the webhook.
    pub webhook_url: Option<String>,
    /// The HMAC-SHA256 key signing webhook deliveries; required with `webhook_url`.
    pub webhook_secret: Option<String>,
    /// Event kinds delivered to the webhook; comma-separated in the environment.
    #[serde(deserialize_with = "list_or_csv")]
    pub webhook_kinds: Vec<String>,
    /// Failed logins allowed per account within `login_failure_window` (0 disables).
    pub login_max_failures_per_account: u32,
    /// Failed logins allowed per client address within `login_failure_window` (0 disables).
    pub login_max_failures_per_ip: u32,
    #[serde(deserialize_with = "crate::duration::deserialize")]
    pub login_failure_window: Duration,
    /// Ordered route policies of forward-auth and the built-in proxy (`[[routes]]`).
    pub routes: Vec<RouteConfig>,
    /// Applications served by the built-in proxy (`[[upstreams]]`).
    pub upstreams: Vec<UpstreamConfig>,
    /// How long an upstream may take to start answering (then 504).
    #[serde(deserialize_with = "crate::duration::deserialize")]
    pub upstream_timeout: Duration,
    /// How long a client may take to send a request's headers (from connecting, or from the
    /// first byte of a request on a kept-alive connection) before the connection is closed.
    #[serde(deserialize_with = "crate::duration::deserialize")]
    pub http_header_timeout: Duration,
    /// How long a connection with no request in flight stays open, and how long one with a
    /// request in flight may move no byte at all.
    #[serde(deserialize_with = "crate::duration::deserialize")]
    pub http_idle_timeout: Duration,
    /// The total deadline of a request to the gateway's own routes, and how long a proxied
    /// request body may stall (no bytes at all); past either, 408.
    #[serde(deserialize_with = "crate::duration::deserialize")]
    pub http_body_timeout: Duration,
    /// Open client connections at most (fewer if the file-descriptor limit is lower).
    pub max_connections: usize,
    /// Development mode: serve the demo single-page app under `/demo/`.
    pub demo: bool,
    /// How long security events are kept; `0` keeps them forever.
    #[serde(deserialize_with = "crate::duration::deserialize")]
    pub event_retention: Duration,
    /// How often the retention pass deletes what can no longer change a decision.
    #[serde(deserialize_with = "crate::duration::deserialize")]
    pub retention_interval: Duration,
}

impl Default for Config {
    fn default() -> Self {
        let settings = Settings::default();
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            redis_url: None,
            redis_prefix: "portcullis:".to_owned(),
            redis_timeout: Duration::from_millis(50),
            redis_write_timeout: Duration::from_millis(300),
            database_timeout: Duration::from_secs(2),
            database_max_connections: 10,
            issuer: settings.issuer,
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
            cookie_samesite: "Strict".to_owned(),
            signing_alg: "EdDSA".to_owned(),
            key_encryption_key: None,
            key_encryption_key_file: None,
            verify_cache_size: settings.verify_cache_capacity,
            revocation_fallback: "durable".to_owned(),
            log_format: "text".to_owned(),
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
            demo: false,
            event_retention: settings.event_retention,
            retention_interval: settings.retention_interval,
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
        ] {
            if value.is_zero() {
                bail!("{name} must be longer than zero");
            }
        }
        if self.max_connections == 0 {
            bail!("max_connections must be at least 1");
        }
        if self.leeway > Duration::from_secs(300) {
            bail!("leeway must be at most 5m: clock skew beyond that is a misconfiguration");
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            bail!("log_format must be \"text\" or \"json\"");
        }
        Ok(())
    }

    pub fn service_settings(&self) -> anyhow::Result<Settings> {
        Ok(Settings {
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            access_ttl: self.access_ttl,
            refresh_idle_ttl: self.refresh_idle_ttl,
            session_max_ttl: self.session_max_ttl,
            reuse_grace: self.reuse_grace,
            leeway: self.leeway,
            registration: self.registration,
            signing_alg: self
                .signing_alg
                .parse::<SigningAlg>()
                .map_err(anyhow::Error::msg)?,
            verify_cache_capacity: self.verify_cache_size,
            revocation_fallback: self
                .revocation_fallback
                .parse::<RevocationFallback>()
                .map_err(anyhow::Error::msg)?,
            webhook: self.webhook_settings()?,
            route_policy: front_door::route_policy(&self.routes)?,
            database_timeout: self.database_timeout,
            event_retention: self.event_retention,
            retention_interval: self.retention_interval,
            login_throttle: LoginThrottle {
                per_account: Limit {
                    max_failures: self.login_max_failures_per_account,
                    window: self.login_failure_window,
                },
                per_ip: Limit {
                    max_failures: self.login_max_failures_per_ip,
                    window: self.login_failure_window,
                },
            },
        })
    }

    pub(crate) fn server_settings(&self) -> ServerSettings {
        ServerSettings {
            header_timeout: self.http_header_timeout,
            idle_timeout: self.http_idle_timeout,
            body_timeout: self.http_body_timeout,
            max_connections: self.max_connections,
            // The runtime, listener, SQLite files, Redis and webhook clients fit in 64 with
            // room to spare; Postgres connections come on top.
            reserved_files: 64 + u64::from(self.database_max_connections),
            // A proxied request holds an upstream socket as well as the client's.
            files_per_connection: if self.upstreams.is_empty() { 1 } else { 2 },
        }
    }

    fn webhook_settings(&self) -> anyhow::Result<Option<WebhookSettings>> {
        let Some(url) = &self.webhook_url else {
            return Ok(None);
        };
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            bail!("webhook_url must be an http(s) URL");
        }
        let secret = self
            .webhook_secret
            .as_deref()
            .filter(|secret| secret.len() >= 16)
            .context("webhook_secret (at least 16 characters) is required with webhook_url")?;
        let kinds = self
            .webhook_kinds
            .iter()
            .map(|kind| {
                EventKind::parse(kind)
                    .with_context(|| format!("unknown event kind {kind:?} in webhook_kinds"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Some(WebhookSettings::new(
            url.clone(),
            secret.as_bytes().to_vec(),
            kinds,
        )))
    }

    pub fn web_settings(&self) -> anyhow::Result<WebSettings> {
        let same_site = match self.cookie_samesite.to_ascii_lowercase().as_str() {
            "strict" => SameSite::Strict,
            "lax" => SameSite::Lax,
            "none" => SameSite::None,
            other => bail!("cookie_samesite must be Strict, Lax or None, not {other:?}"),
        };
        let name_ok = !self.cookie_name.is_empty()
            && self
                .cookie_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !name_ok {
            bail!("cookie_name may only contain letters, digits, '-', '_' and '.'");
        }
        let host_named = self
            .cookie_name
            .get(.."__Host-".len())
            .is_some_and(|head| head.eq_ignore_ascii_case("__Host-"));
        if host_named && !self.cookie_prefix_host {
            // Browsers refuse a `__Host-` cookie on `Path=/auth`: it would never be stored.
            bail!("a cookie_name starting with __Host- needs cookie_prefix_host = true");
        }
        for origin in &self.allowed_origins {
            if origin == "*"
                || origin == "null"
                || !(origin.starts_with("https://") || origin.starts_with("http://"))
            {
                bail!("allowed_origins entries must be exact origins such as https://app.example.com, not {origin:?}");
            }
        }
        Ok(WebSettings {
            cookie: CookieSettings::new(&self.cookie_name, same_site, self.cookie_prefix_host),
            allowed_origins: self.allowed_origins.clone(),
            trusted_proxies: self
                .trusted_proxies
                .iter()
                .map(|entry| parse_net(entry))
                .collect::<anyhow::Result<_>>()?,
            upstreams: front_door::upstreams(&self.upstreams)?,
            upstream_timeout: self.upstream_timeout,
            own_request_timeout: self.http_body_timeout,
            demo: self.demo,
        })
    }
}

/// An address or CIDR range, canonical: peers are compared in canonical form, so
/// `::ffff:10.0.0.0/104` is `10.0.0.0/8` (written mapped, it would never match).
fn parse_net(text: &str) -> anyhow::Result<ipnet::IpNet> {
    let net = text
        .parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| {
            anyhow::anyhow!(
                "trusted_proxies entries must be addresses or CIDR ranges, not {text:?}"
            )
        })?;
    let mapped_v4 = match net {
        ipnet::IpNet::V6(v6) if v6.prefix_len() >= 96 => v6
            .addr()
            .to_ipv4_mapped()
            .and_then(|v4| ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).ok()),
        _ => None,
    };
    Ok(mapped_v4.map_or(net, ipnet::IpNet::V4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_the_documented_values() {
        let config = Config::default();
        config.validate().expect("defaults validate");
        assert_eq!(config.listen, "127.0.0.1:8080");
        assert_eq!(config.access_ttl, Duration::from_secs(900));
        assert_eq!(config.refresh_idle_ttl, Duration::from_secs(7 * 86_400));
        assert_eq!(config.session_max_ttl, Duration::from_secs(30 * 86_400));
        assert_eq!(config.reuse_grace, Duration::from_secs(10));
        assert_eq!(config.leeway, Duration::from_secs(10));
        assert_eq!(config.http_header_timeout, Duration::from_secs(10));
        assert_eq!(config.http_idle_timeout, Duration::from_secs(60));
        assert_eq!(config.http_body_timeout, Duration::from_secs(30));
        assert_eq!(config.max_connections, 10_000);
    }

    #[test]
    fn slow_client_limits_cannot_be_switched_off() {
        for adjust in [
            |c: &mut Config| c.http_header_timeout = Duration::ZERO,
            |c: &mut Config| c.http_idle_timeout = Duration::ZERO,
            |c: &mut Config| c.http_body_timeout = Duration::ZERO,
            |c: &mut Config| c.max_connections = 0,
        ] {
            let mut config = Config::default();
            adjust(&mut config);
            assert!(config.validate().is_err(), "{config:?}");
        }
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own large error type
    fn toml_and_environment_are_layered() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("portcullis.toml", "access_ttl = \"5m\"\nreuse_grace = \"0s\"\nallowed_origins = [\"https://a.example\"]\n")?;
            jail.set_env(
                "PORTCULLIS_ALLOWED_ORIGINS",
                "https://b.example, https://c.example",
            );
            jail.set_env("PORTCULLIS_REGISTRATION", "false");
            let config =
                Config::load(Some(Path::new("portcullis.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(config.access_ttl, Duration::from_secs(300));
            assert_eq!(config.reuse_grace, Duration::ZERO);
            assert_eq!(
                config.allowed_origins,
                ["https://b.example", "https://c.example"]
            );
            assert!(!config.registration);
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own large error type
    fn routes_and_upstreams_are_read_from_toml_tables() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "portcullis.toml",
                r#"
                upstream_timeout = "5s"
                [[routes]]
                prefix = "/api/public"
                access = "public"
                [[routes]]
                prefix = "/api/admin"
                methods = ["DELETE"]
                roles = ["admin"]
                [[upstreams]]
                prefix = "/api"
                url = "http://127.0.0.1:9000"
                "#,
            )?;
            let config =
                Config::load(Some(Path::new("portcullis.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(config.routes.len(), 2);
            assert_eq!(config.routes[1].methods, ["DELETE"]);
            assert_eq!(config.upstreams[0].url, "http://127.0.0.1:9000");
            assert_eq!(config.upstream_timeout, Duration::from_secs(5));
            Ok(())
        });
    }

    #[test]
    fn a_route_must_say_exactly_one_thing() {
        let route = |access: Option<&str>, roles: Option<Vec<String>>| Config {
            routes: vec![RouteConfig {
                prefix: "/api".into(),
                methods: Vec::new(),
                access: access.map(str::to_owned),
                roles,
            }],
            ..Config::default()
        };
        assert!(route(Some("public"), None).validate().is_ok());
        assert!(route(None, Some(vec!["admin".into()])).validate().is_ok());
        assert!(route(None, None).validate().is_err());
        assert!(route(Some("everyone"), None).validate().is_err());
        assert!(route(Some("public"), Some(vec!["admin".into()]))
            .validate()
            .is_err());
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own large error type
    fn retention_defaults_and_zero_event_retention_are_read() {
        let config = Config::default();
        assert_eq!(config.event_retention, Duration::from_secs(90 * 86_400));
        assert_eq!(config.retention_interval, Duration::from_secs(600));
        figment::Jail::expect_with(|jail| {
            jail.create_file("portcullis.toml", "event_retention = 0\n")?;
            jail.set_env("PORTCULLIS_RETENTION_INTERVAL", "1h");
            let config =
                Config::load(Some(Path::new("portcullis.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(config.event_retention, Duration::ZERO);
            assert_eq!(config.retention_interval, Duration::from_secs(3600));
            Ok(())
        });
        let never = Config {
            retention_interval: Duration::ZERO,
            ..Config::default()
        };
        assert!(never.validate().is_err());
    }

    #[test]
    fn mapped_trusted_proxies_are_read_as_ipv4() {
        for (text, expected) in [
            ("::ffff:10.0.0.2", "10.0.0.2/32"),
            ("::ffff:10.0.0.0/104", "10.0.0.0/8"),
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("2001:db8::/32", "2001:db8::/32"),
        ] {
            assert_eq!(
                parse_net(text).expect("net").to_string(),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn unsafe_values_are_refused() {
        let wildcard = Config {
            allowed_origins: vec!["*".into()],
            ..Config::default()
        };
        assert!(wildcard.validate().is_err());
        let samesite = Config {
            cookie_samesite: "sometimes".into(),
            ..Config::default()
        };
        assert!(samesite.validate().is_err());
        let host_name_on_auth_path = Config {
            cookie_name: "__Host-refresh".into(),
            ..Config::default()
        };
        assert!(host_name_on_auth_path.validate().is_err());
        let host_prefixed = Config {
            cookie_prefix_host: true,
            ..host_name_on_auth_path
        };
        assert!(host_prefixed.validate().is_ok());
        let alg = Config {
            signing_alg: "HS256".into(),
            ..Config::default()
        };
        assert!(alg.validate().is_err());
    }
}
