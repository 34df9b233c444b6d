//! Tests of the proxy's upstream table: what a prefix may cover, and which upstream a path goes to.

use super::*;

#[test]
fn upstreams_cannot_shadow_the_gateway() {
    for prefix in ["/auth", "/auth/x", "/admin", "/.well-known", "/healthz"] {
        assert!(
            Upstream::new(prefix, "http://127.0.0.1:9000").is_err(),
            "{prefix}"
        );
    }
    for prefix in ["/", "/api", "/authors", "/app/"] {
        assert!(
            Upstream::new(prefix, "http://127.0.0.1:9000").is_ok(),
            "{prefix}"
        );
    }
    for url in [
        "https://x",
        "ftp://x",
        "http://x/?q=1",
        "/relative",
        "nonsense url",
    ] {
        assert!(Upstream::new("/api", url).is_err(), "{url}");
    }
}

#[test]
fn a_refused_upstream_says_why_in_the_words_it_always_used() {
    let message = |prefix: &str, url: &str| match Upstream::new(prefix, url) {
        Err(error) => error.to_string(),
        Ok(_) => panic!("{prefix} {url} was accepted"),
    };
    assert_eq!(
        message("/auth", "http://127.0.0.1:9"),
        "upstream prefix \"/auth\" would shadow the gateway's own routes \
         (/auth, /.well-known, /admin, /healthz, /readyz)"
    );
    assert_eq!(
        message("api", "http://127.0.0.1:9"),
        "upstream prefix \"api\" must be a plain absolute path"
    );
    assert_eq!(
        message("/api", "nonsense url"),
        "upstream url \"nonsense url\" is not a URL"
    );
    assert_eq!(
        message("/api", "https://x"),
        "upstream url \"https://x\" must be http://host:port with an optional path"
    );
}

#[test]
fn the_longest_prefix_wins_and_the_judged_path_is_forwarded() {
    let proxy = Proxy::new(
        vec![
            Upstream::new("/", "http://127.0.0.1:1").expect("upstream"),
            Upstream::new("/api", "http://127.0.0.1:2/v1/").expect("upstream"),
        ],
        Duration::from_secs(1),
    );
    let path = RequestPath::parse("/api/x/../orders").expect("path");
    let upstream = proxy
        .route(&path)
        .expect("no spelling variant")
        .expect("an upstream");
    assert_eq!(
        upstream.target(&path, Some("a=1")).map(|u| u.to_string()),
        Some("http://127.0.0.1:2/v1/api/orders?a=1".to_owned())
    );
    let other = RequestPath::parse("/index.html").expect("path");
    assert_eq!(
        proxy
            .route(&other)
            .expect("no spelling variant")
            .map(|u| u.base.to_string()),
        Some("http://127.0.0.1:1/".to_owned())
    );
}
