//! Brute-force protection on login: per account and per client address, 429 with Retry-After.

use portcullis_core::EventKind;
use portcullis_tests::{TestApp, PASSWORD};
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
    assert_eq!(events.len(), 2);
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
