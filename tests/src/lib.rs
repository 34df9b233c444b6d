//! The test harness of Portcullis: the real gateway over real HTTP, clients that behave like
//! browsers and reverse proxies, and stand-ins for the outside world (a fault-injecting TCP
//! proxy, throwaway servers) so fault tests never disturb the shared services.
//!
//! The storage tier comes from `TEST_TIER` (`embedded` by default), so the same scenarios run
//! against every tier without being copied.

pub mod app;
pub mod browser;
pub mod deploy_example;
pub mod fault_proxy;
pub mod nginx;
pub mod promtool;
pub mod raw_http;
pub mod replica;
pub mod reply;
pub mod switching_upstream;
pub mod throwaway_redis;
pub mod tier;
pub mod tls;
pub mod traefik;
pub mod upstream;

pub use app::TestApp;
pub use browser::Browser;
pub use nginx::Nginx;
pub use reply::Reply;
pub use traefik::Traefik;
pub use upstream::EchoUpstream;

pub const PASSWORD: &str = "correct horse battery";
pub const ALLOWED_ORIGIN: &str = "https://app.example";
pub const COOKIE_NAME: &str = "__Secure-portcullis-refresh";

/// A loopback port free a moment ago, for a server that must be told its port before it binds.
/// Another process may take it in between, so callers retry a failed start.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("free port")
        .port()
}

/// Waits, up to 10 seconds, until `check` holds; fails the test with `what` otherwise. For
/// effects that land asynchronously by design (a cache refill, another process's commit).
pub async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The `kid` in an access token's header.
pub fn kid_of(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().expect("a JWT has a header");
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .expect("base64url header");
    let header: serde_json::Value = serde_json::from_slice(&header).expect("JSON header");
    header["kid"].as_str().expect("a kid").to_owned()
}
