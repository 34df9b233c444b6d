//! Chosen security events leave the gateway as signed webhook deliveries.

use axum::body::Bytes;
use axum::http::HeaderMap;
use portcullis_tests::TestApp;
use portcullis_webhook::verify_signature;
use reqwest::StatusCode;
use std::time::Duration;
use tokio::sync::mpsc;

const SECRET: &str = "webhook secret for the tests";

/// A receiver on a free loopback port that hands every delivery to the test.
async fn receiver() -> (String, mpsc::UnboundedReceiver<(HeaderMap, Bytes)>) {
    let (deliveries, received) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let deliveries = deliveries.clone();
            async move {
                let _ = deliveries.send((headers, body));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

#[tokio::test]
async fn a_revoked_user_is_announced_to_the_webhook_with_a_valid_signature() {
    let (url, mut received) = receiver().await;
    let app = TestApp::spawn_with(|config| {
        config.webhook_url = Some(url);
        config.webhook_secret = Some(SECRET.into());
        config.webhook_kinds = vec!["user_revoked".into()];
    })
    .await;
    let (_, email, _) = app.logged_in().await; // login_succeeded: not a chosen kind
    let user = app.gateway.find_user(&email).await.expect("user");
    app.gateway
        .revoke_user(user.id, "ops-oncall")
        .await
        .expect("revoke");
    let (headers, body) = tokio::time::timeout(Duration::from_secs(10), received.recv())
        .await
        .expect("a delivery arrives")
        .expect("receiver open");
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        header("x-portcullis-event"),
        "user_revoked",
        "the first delivery is the chosen kind only"
    );
    assert!(verify_signature(
        SECRET.as_bytes(),
        &header("x-portcullis-timestamp"),
        &body,
        &header("x-portcullis-signature")
    ));
    assert!(!verify_signature(
        b"another secret",
        &header("x-portcullis-timestamp"),
        &body,
        &header("x-portcullis-signature")
    ));
    let event: serde_json::Value = serde_json::from_slice(&body).expect("json body");
    assert_eq!(event["kind"], "user_revoked");
    assert_eq!(event["user_id"], user.id.to_string());
    assert_eq!(event["actor"], "ops-oncall");
}
