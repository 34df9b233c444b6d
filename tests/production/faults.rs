//! Faults of the backends: none may ever make a revoked token valid again.

use portcullis_service::RevocationFallback;
use portcullis_tests::fault_proxy::{FaultProxy, Mode};
use portcullis_tests::throwaway_redis::ThrowawayRedis;
use portcullis_tests::tier::{TestStorage, Tier};
use portcullis_tests::{eventually, TestApp};
use reqwest::{Method, StatusCode};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A production-tier gateway whose Redis is `redis_url` and Postgres the test database,
/// optionally reached through a proxy.
async fn gateway_with(
    redis_url: String,
    database_url: Option<String>,
    fallback: RevocationFallback,
) -> TestApp {
    let storage = Arc::new(TestStorage::create(Tier::Production).await);
    let mut config = TestApp::config_for(&storage);
    config.redis_url = Some(redis_url);
    if let Some(url) = database_url {
        config.database_url = Some(url);
    }
    config.revocation_fallback = fallback;
    TestApp::start(config, storage).await
}

pub(crate) fn socket(url: &str) -> SocketAddr {
    let authority = url
        .split("://")
        .nth(1)
        .expect("scheme")
        .split('/')
        .next()
        .expect("authority");
    let host_port = authority.rsplit('@').next().expect("host");
    host_port.parse().unwrap_or_else(|_| {
        let (host, port) = host_port.rsplit_once(':').expect("port");
        let host = if host == "localhost" {
            "127.0.0.1"
        } else {
            host
        };
        format!("{host}:{port}").parse().expect("socket address")
    })
}

