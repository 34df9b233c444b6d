//! Login limits are reservations: however many attempts arrive at once, no more passwords are
//! evaluated per window than the limits allow, the counts outlive a restart, and the audit
//! trail records a limit being hit once per account or address and window, not once per attempt.

use futures::future::join_all;
use portcullis_core::EventKind;
use portcullis_tests::reply::login_burst_tally;
use portcullis_tests::{Reply, TestApp, PASSWORD};
use reqwest::StatusCode;
use std::time::Duration;

const PER_ACCOUNT: u32 = 10;
const PER_IP: u32 = 100;

async fn limited_app() -> TestApp {
    TestApp::spawn_with(|config| {
        config.login_max_failures_per_account = PER_ACCOUNT;
        config.login_max_failures_per_ip = PER_IP;
        config.login_failure_window = Duration::from_secs(600);
        // These tests count reservations. A counter call past its deadline lets the attempt
        // through unthrottled (by design: an outage must not lock everyone out), which a busy
        // machine can cause and which is tested on its own; here it would only blur the count.
        config.redis_write_timeout = Duration::from_secs(10);
        config.database_timeout = Duration::from_secs(10);
    })
    .await
}

async fn attempt(app: &TestApp, email: &str, password: &str) -> Reply {
    let response = app
        .http()
        .post(app.url("/auth/login"))
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("login");
    Reply::read(response).await
}

/// Sends every attempt at once; returns how many passwords were evaluated (401) and refused
/// unevaluated (429). Nothing else is an acceptable answer.
async fn burst(app: &TestApp, emails: &[String]) -> (usize, usize) {
    let replies = join_all(
        emails
            .iter()
            .map(|email| attempt(app, email, "wrong password")),
    )
    .await;
    login_burst_tally(&replies)
}

/// The `details` of every event of `kind`, read through the admin events API.
async fn events(app: &TestApp, kind: EventKind) -> Vec<serde_json::Value> {
    let key = app
        .gateway
        .create_admin_key(&format!("audit-{}", uuid::Uuid::new_v4().simple()), "test")
        .await
        .expect("admin key");
    let path = format!("/admin/events?kind={}&limit=500", kind.as_str());
    let response = app
        .http()
        .get(app.url(&path))
        .bearer_auth(key)
        .send()
        .await
        .expect("events");
    let reply = Reply::read(response).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|event| event["details"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_parallel_wrong_passwords_for_one_account_evaluate_only_the_account_limit() {
    let app = limited_app().await;
    let email = app.new_user().await;
    let (evaluated, refused) = burst(&app, &vec![email.clone(); 40]).await;
    assert_eq!(
        (evaluated, refused),
        (PER_ACCOUNT as usize, 40 - PER_ACCOUNT as usize),
        "passwords evaluated, attempts refused"
    );
    let reply = attempt(&app, &email, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "{reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_parallel_attempts_from_one_address_evaluate_only_the_address_limit() {
    let app = limited_app().await;
    // 20 accounts, 10 attempts each: every account limit allows its 10, the address limit 100.
    let mut emails = Vec::new();
    for _ in 0..20 {
        let email = app.new_user().await;
        emails.extend(std::iter::repeat_n(email, PER_ACCOUNT as usize));
    }
    let (evaluated, refused) = burst(&app, &emails).await;
    assert_eq!(
        (evaluated, refused),
        (PER_IP as usize, 200 - PER_IP as usize),
        "passwords evaluated, attempts refused"
    );
}

#[tokio::test]
async fn a_correct_password_clears_the_account_count_but_not_the_address_failures() {
    let app = TestApp::spawn_with(|config| {
        config.login_max_failures_per_account = 3;
        config.login_max_failures_per_ip = 5;
    })
    .await;
    let email = app.new_user().await;
    for _ in 0..2 {
        assert_eq!(
            attempt(&app, &email, "wrong password").await.error(),
            "invalid_credentials"
        );
    }
    assert_eq!(attempt(&app, &email, PASSWORD).await.status, StatusCode::OK);
    for _ in 0..2 {
        assert_eq!(
            attempt(&app, &email, "wrong password").await.error(),
            "invalid_credentials",
            "the account count started again"
        );
    }
    assert_eq!(
        attempt(&app, &email, PASSWORD).await.status,
        StatusCode::OK,
        "successes do not use up the address limit"
    );
    assert_eq!(
        attempt(&app, &email, "wrong password").await.error(),
        "invalid_credentials",
        "the fifth failure from this address is still evaluated"
    );
    assert_eq!(
        attempt(&app, &email, PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "five failures from this address use up its limit"
    );
}

#[tokio::test]
async fn failure_counts_survive_a_restart() {
    let app = TestApp::spawn_with(|config| {
        config.login_max_failures_per_account = 3;
        config.login_failure_window = Duration::from_secs(600);
        // These tests count reservations. A counter call past its deadline lets the attempt
        // through unthrottled (by design: an outage must not lock everyone out), which a busy
        // machine can cause and which is tested on its own; here it would only blur the count.
        config.redis_write_timeout = Duration::from_secs(10);
        config.database_timeout = Duration::from_secs(10);
    })
    .await;
    let email = app.new_user().await;
    for _ in 0..3 {
        attempt(&app, &email, "wrong password").await;
    }
    let app = app.restart().await;
    let reply = attempt(&app, &email, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "{reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_limit_hit_is_recorded_once_per_account_and_window_with_the_targeted_email() {
    let app = limited_app().await;
    let email = app.new_user().await;
    let typed = format!("  {}  ", email.to_uppercase());
    burst(&app, &vec![typed; 40]).await;
    let limited = events(&app, EventKind::LoginRateLimited).await;
    assert_eq!(limited.len(), 1, "{limited:?}");
    assert_eq!(limited[0]["email"], email.as_str(), "normalised as typed");
    assert_eq!(limited[0]["limit"], "account");
    assert_eq!(limited[0]["failures"], PER_ACCOUNT);
    assert!(limited[0]["retry_after_secs"]
        .as_u64()
        .is_some_and(|s| s > 0));
    let failed = events(&app, EventKind::LoginFailed).await;
    assert_eq!(failed.len(), PER_ACCOUNT as usize);
    assert!(failed
        .iter()
        .all(|details| details["email"] == email.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_address_spraying_accounts_is_recorded_once_per_window() {
    let app = limited_app().await;
    let emails: Vec<String> = (0..200).map(|n| format!("guess-{n}@example.com")).collect();
    burst(&app, &emails).await;
    let limited = events(&app, EventKind::LoginRateLimited).await;
    assert_eq!(limited.len(), 1, "{limited:?}");
    assert_eq!(limited[0]["limit"], "address");
    assert_eq!(limited[0]["failures"], PER_IP);
    assert!(limited[0]["email"]
        .as_str()
        .is_some_and(|email| email.starts_with("guess-")));
}
