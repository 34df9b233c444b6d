//! Prometheus metrics on their own listener (`metrics_listen`): outcomes counted where they are
//! decided, route labels that are templates, text Prometheus's own `promtool` accepts, and the
//! example alert rules in `deploy/prometheus/`.

use portcullis::config::UpstreamConfig;
use portcullis_tests::replica::Replica;
use portcullis_tests::tier::{tier, TestStorage};
use portcullis_tests::{free_port, promtool, EchoUpstream, Reply, TestApp, PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

/// A gateway serving metrics on a port of its own.
async fn with_metrics(adjust: impl FnOnce(&mut portcullis::Config)) -> TestApp {
    TestApp::spawn_with(|config| {
        config.metrics_listen = Some("127.0.0.1:0".to_owned());
        adjust(config);
    })
    .await
}

/// Scrapes `app` and fails the test unless the answer is a 200 in the Prometheus text format.
async fn scrape(app: &TestApp) -> String {
    let (status, text) = app.scrape().await;
    assert_eq!(status, StatusCode::OK, "{text}");
    text
}

/// The value of `series` (name and labels exactly as exposed), or `None` when it is absent.
fn value(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?.strip_prefix(' ')?;
        rest.parse().ok()
    })
}

/// Asserts each `(series, count)` of `expected`, showing the whole exposition on a mismatch.
fn assert_counts(exposition: &str, expected: &[(&str, f64)]) {
    for (series, count) in expected {
        assert_eq!(
            value(exposition, series),
            Some(*count),
            "{series} in\n{exposition}"
        );
    }
}

async fn admin_call(app: &TestApp, key: &str, path: &str, body: Option<Value>) -> Reply {
    let mut request = app
        .http()
        .request(Method::POST, app.url(path))
        .bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    Reply::read(request.send().await.expect("admin request")).await
}

#[tokio::test]
async fn a_scrape_after_traffic_counts_each_outcome_where_it_was_decided() {
    // Without a grace window any replay of a used refresh token is reuse.
    let app = with_metrics(|config| config.reuse_grace = Duration::ZERO).await;
    let (mut browser, email, access) = app.logged_in().await;
    let wrong = app.browser().login(&email, "not the password").await;
    assert_eq!(wrong.error(), "invalid_credentials");
    assert_eq!(app.verify(&access).await.status, StatusCode::OK);

    let stale = browser.clone();
    assert_eq!(browser.refresh().await.status, StatusCode::OK);
    let replay = stale
        .post_cookie_once("/auth/refresh", &[("x-csrf", "1")], None)
        .await;
    assert_eq!(replay.error(), "refresh_token_reused");
    assert_eq!(app.verify(&access).await.status, StatusCode::UNAUTHORIZED);

    let second = app.browser().login(&email, PASSWORD).await.access_token();
    let key = app
        .gateway
        .create_admin_key("metrics-test", "test")
        .await
        .expect("admin key");
    let revoked = admin_call(
        &app,
        &key,
        "/admin/tokens/revoke",
        Some(json!({ "token": second })),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK, "{revoked:?}");
    assert_eq!(app.verify(&second).await.status, StatusCode::UNAUTHORIZED);
    let raw_path = format!("/admin/users/{email}/revoke");
    let cut_off = admin_call(&app, &key, &raw_path, None).await;
    assert_eq!(cut_off.status, StatusCode::OK, "{cut_off:?}");

    let text = scrape(&app).await;
    assert_counts(
        &text,
        &[
            ("portcullis_login_total{outcome=\"ok\"}", 2.0),
            ("portcullis_login_total{outcome=\"invalid_credentials\"}", 1.0),
            ("portcullis_login_total{outcome=\"locked\"}", 0.0),
            ("portcullis_refresh_total{outcome=\"rotated\"}", 1.0),
            ("portcullis_refresh_total{outcome=\"reuse_detected\"}", 1.0),
            ("portcullis_refresh_total{outcome=\"grace_replay\"}", 0.0),
            ("portcullis_verify_total{outcome=\"ok\"}", 1.0),
            ("portcullis_verify_total{outcome=\"revoked_session\"}", 1.0),
            ("portcullis_verify_total{outcome=\"revoked_jti\"}", 1.0),
            ("portcullis_verify_total{outcome=\"expired\"}", 0.0),
            ("portcullis_revocations_total{kind=\"jti\"}", 1.0),
            ("portcullis_revocations_total{kind=\"user\"}", 1.0),
            ("portcullis_revocations_total{kind=\"mass\"}", 0.0),
            ("portcullis_revocation_cache_trusted", 1.0),
            // One registration hash and three login checks, each waiting for a slot once.
            ("portcullis_password_hash_wait_seconds_count", 4.0),
            (
                "portcullis_http_requests_total{route=\"/auth/login\",method=\"POST\",status=\"200\"}",
                2.0,
            ),
            (
                "portcullis_http_requests_total{route=\"/auth/login\",method=\"POST\",status=\"401\"}",
                1.0,
            ),
            (
                "portcullis_http_requests_total{route=\"/auth/verify\",method=\"GET\",status=\"401\"}",
                2.0,
            ),
            (
                "portcullis_http_requests_total{route=\"/admin/users/{user}/revoke\",method=\"POST\",status=\"200\"}",
                1.0,
            ),
            (
                "portcullis_http_request_duration_seconds_count{route=\"/auth/refresh\"}",
                2.0,
            ),
        ],
    );
    assert!(
        !text.contains(&email) && !text.contains(&raw_path),
        "a raw path became a label:\n{text}"
    );
    assert!(
        text.contains("portcullis_signing_key_age_seconds{kid=\""),
        "{text}"
    );
    promtool::assert_metrics_pass(&text);
}

