//! The built-in reverse proxy beyond the shared front-door scenarios: streaming, upstream
//! failures, forwarding headers, and the gateway's own routes staying its.

use portcullis::config::UpstreamConfig;
use portcullis_tests::{EchoUpstream, Reply, TestApp};
use reqwest::StatusCode;
use std::time::Duration;

async fn proxy_to(
    prefix: &str,
    url: String,
    adjust: impl FnOnce(&mut portcullis::Config),
) -> TestApp {
    let prefix = prefix.to_owned();
    TestApp::spawn_with(move |config| {
        config.upstreams = vec![UpstreamConfig { prefix, url }];
        adjust(config);
    })
    .await
}

#[tokio::test]
async fn large_bodies_stream_both_ways() {
    let upstream = EchoUpstream::start().await;
    let app = proxy_to("/api", upstream.base(), |_| {}).await;
    let (_, _, token) = app.logged_in().await;

    let upload = vec![b'u'; 8 * 1024 * 1024];
    let response = app
        .http()
        .post(app.url("/api/upload"))
        .bearer_auth(&token)
        .body(upload)
        .send()
        .await
        .expect("upload");
    let reply = Reply::read(response).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(
        reply.body["body_bytes"],
        8 * 1024 * 1024,
        "past the 16 KiB API limit"
    );

    let response = app
        .http()
        .get(app.url("/api/files/download?n=5000000"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("download");
    assert_eq!(response.status(), StatusCode::OK);
    let mut response = response;
    let mut received = 0usize;
    while let Some(chunk) = response.chunk().await.expect("chunk") {
        received += chunk.len();
    }
    assert_eq!(received, 5_000_000);
}

#[tokio::test]
async fn a_slow_upstream_is_a_504_and_a_dead_one_a_502() {
    let upstream = EchoUpstream::start().await;
    let app = proxy_to("/api", upstream.base(), |config| {
        config.upstream_timeout = Duration::from_millis(300);
    })
    .await;
    let (_, _, token) = app.logged_in().await;
    let reply = app.get("/api/reports/slow", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT, "{reply:?}");
    assert_eq!(reply.error(), "upstream_timeout");

    // A port that was free a moment ago: nothing listens there.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_url = format!("http://{}", dead.local_addr().expect("addr"));
    drop(dead);
    let app = app
        .sibling(|config| {
            config.upstreams = vec![UpstreamConfig {
                prefix: "/api".to_owned(),
                url: dead_url,
            }];
        })
        .await;
    let reply = app.get("/api/orders", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY, "{reply:?}");
    assert_eq!(reply.error(), "upstream_unavailable");
}

#[tokio::test]
async fn forwarding_headers_are_set_and_every_client_identity_header_stripped() {
    let upstream = EchoUpstream::start().await;
    let app = proxy_to("/api", upstream.base(), |_| {}).await;
    let (_, _, token) = app.logged_in().await;
    let response = app
        .http()
        .get(app.url("/api/orders"))
        .bearer_auth(&token)
        .header("x-forwarded-for", "6.6.6.6")
        .header("x-auth-admin", "true")
        .header("connection", "x-private")
        .header("x-private", "hop-by-hop")
        .send()
        .await
        .expect("request");
    let reply = Reply::read(response).await;
    let headers = &reply.body["headers"];
    assert_eq!(
        headers["x-forwarded-for"], "127.0.0.1",
        "the client's claim is dropped"
    );
    assert_eq!(headers["x-forwarded-proto"], "http");
    assert_eq!(headers["x-forwarded-host"], app.addr().to_string());
    assert!(headers.get("x-auth-admin").is_none(), "{headers}");
    assert!(headers.get("x-private").is_none(), "{headers}");
    assert_eq!(
        headers["authorization"],
        format!("Bearer {token}"),
        "the application may read the token itself"
    );
    assert_eq!(
        reply.header("cache-control"),
        None,
        "the application's responses keep their own caching headers"
    );
}

#[tokio::test]
async fn no_spelling_of_a_forwarding_or_routing_header_reaches_the_app_from_a_client() {
    let upstream = EchoUpstream::start().await;
    let app = proxy_to("/api", upstream.base(), |_| {}).await;
    let (_, _, token) = app.logged_in().await;
    let response = app
        .http()
        .get(app.url("/api/orders"))
        .bearer_auth(&token)
        .header("X_Forwarded_Host", "evil.example")
        .header("x.forwarded.for", "6.6.6.6")
        .header("X_Real_IP", "6.6.6.6")
        .header("True-Client-IP", "6.6.6.6")
        .header("X-Original-URL", "/api/admin")
        .header("X_Rewrite_URL", "/api/admin")
        .send()
        .await
        .expect("request");
    let reply = Reply::read(response).await;
    let headers = reply.body["headers"].as_object().expect("echoed headers");
    let mut names: Vec<&str> = headers.keys().map(String::as_str).collect();
    names.sort_unstable();
    for name in &names {
        let read_as = name.replace(['_', '.'], "-");
        assert!(
            !matches!(
                read_as.as_str(),
                "x-real-ip" | "true-client-ip" | "x-original-url" | "x-rewrite-url"
            ),
            "{name} reached the app: {names:?}"
        );
        assert!(
            !read_as.starts_with("x-forwarded-") || read_as == *name,
            "{name} reached the app: {names:?}"
        );
    }
    assert_eq!(headers["x-forwarded-host"], app.addr().to_string());
    assert_eq!(headers["x-forwarded-for"], "127.0.0.1");
}

#[tokio::test]
async fn a_trusted_proxys_chain_reaches_the_app_whole_in_every_line() {
    let upstream = EchoUpstream::start().await;
    let app = proxy_to("/api", upstream.base(), |config| {
        config.trusted_proxies = vec!["127.0.0.1".to_owned()];
    })
    .await;
    let (_, _, token) = app.logged_in().await;
    // HAProxy's `option forwardfor` appends a line of its own rather than extending one.
    let response = app
        .http()
        .get(app.url("/api/orders"))
        .bearer_auth(&token)
        .header("x-forwarded-for", "6.6.6.6")
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .expect("request");
    let reply = Reply::read(response).await;
    assert_eq!(
        reply.body["headers"]["x-forwarded-for"], "6.6.6.6, 203.0.113.9, 127.0.0.1",
        "{reply:?}"
    );
}

#[tokio::test]
async fn the_gateways_own_routes_are_never_shadowed() {
    let upstream = EchoUpstream::start().await;
    let app = proxy_to("/", upstream.base(), |_| {}).await;
    let (_, _, token) = app.logged_in().await;

    assert_eq!(app.get("/healthz", None).await.body["status"], "ok");
    assert_eq!(app.verify(&token).await.status, StatusCode::OK);
    for path in [
        "/auth/nothing-here",
        "/admin/nothing-here",
        "/.well-known/other",
    ] {
        let reply = app.get(path, Some(&token)).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}: {reply:?}");
        assert_eq!(reply.error(), "not_found");
        assert_eq!(reply.header("cache-control"), Some("no-store"));
    }
    assert_eq!(
        upstream.hits(),
        0,
        "nothing under the gateway's paths was proxied"
    );

    let reply = app.get("/index.html", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["uri"], "/index.html");
}

#[tokio::test]
async fn an_upstream_prefix_over_the_gateways_routes_is_refused_at_startup() {
    for prefix in ["/auth", "/admin/x", "/.well-known"] {
        let config = portcullis::Config {
            upstreams: vec![UpstreamConfig {
                prefix: prefix.to_owned(),
                url: "http://127.0.0.1:9".to_owned(),
            }],
            ..portcullis::Config::default()
        };
        let error = config.validate().expect_err(prefix).to_string();
        assert!(error.contains("shadow"), "{prefix}: {error}");
    }
}
