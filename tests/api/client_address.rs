//! The client address behind a trusted proxy on a dual-stack listener (`[::]`), where IPv4
//! clients arrive as `::ffff:a.b.c.d`: what sessions record, what `last_ip_in` matches, and
//! what the built-in proxy reports upstream.

use portcullis::config::UpstreamConfig;
use portcullis_tests::{EchoUpstream, Reply, TestApp, PASSWORD};
use reqwest::StatusCode;
use serde_json::json;

/// A dual-stack gateway, reached at 127.0.0.1, trusting 127.0.0.1 as its reverse proxy.
async fn behind_loopback_proxy(adjust: impl FnOnce(&mut portcullis::Config)) -> TestApp {
    TestApp::spawn_with(|config| {
        config.listen = "[::]:0".to_owned();
        config.trusted_proxies = vec!["127.0.0.1".to_owned()];
        adjust(config);
    })
    .await
}

/// Logs a fresh user in with `forwarded_for` and returns the address its session records,
/// and its access token.
async fn login_forwarded_for(app: &TestApp, forwarded_for: &str) -> (String, String) {
    let email = app.new_user().await;
    let response = app
        .http()
        .post(app.url("/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .expect("login request");
    let login = Reply::read(response).await;
    assert_eq!(login.status, StatusCode::OK, "{login:?}");
    let token = login.access_token();
    let sessions = app.get("/auth/sessions", Some(&token)).await;
    let ip = sessions.body[0]["ip"]
        .as_str()
        .unwrap_or_else(|| panic!("no session address in {:?}", sessions.body))
        .to_owned();
    (ip, token)
}

#[tokio::test]
async fn a_junk_or_ported_forwarded_entry_still_records_the_real_client_and_range_revocation_finds_it(
) {
    let app = behind_loopback_proxy(|_| {}).await;
    let mut tokens = Vec::new();
    for forwarded_for in ["unknown, 203.0.113.9", "203.0.113.9:4711"] {
        let (ip, token) = login_forwarded_for(&app, forwarded_for).await;
        assert_eq!(ip, "203.0.113.9", "X-Forwarded-For: {forwarded_for}");
        tokens.push(token);
    }
    let key = app
        .gateway
        .create_admin_key("ops-oncall", "test")
        .await
        .expect("admin key");
    let response = app
        .http()
        .post(app.url("/admin/revocations"))
        .bearer_auth(&key)
        .json(&json!({ "last_ip_in": "203.0.113.0/24" }))
        .send()
        .await
        .expect("revocation request");
    let revoked = Reply::read(response).await;
    assert_eq!(revoked.status, StatusCode::OK, "{revoked:?}");
    assert_eq!(revoked.body["sessions"], 2, "{revoked:?}");
    for token in tokens {
        assert_eq!(app.verify(&token).await.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn a_direct_ipv4_client_of_a_dual_stack_listener_is_recorded_as_ipv4() {
    let app = TestApp::spawn_with(|config| config.listen = "[::]:0".to_owned()).await;
    let (ip, _) = login_forwarded_for(&app, "203.0.113.9").await;
    assert_eq!(ip, "127.0.0.1", "an untrusted peer's header is ignored");
}

#[tokio::test]
async fn the_built_in_proxy_on_a_dual_stack_listener_trusts_and_reports_the_ipv4_peer() {
    let upstream = EchoUpstream::start().await;
    let app = behind_loopback_proxy(|config| {
        config.upstreams = vec![UpstreamConfig {
            prefix: "/api".to_owned(),
            url: upstream.base(),
        }];
    })
    .await;
    let (_, _, token) = app.logged_in().await;
    let response = app
        .http()
        .get(app.url("/api/orders"))
        .bearer_auth(&token)
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .expect("request");
    let reply = Reply::read(response).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(
        reply.body["headers"]["x-forwarded-for"], "203.0.113.9, 127.0.0.1",
        "the trusted proxy's entry is kept and the peer appended in its IPv4 form"
    );
}
