//! `/demo/`: the development-mode demo app and its protected echo endpoint.

use portcullis_tests::TestApp;
use reqwest::StatusCode;

#[tokio::test]
async fn the_demo_is_served_only_in_development_mode() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/demo/", None).await.status, StatusCode::NOT_FOUND);

    let demo = app.sibling(|config| config.demo = true).await;
    let page = demo
        .http()
        .get(demo.url("/demo/"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(page.text().await.expect("html").contains("Portcullis demo"));
    for (path, kind) in [
        ("/demo/demo.js", "text/javascript"),
        ("/demo/portcullis.js", "text/javascript"),
        ("/demo/demo.css", "text/css"),
        ("/demo/favicon.svg", "image/svg+xml"),
    ] {
        let reply = demo.get(path, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert!(
            reply
                .header("content-type")
                .unwrap_or_default()
                .starts_with(kind),
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_demo_echo_is_checked_like_any_protected_api() {
    let app = TestApp::spawn_with(|config| config.demo = true).await;
    assert_eq!(
        app.get("/demo/api/echo", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let (_, email, token) = app.logged_in().await;
    let reply = app.get("/demo/api/echo", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(
        reply.body["identity_headers"]["x-auth-email"],
        email.as_str()
    );
    assert_eq!(reply.body["path"], "/demo/api/echo");
}