#[tokio::test]
async fn a_flushed_redis_never_un_revokes_a_token() {
    let redis = ThrowawayRedis::start();
    let app = gateway_with(redis.url(), None, RevocationFallback::Durable).await;
    let (mut browser, _, revoked) = app.logged_in().await;
    browser.logout(Some(&revoked)).await;
    let (_, _, everywhere) = app.logged_in().await;
    app.send(Method::POST, "/auth/logout-all", Some(&everywhere))
        .await;
    let (_, _, valid) = app.logged_in().await;
    assert_eq!(app.verify(&revoked).await.status, StatusCode::UNAUTHORIZED);

    redis.flushall();
    for _ in 0..3 {
        assert_eq!(
            app.verify(&revoked).await.status,
            StatusCode::UNAUTHORIZED,
            "jti and session denylists"
        );
        assert_eq!(
            app.verify(&everywhere).await.status,
            StatusCode::UNAUTHORIZED,
            "token version"
        );
        assert_eq!(
            app.verify(&valid).await.status,
            StatusCode::OK,
            "valid tokens keep working"
        );
    }
    // The cache is refilled from Postgres in the background; once it is, it answers again.
    eventually("redis is rehydrated", || async {
        redis.has_keys(&app.config.redis_prefix)
    })
    .await;
    assert_eq!(
        app.verify(&everywhere).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.verify(&valid).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_restarted_empty_redis_never_un_revokes_a_token() {
    let mut redis = ThrowawayRedis::start();
    let app = gateway_with(redis.url(), None, RevocationFallback::Durable).await;
    let (_, _, revoked) = app.logged_in().await;
    app.send(Method::POST, "/auth/logout-all", Some(&revoked))
        .await;
    let (_, _, valid) = app.logged_in().await;
    redis.restart();
    // The first requests may hit connections to the old server: they must fail closed or fall back.
    for _ in 0..5 {
        let reply = app.verify(&revoked).await;
        assert_ne!(reply.status, StatusCode::OK, "{reply:?}");
    }
    assert_eq!(app.verify(&valid).await.status, StatusCode::OK);
    assert_eq!(app.verify(&revoked).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_unreachable_redis_falls_back_to_postgres_and_reports_degraded() {
    let redis = ThrowawayRedis::start();
    let proxy = redis.behind_proxy().await;
    let app = gateway_with(proxy.url(), None, RevocationFallback::Durable).await;
    let (_, _, revoked) = app.logged_in().await;
    app.send(Method::POST, "/auth/logout-all", Some(&revoked))
        .await;
    let (_, _, valid) = app.logged_in().await;
    for mode in [Mode::Refuse, Mode::Stall] {
        proxy.set(mode);
        let started = Instant::now();
        assert_eq!(app.verify(&valid).await.status, StatusCode::OK, "{mode:?}");
        assert_eq!(
            app.verify(&revoked).await.status,
            StatusCode::UNAUTHORIZED,
            "{mode:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{mode:?}: a hung Redis must not hang requests"
        );
        let ready = app.get("/readyz", None).await;
        assert_eq!(ready.status, StatusCode::OK, "{mode:?}");
        assert_eq!(ready.body["status"], "degraded", "{mode:?}");
        proxy.set(Mode::Pass);
    }
    eventually("ready again", || async {
        app.get("/readyz", None).await.body["status"] == "ready"
    })
    .await;
}

#[tokio::test]
async fn with_fallback_deny_an_unreachable_redis_refuses_every_token() {
    let redis = ThrowawayRedis::start();
    let proxy = redis.behind_proxy().await;
    let app = gateway_with(proxy.url(), None, RevocationFallback::Deny).await;
    let (_, _, valid) = app.logged_in().await;
    assert_eq!(app.verify(&valid).await.status, StatusCode::OK);
    proxy.set(Mode::Refuse);
    let reply = app.verify(&valid).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{reply:?}");
    assert_eq!(reply.error(), "unavailable");
    assert_eq!(
        app.get("/readyz", None).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn an_unreachable_postgres_fails_fast_keeps_verify_working_and_loses_nothing() {
    let admin = portcullis_tests::tier::database_admin_url();
    let storage = Arc::new(TestStorage::create(Tier::Production).await);
    let database = storage
        .database
        .as_ref()
        .expect("production storage has a database");
    let proxy = FaultProxy::start(socket(&admin)).await;
    let proxied = portcullis_tests::tier::with_database(
        &admin.replacen(&socket(&admin).to_string(), &proxy.addr().to_string(), 1),
        &database.name,
    );
    let mut config = TestApp::config_for(&storage);
    config.database_url = Some(proxied);
    let app = TestApp::start(config, Arc::clone(&storage)).await;
    let (mut browser, email, valid) = app.logged_in().await;
    let (_, _, revoked) = app.logged_in().await;
    app.send(Method::POST, "/auth/logout-all", Some(&revoked))
        .await;
    let cookie_before = browser.cookie.clone();

    for mode in [Mode::Refuse, Mode::Stall] {
        proxy.set(mode);
        let started = Instant::now();
        let login = app
            .browser()
            .login(&email, portcullis_tests::PASSWORD)
            .await;
        let register = app
            .register(
                &format!("new-{}@example.com", uuid::Uuid::new_v4().simple()),
                "long enough pw",
            )
            .await;
        let refresh = browser.refresh().await;
        for reply in [&login, &register, &refresh] {
            assert_eq!(
                reply.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{mode:?}: {reply:?}"
            );
            assert_eq!(reply.error(), "unavailable");
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{mode:?}: answered in {:?}",
            started.elapsed()
        );
        assert_eq!(
            browser.cookie, cookie_before,
            "a failed refresh leaves the cookie alone"
        );
        assert_eq!(
            app.verify(&valid).await.status,
            StatusCode::OK,
            "{mode:?}: verify works from Redis"
        );
        assert_eq!(
            app.verify(&revoked).await.status,
            StatusCode::UNAUTHORIZED,
            "{mode:?}"
        );
        proxy.set(Mode::Pass);
    }
    // Nothing was half-written: the cookie from before the outage still rotates exactly once.
    let reply = browser.refresh().await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(browser.refresh().await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_revocation_published_while_redis_was_away_reaches_every_replica_when_it_returns() {
    let redis = ThrowawayRedis::start();
    let proxy = redis.behind_proxy().await;
    let storage = Arc::new(TestStorage::create(Tier::Production).await);
    let mut cut_off = TestApp::config_for(&storage);
    cut_off.redis_url = Some(proxy.url());
    let a = TestApp::start(cut_off, Arc::clone(&storage)).await;
    let mut connected = TestApp::config_for(&storage);
    connected.redis_url = Some(redis.url());
    let b = TestApp::start(connected, Arc::clone(&storage)).await;
    let (_, _, token) = b.logged_in().await;
    assert_eq!(b.verify(&token).await.status, StatusCode::OK);

    proxy.set(Mode::Refuse);
    let reply = a.send(Method::POST, "/auth/logout-all", Some(&token)).await;
    assert_eq!(
        reply.status,
        StatusCode::NO_CONTENT,
        "durable first: the revocation is acknowledged"
    );
    // The outage outlasts the first refill attempt, so only a retry can repair the cache.
    tokio::time::sleep(Duration::from_millis(600)).await;
    proxy.set(Mode::Pass);
    // No further request reaches A: its own retry must repair the shared cache.
    eventually("replica B refuses the revoked token", || async {
        b.verify(&token).await.status == StatusCode::UNAUTHORIZED
    })
    .await;
}
