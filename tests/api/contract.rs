//! The HTTP contract every client depends on: error shapes and statuses, headers, JWKS, health.

use portcullis_tests::{TestApp, PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn unknown_routes_answer_404_json() {
    let app = TestApp::spawn().await;
    let reply = app.get("/no/such/route", None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.error(), "not_found");
    assert!(reply.body["message"].is_string());
}

#[tokio::test]
async fn wrong_methods_answer_405_json() {
    let app = TestApp::spawn().await;
    for (method, path) in [
        (Method::GET, "/auth/login"),
        (Method::PUT, "/auth/me"),
        (Method::DELETE, "/healthz"),
    ] {
        let reply = app.send(method.clone(), path, None).await;
        assert_eq!(
            reply.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(reply.error(), "method_not_allowed");
    }
}

#[tokio::test]
async fn a_non_json_body_is_415() {
    let app = TestApp::spawn().await;
    let response = app
        .http()
        .post(app.url("/auth/register"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=a@example.com&password=12345678")
        .send()
        .await
        .expect("request");
    let reply = portcullis_tests::Reply::read(response).await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(reply.error(), "unsupported_media_type");
}

#[tokio::test]
async fn a_body_over_16_kib_is_413() {
    let app = TestApp::spawn().await;
    let big = "x".repeat(17 * 1024);
    let response = app
        .http()
        .post(app.url("/auth/login"))
        .json(&json!({ "email": "a@example.com", "password": big }))
        .send()
        .await
        .expect("request");
    let reply = portcullis_tests::Reply::read(response).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.error(), "payload_too_large");
}

#[tokio::test]
async fn malformed_or_incomplete_json_is_400_invalid_request() {
    let app = TestApp::spawn().await;
    for body in [
        "{not json",
        "[]",
        r#"{"email": "a@example.com"}"#,
        r#"{"email": 5, "password": "12345678"}"#,
    ] {
        let response = app
            .http()
            .post(app.url("/auth/login"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        let reply = portcullis_tests::Reply::read(response).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.error(), "invalid_request", "{body}");
    }
}

#[tokio::test]
async fn responses_carrying_tokens_are_not_cacheable() {
    let app = TestApp::spawn().await;
    let (mut browser, _, _) = app.logged_in().await;
    let email = app.new_user().await;
    let login = app.browser().login(&email, PASSWORD).await;
    let refresh = browser.refresh().await;
    for reply in [login, refresh] {
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    }
}

#[tokio::test]
async fn jwks_publishes_the_signing_key() {
    let app = TestApp::spawn().await;
    let reply = app.get("/.well-known/jwks.json", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let keys = reply.body["keys"].as_array().expect("keys array");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["alg"], "EdDSA");
    assert_eq!(keys[0]["use"], "sig");
    assert_eq!(keys[0]["kty"], "OKP");
    assert_eq!(keys[0]["kid"], app.gateway.signing_kid().as_str());
    assert!(
        keys[0].get("d").is_none(),
        "the private key must never be published"
    );
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/healthz", None).await.status, StatusCode::OK);
    assert_eq!(app.get("/readyz", None).await.status, StatusCode::OK);
}

#[cfg(unix)]
#[tokio::test]
async fn the_generated_key_encryption_key_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn().await;
    let kek_file = app.config.data_dir.join("kek");
    if app.config.key_encryption_key.is_some() {
        // The production tier takes its key from configuration and must not write one.
        assert!(!kek_file.exists(), "no key file when the key is configured");
        return;
    }
    let kek = std::fs::metadata(kek_file).expect("kek file");
    assert_eq!(kek.permissions().mode() & 0o777, 0o600);
    // The data directory existed before the start, so it keeps its mode: `file_modes` covers
    // directories created owner-only and existing ones left alone.
}
