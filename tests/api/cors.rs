//! CORS on the browser-facing `/auth/*` routes: the allowed origins only, with credentials,
//! never a wildcard; nothing for other origins or for the admin API.

use portcullis_tests::{Reply, TestApp, ALLOWED_ORIGIN};
use reqwest::{Method, StatusCode};

async fn preflight(app: &TestApp, path: &str, origin: &str, method: &str) -> Reply {
    let response = app
        .http()
        .request(Method::OPTIONS, app.url(path))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header(
            "access-control-request-headers",
            "content-type, x-csrf, authorization",
        )
        .send()
        .await
        .expect("preflight");
    Reply::read(response).await
}

#[tokio::test]
async fn an_allowed_origin_gets_a_credentialed_preflight_answer() {
    let app = TestApp::spawn().await;
    let reply = preflight(&app, "/auth/refresh", ALLOWED_ORIGIN, "POST").await;
    assert!(reply.status.is_success(), "{reply:?}");
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some(ALLOWED_ORIGIN)
    );
    assert_eq!(
        reply.header("access-control-allow-credentials"),
        Some("true")
    );
    let methods = reply
        .header("access-control-allow-methods")
        .unwrap_or_default();
    assert!(methods.contains("POST"), "{methods}");
    let allowed = reply
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    for header in ["content-type", "x-csrf", "authorization"] {
        assert!(allowed.contains(header), "{allowed} lacks {header}");
    }
    assert!(reply
        .header("vary")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .contains("origin"));
}

#[tokio::test]
async fn other_origins_get_no_cors_grant() {
    let app = TestApp::spawn().await;
    for origin in [
        "https://evil.example",
        "null",
        "https://app.example.evil.example",
    ] {
        let reply = preflight(&app, "/auth/refresh", origin, "POST").await;
        assert_eq!(
            reply.header("access-control-allow-origin"),
            None,
            "{origin} was granted"
        );
    }
}

#[tokio::test]
async fn an_allowed_origin_can_read_a_login_answer_and_no_wildcard_is_ever_sent() {
    let app = TestApp::spawn().await;
    let email = app.new_user().await;
    let response = app
        .http()
        .post(app.url("/auth/login"))
        .header("origin", ALLOWED_ORIGIN)
        .json(&serde_json::json!({ "email": email, "password": portcullis_tests::PASSWORD }))
        .send()
        .await
        .expect("login");
    let reply = Reply::read(response).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some(ALLOWED_ORIGIN)
    );
    assert_eq!(
        reply.header("access-control-allow-credentials"),
        Some("true")
    );

    let anonymous = app.get("/auth/me", None).await;
    assert_ne!(anonymous.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn the_admin_api_is_not_open_to_browsers() {
    let app = TestApp::spawn().await;
    let reply = preflight(&app, "/admin/events", ALLOWED_ORIGIN, "GET").await;
    assert_eq!(
        reply.header("access-control-allow-origin"),
        None,
        "{reply:?}"
    );
}

#[tokio::test]
async fn without_allowed_origins_no_origin_is_granted() {
    let app = TestApp::spawn_with(|config| config.allowed_origins.clear()).await;
    let reply = preflight(&app, "/auth/refresh", ALLOWED_ORIGIN, "POST").await;
    assert_eq!(reply.header("access-control-allow-origin"), None);
}
