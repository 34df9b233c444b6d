//! Brute-force protection on login: per account and per client address, 429 with Retry-After.

use portcullis_core::EventKind;
use portcullis_tests::{Reply, TestApp, PASSWORD};
use reqwest::StatusCode;
use std::time::Duration;

async fn throttled_app(per_account: u32, per_ip: u32) -> TestApp {
    TestApp::spawn_with(|config| {
        config.login_max_failures_per_account = per_account;
        config.login_max_failures_per_ip = per_ip;
        config.login_failure_window = Duration::from_secs(600);
    })
    .await
}

#[tokio::test]
async fn repeated_failures_lock_the_account_out_with_retry_after() {
    let app = throttled_app(3, 1000).await;
    let email = app.new_user().await;
    for _ in 0..3 {
        assert_eq!(
            app.browser().login(&email, "wrong password").await.error(),
            "invalid_credentials"
        );
    }
    for password in ["wrong password", PASSWORD] {
        let reply = app.browser().login(&email, password).await;
        assert_eq!(
            reply.status,
            StatusCode::TOO_MANY_REQUESTS,
            "even the right password waits"
        );
        assert_eq!(reply.error(), "rate_limited");
        let retry_after: u64 = reply
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .expect("seconds");
        assert!((1..=600).contains(&retry_after), "{retry_after}");
    }
    let events = app
        .gateway
        .recent_events(Some(EventKind::LoginRateLimited), 10)
        .await
        .expect("events");
    assert_eq!(events.len(), 1, "recorded once per account and window");
}

#[tokio::test]
async fn a_locked_out_account_never_blocks_another_account() {
    let app = throttled_app(3, 1000).await;
    let victim = app.new_user().await;
    let bystander = app.new_user().await;
    for _ in 0..3 {
        app.browser().login(&victim, "wrong password").await;
    }
    assert_eq!(
        app.browser().login(&victim, PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        app.browser().login(&bystander, PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_successful_login_resets_the_account_count() {
    let app = throttled_app(3, 1000).await;
    let email = app.new_user().await;
    for _ in 0..2 {
        app.browser().login(&email, "wrong password").await;
    }
    assert_eq!(
        app.browser().login(&email, PASSWORD).await.status,
        StatusCode::OK
    );
    for _ in 0..2 {
        assert_eq!(
            app.browser().login(&email, "wrong password").await.error(),
            "invalid_credentials"
        );
    }
    assert_eq!(
        app.browser().login(&email, PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn one_address_spraying_many_accounts_is_limited() {
    let app = throttled_app(1000, 4).await;
    for _ in 0..4 {
        let reply = app
            .browser()
            .login(
                &format!("guess-{}@example.com", uuid::Uuid::new_v4().simple()),
                "password1",
            )
            .await;
        assert_eq!(reply.error(), "invalid_credentials");
    }
    let email = app.new_user().await;
    let reply = app.browser().login(&email, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.error(), "rate_limited");
}

async fn login_from(app: &TestApp, email: &str, password: &str, forwarded_for: &str) -> Reply {
    let response = app
        .http()
        .post(app.url("/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("login");
    Reply::read(response).await
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_address_is_limited_and_recorded() {
    let app = TestApp::spawn_with(|config| {
        config.trusted_proxies = vec!["127.0.0.1".into()];
        config.login_max_failures_per_ip = 2;
    })
    .await;
    let email = app.new_user().await;
    for _ in 0..2 {
        login_from(
            &app,
            "nobody@example.com",
            "password1",
            "198.51.100.1, 203.0.113.9",
        )
        .await;
    }
    let blocked = login_from(&app, &email, PASSWORD, "203.0.113.9").await;
    assert_eq!(
        blocked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the forwarded address is the one counted"
    );
    let other_client = login_from(&app, &email, PASSWORD, "203.0.113.10").await;
    assert_eq!(
        other_client.status,
        StatusCode::OK,
        "another client behind the same proxy is not blocked"
    );
    let sessions = app
        .get("/auth/sessions", Some(&other_client.access_token()))
        .await;
    assert_eq!(sessions.body[0]["ip"], "203.0.113.10");
}

#[tokio::test]
async fn without_trusted_proxies_a_forwarded_header_is_ignored() {
    let app = throttled_app(1000, 2).await;
    let email = app.new_user().await;
    for spoofed in ["203.0.113.1", "203.0.113.2"] {
        login_from(&app, "nobody@example.com", "password1", spoofed).await;
    }
    let reply = login_from(&app, &email, PASSWORD, "203.0.113.3").await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "spoofing the header does not escape the limit"
    );
}
