//! Login limits across replicas: attempts for one account and from one address, spread over two
//! replicas at once, are reserved in the one shared Redis, so together they evaluate no more
//! passwords than one gateway would.

use futures::future::join_all;
use portcullis_tests::replica::Replica;
use portcullis_tests::reply::login_burst_tally;
use portcullis_tests::tier::{TestStorage, Tier};
use portcullis_tests::{Reply, PASSWORD};
use reqwest::StatusCode;

const SETTINGS: [(&str, &str); 3] = [
    ("PORTCULLIS_LOGIN_MAX_FAILURES_PER_ACCOUNT", "10"),
    ("PORTCULLIS_LOGIN_MAX_FAILURES_PER_IP", "100"),
    ("PORTCULLIS_LOGIN_FAILURE_WINDOW", "10m"),
];

async fn post(http: &reqwest::Client, base: &str, path: &str, email: &str) -> Reply {
    let password = if path == "/auth/register" {
        PASSWORD
    } else {
        "wrong password"
    };
    let response = http
        .post(format!("{base}{path}"))
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("request");
    Reply::read(response).await
}

/// Every attempt at once, alternating between the replicas; returns (evaluated, refused).
async fn burst(replicas: &[&Replica], emails: &[String]) -> (usize, usize) {
    let http = reqwest::Client::new();
    let replies = join_all(emails.iter().enumerate().map(|(n, email)| {
        let base = &replicas[n % replicas.len()].base;
        post(&http, base, "/auth/login", email)
    }))
    .await;
    login_burst_tally(&replies)
}

async fn register(base: &str) -> String {
    let email = format!("user-{}@example.com", uuid::Uuid::new_v4().simple());
    let reply = post(&reqwest::Client::new(), base, "/auth/register", &email).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    email
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bursts_split_over_two_replicas_evaluate_no_more_than_the_limits() {
    let storage = TestStorage::create(Tier::Production).await;
    let a = Replica::start(&storage, &SETTINGS).await;
    let b = Replica::start(&storage, &SETTINGS).await;

    let email = register(&a.base).await;
    let (evaluated, refused) = burst(&[&a, &b], &vec![email; 40]).await;
    assert_eq!(
        (evaluated, refused),
        (10, 30),
        "one account, 40 attempts: passwords evaluated, attempts refused"
    );

    // 20 more accounts with 10 attempts each: every account limit allows its 10, and the
    // address's limit of 100, 10 of it used above, is what stops them.
    let mut emails = Vec::new();
    for _ in 0..20 {
        let email = register(&b.base).await;
        emails.extend(std::iter::repeat_n(email, 10));
    }
    let (evaluated, refused) = burst(&[&a, &b], &emails).await;
    assert_eq!(
        (evaluated, refused),
        (90, 110),
        "one address, 200 more attempts: passwords evaluated, attempts refused"
    );
}
