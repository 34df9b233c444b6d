//! Reading the configuration: defaults, layering, typed keys and the checks of `validate`.

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
fn metrics_are_off_by_default_and_never_share_the_public_address() {
    let config = Config::default();
    assert_eq!(config.metrics_listen, None);
    let apart = Config {
        metrics_listen: Some("127.0.0.1:9464".to_owned()),
        ..Config::default()
    };
    apart.validate().expect("a metrics address of its own");
    for shared in ["127.0.0.1:8080", " "] {
        let config = Config {
            metrics_listen: Some(shared.to_owned()),
            ..Config::default()
        };
        assert!(config.validate().is_err(), "{shared:?}");
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
        let config = Config::load(Some(Path::new("portcullis.toml"))).map_err(|e| e.to_string())?;
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
        let config = Config::load(Some(Path::new("portcullis.toml"))).map_err(|e| e.to_string())?;
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
        let config = Config::load(Some(Path::new("portcullis.toml"))).map_err(|e| e.to_string())?;
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
#[allow(clippy::result_large_err)] // figment's Jail API returns its own large error type
fn shutdown_keys_are_read_and_a_zero_timeout_is_refused() {
    let config = Config::default();
    assert_eq!(config.shutdown_delay, Duration::from_secs(5));
    assert_eq!(config.shutdown_timeout, Duration::from_secs(30));
    figment::Jail::expect_with(|jail| {
        jail.create_file("portcullis.toml", "shutdown_delay = \"0s\"\n")?;
        jail.set_env("PORTCULLIS_SHUTDOWN_TIMEOUT", "45s");
        let config = Config::load(Some(Path::new("portcullis.toml"))).map_err(|e| e.to_string())?;
        assert_eq!(config.shutdown_delay, Duration::ZERO, "no delay is allowed");
        assert_eq!(config.shutdown_timeout, Duration::from_secs(45));
        Ok(())
    });
    let error = load_toml("shutdown_timeout = \"0s\"\n").expect_err("a zero timeout");
    assert!(error.contains("shutdown_timeout"), "{error}");
}

#[test]
fn unsafe_values_are_refused() {
    let wildcard = Config {
        allowed_origins: vec!["*".into()],
        ..Config::default()
    };
    assert!(wildcard.validate().is_err());
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
    for (key, value, valid) in [
        ("cookie_samesite", "sometimes", "`Strict`, `Lax`, `None`"),
        ("signing_alg", "HS256", "`EdDSA` or `ES256`"),
        ("signing_alg", "eddsa", "`EdDSA` or `ES256`"),
        ("revocation_fallback", "redis", "`durable`"),
        ("revocation_fallback", "Deny", "`deny`"),
        ("log_format", "yaml", "`text` or `json`"),
        ("log_format", "JSON", "`text` or `json`"),
    ] {
        let error = load_toml(&format!("{key} = \"{value}\"\n")).expect_err(value);
        assert!(error.contains(value), "{key}: {error}");
        assert!(error.contains(valid), "{key}: {error}");
        assert!(error.contains(key), "{key}: {error}");
    }
}

/// `Config::load` of `toml`, its error as printed by the binary.
#[allow(clippy::result_large_err)] // figment's Jail API returns its own large error type
fn load_toml(toml: &str) -> Result<Config, String> {
    let mut loaded = None;
    figment::Jail::expect_with(|jail| {
        jail.create_file("portcullis.toml", toml)?;
        loaded =
            Some(Config::load(Some(Path::new("portcullis.toml"))).map_err(|e| format!("{e:#}")));
        Ok(())
    });
    loaded.expect("the jail ran")
}

#[test]
fn every_documented_spelling_of_the_enumerated_keys_is_read() {
    for (toml, check) in [
        (
            "cookie_samesite = \"Strict\"",
            (|c: &Config| c.cookie_samesite == CookieSameSite::Strict) as fn(&Config) -> bool,
        ),
        ("cookie_samesite = \"strict\"", |c| {
            c.cookie_samesite == CookieSameSite::Strict
        }),
        ("cookie_samesite = \"Lax\"", |c| {
            c.cookie_samesite == CookieSameSite::Lax
        }),
        ("cookie_samesite = \"LAX\"", |c| {
            c.cookie_samesite == CookieSameSite::Lax
        }),
        ("cookie_samesite = \"None\"", |c| {
            c.cookie_samesite == CookieSameSite::None
        }),
        ("cookie_samesite = \"none\"", |c| {
            c.cookie_samesite == CookieSameSite::None
        }),
        ("signing_alg = \"EdDSA\"", |c| {
            c.signing_alg == SigningAlg::EdDSA
        }),
        ("signing_alg = \"ES256\"", |c| {
            c.signing_alg == SigningAlg::ES256
        }),
        ("revocation_fallback = \"durable\"", |c| {
            c.revocation_fallback == RevocationFallback::Durable
        }),
        ("revocation_fallback = \"postgres\"", |c| {
            c.revocation_fallback == RevocationFallback::Durable
        }),
        ("revocation_fallback = \"database\"", |c| {
            c.revocation_fallback == RevocationFallback::Durable
        }),
        ("revocation_fallback = \"deny\"", |c| {
            c.revocation_fallback == RevocationFallback::Deny
        }),
        ("log_format = \"text\"", |c| c.log_format == LogFormat::Text),
        ("log_format = \"json\"", |c| c.log_format == LogFormat::Json),
    ] {
        let config = load_toml(toml).unwrap_or_else(|error| panic!("{toml}: {error}"));
        assert!(check(&config), "{toml}: {config:?}");
    }
}

#[test]
#[allow(clippy::result_large_err)] // figment's Jail API returns its own large error type
fn enumerated_keys_and_secrets_are_read_from_the_environment() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("PORTCULLIS_COOKIE_SAMESITE", "lax");
        jail.set_env("PORTCULLIS_SIGNING_ALG", "ES256");
        jail.set_env("PORTCULLIS_REVOCATION_FALLBACK", "deny");
        jail.set_env("PORTCULLIS_LOG_FORMAT", "json");
        jail.set_env("PORTCULLIS_WEBHOOK_URL", "https://hooks.example.com/in");
        jail.set_env("PORTCULLIS_WEBHOOK_SECRET", "whsec-0123456789abcdef");
        jail.set_env(
            "PORTCULLIS_KEY_ENCRYPTION_KEY",
            "a2VrLWtlay1rZWsta2VrLWtlay1rZWsta2VrLWtlay0=",
        );
        let config = Config::load(None).map_err(|e| e.to_string())?;
        assert_eq!(config.cookie_samesite, CookieSameSite::Lax);
        assert_eq!(config.signing_alg, SigningAlg::ES256);
        assert_eq!(config.revocation_fallback, RevocationFallback::Deny);
        assert_eq!(config.log_format, LogFormat::Json);
        let webhook = config.webhook_secret.as_ref().map(Secret::expose);
        assert_eq!(webhook, Some("whsec-0123456789abcdef"));
        let kek = config.key_encryption_key.as_ref().map(Secret::expose);
        assert_eq!(kek, Some("a2VrLWtlay1rZWsta2VrLWtlay1rZWsta2VrLWtlay0="));
        Ok(())
    });
}

#[test]
fn debug_of_the_config_prints_no_secret() {
    let config = Config {
        key_encryption_key: Some("a2VrLWtlay1rZWsta2VrLWtlay1rZWsta2VrLWtlay0=".into()),
        webhook_secret: Some("whsec-0123456789abcdef".into()),
        ..Config::default()
    };
    let printed = format!("{config:?}");
    assert!(
        !printed.contains("a2VrLWtlay1rZWsta2VrLWtlay1rZWsta2VrLWtlay0="),
        "{printed}"
    );
    assert!(!printed.contains("whsec-0123456789abcdef"), "{printed}");
    assert!(
        printed.contains("key_encryption_key: Some([redacted])"),
        "{printed}"
    );
    assert!(
        printed.contains("webhook_secret: Some([redacted])"),
        "{printed}"
    );
}