#[tokio::test]
async fn proxied_and_unmatched_requests_get_fixed_route_labels() {
    let upstream = EchoUpstream::start().await;
    let app = with_metrics(|config| {
        config.upstreams = vec![UpstreamConfig {
            prefix: "/api".to_owned(),
            url: upstream.base(),
        }];
    })
    .await;
    let (_, _, token) = app.logged_in().await;
    assert_eq!(
        app.get("/api/orders/8231", Some(&token)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/orders/8232", None).await.status,
        StatusCode::UNAUTHORIZED,
        "a refusal at an upstream's path is counted under that upstream too"
    );
    for path in ["/no/such/route/7311", "/healthz/7312"] {
        assert_eq!(app.get(path, None).await.status, StatusCode::NOT_FOUND);
    }
    let brewed = app
        .http()
        .request(
            Method::from_bytes(b"BREW").expect("method"),
            app.url("/auth/login"),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(brewed.status(), StatusCode::METHOD_NOT_ALLOWED);

    let text = scrape(&app).await;
    assert_counts(
        &text,
        &[
            (
                "portcullis_http_requests_total{route=\"upstream:/api\",method=\"GET\",status=\"200\"}",
                1.0,
            ),
            (
                "portcullis_http_requests_total{route=\"upstream:/api\",method=\"GET\",status=\"401\"}",
                1.0,
            ),
            (
                "portcullis_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}",
                2.0,
            ),
            (
                "portcullis_http_requests_total{route=\"/auth/login\",method=\"OTHER\",status=\"405\"}",
                1.0,
            ),
        ],
    );
    // Only the label sets: a sample's value (a duration sum, say) may hold any digits.
    let labels: Vec<&str> = text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('{')?.1.split_once('}').map(|(set, _)| set))
        .collect();
    for raw in ["8231", "8232", "7311", "7312", "BREW"] {
        assert!(
            !labels.iter().any(|set| set.contains(raw)),
            "{raw} became a label:\n{text}"
        );
    }
    promtool::assert_metrics_pass(&text);
}

#[tokio::test]
async fn metrics_are_off_by_default_and_never_served_on_the_public_listener() {
    let quiet = TestApp::spawn().await;
    assert!(
        quiet.metrics_base.is_none(),
        "no metrics_listen, no listener"
    );
    assert_eq!(
        quiet.get("/metrics", None).await.status,
        StatusCode::NOT_FOUND
    );

    let app = with_metrics(|_| {}).await;
    assert_eq!(
        app.get("/metrics", None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_ne!(app.metrics_base.as_deref(), Some(app.base.as_str()));
    let base = app.metrics_base.as_ref().expect("metrics listener");
    let response = app
        .http()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
}

#[tokio::test]
async fn the_binary_serves_metrics_where_the_environment_says() {
    let storage = TestStorage::create(tier()).await;
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let replica = Replica::start(&storage, &[("PORTCULLIS_METRICS_LISTEN", &address)]).await;
    let http = reqwest::Client::new();
    let health = http
        .get(format!("{}/healthz", replica.base))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);
    let scrape = http
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(scrape.status(), StatusCode::OK);
    let text = scrape.text().await.expect("body");
    // The start-up wait polled /healthz too.
    let health_checks = value(
        &text,
        "portcullis_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"}",
    );
    assert!(health_checks >= Some(2.0), "{text}");
    assert_counts(&text, &[("portcullis_revocation_cache_trusted", 1.0)]);
    assert!(
        text.contains("portcullis_signing_key_age_seconds{kid=\""),
        "{text}"
    );
    promtool::assert_metrics_pass(&text);
}

#[tokio::test]
async fn the_metrics_listener_closes_when_the_gateway_stops() {
    let mut app = with_metrics(|_| {}).await;
    let base = app.metrics_base.clone().expect("metrics listener");
    assert_eq!(app.scrape().await.0, StatusCode::OK);
    app.stop().await;
    let after = reqwest::Client::new()
        .get(format!("{base}/metrics"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(after.is_err(), "still served after stop: {after:?}");
}

#[tokio::test]
async fn a_scraper_that_asks_for_openmetrics_gets_it() {
    let app = with_metrics(|_| {}).await;
    let base = app.metrics_base.as_ref().expect("metrics listener");
    let response = app
        .http()
        .get(format!("{base}/metrics"))
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )
        .send()
        .await
        .expect("scrape");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .expect("text header")
        .starts_with("application/openmetrics-text"));
    let text = response.text().await.expect("body");
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(text.contains("# TYPE portcullis_login counter"), "{text}");
}

#[tokio::test]
async fn two_gateways_in_one_process_keep_their_own_counts() {
    let busy = with_metrics(|_| {}).await;
    let idle = with_metrics(|_| {}).await;
    busy.logged_in().await;
    assert_counts(
        &scrape(&busy).await,
        &[("portcullis_login_total{outcome=\"ok\"}", 1.0)],
    );
    assert_counts(
        &scrape(&idle).await,
        &[("portcullis_login_total{outcome=\"ok\"}", 0.0)],
    );
}

#[test]
fn the_example_alert_rules_pass_promtool_and_their_unit_tests() {
    promtool::assert_rules_pass("deploy/prometheus/alerts.yml");
    promtool::assert_rule_tests_pass("deploy/prometheus/alerts.test.yml");
}
