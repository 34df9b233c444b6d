//! `/auth/verify` as each reverse proxy calls it: Traefik's `X-Forwarded-*`, nginx's
//! `X-Original-*`, Envoy's appended path; and the refusals that keep a client from steering
//! the policy.

use portcullis::config::RouteConfig;
use portcullis_tests::{Reply, TestApp};
use reqwest::{Method, StatusCode};

/// Extra request headers of a check.
type Headers = Vec<(&'static str, &'static str)>;

async fn app_with_admin_area() -> TestApp {
    TestApp::spawn_with(|config| {
        config.routes = vec![
            RouteConfig {
                prefix: "/api/admin".to_owned(),
                methods: vec!["DELETE".to_owned()],
                access: None,
                roles: Some(vec!["admin".to_owned()]),
            },
            RouteConfig {
                prefix: "/api".to_owned(),
                methods: vec!["GET".to_owned()],
                access: Some("public".to_owned()),
                roles: None,
            },
        ];
    })
    .await
}

async fn check(
    app: &TestApp,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    headers: &[(&str, &str)],
) -> Reply {
    let mut request = app.http().request(method, app.url(path));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    Reply::read(request.send().await.expect("verify request")).await
}

#[tokio::test]
async fn every_proxy_style_gets_the_same_decision() {
    let app = app_with_admin_area().await;
    let (_, _, token) = app.logged_in().await;
    let styles: [(Method, &str, Headers); 3] = [
        (
            Method::GET,
            "/auth/verify",
            vec![
                ("x-forwarded-method", "DELETE"),
                ("x-forwarded-uri", "/api/admin/users/7"),
            ],
        ),
        (
            Method::GET,
            "/auth/verify",
            vec![
                ("x-original-method", "DELETE"),
                ("x-original-uri", "/api/admin/users/7"),
            ],
        ),
        (Method::DELETE, "/auth/verify/api/admin/users/7", vec![]),
    ];
    for (method, path, headers) in styles {
        let reply = check(&app, method.clone(), path, Some(&token), &headers).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{path} {headers:?}");
        assert_eq!(reply.error(), "forbidden");
    }
    // A GET of the same area is public: allowed without a token, and without identity.
    let reply = check(
        &app,
        Method::GET,
        "/auth/verify/api/admin/users/7",
        None,
        &[],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.header("x-auth-user-id"), None);
}

#[tokio::test]
async fn an_unauthenticated_check_says_how_to_authenticate() {
    let app = app_with_admin_area().await;
    let headers = [
        ("x-forwarded-method", "POST"),
        ("x-forwarded-uri", "/api/orders"),
    ];
    let reply = check(&app, Method::GET, "/auth/verify", None, &headers).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.header("www-authenticate").is_some());
    assert_eq!(reply.error(), "invalid_token");
}

#[tokio::test]
async fn a_client_cannot_steer_the_policy_with_a_second_description() {
    let app = app_with_admin_area().await;
    let (_, _, token) = app.logged_in().await;
    // nginx sets X-Original-*, but would pass a client's own X-Forwarded-Uri through.
    let headers = [
        ("x-original-method", "DELETE"),
        ("x-original-uri", "/api/admin/users/7"),
        ("x-forwarded-method", "GET"),
        ("x-forwarded-uri", "/api/catalog"),
    ];
    let reply = check(&app, Method::GET, "/auth/verify", Some(&token), &headers).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");
    assert_eq!(reply.error(), "invalid_request");
}

#[tokio::test]
async fn ambiguous_original_paths_are_refused() {
    let app = app_with_admin_area().await;
    let (_, _, token) = app.logged_in().await;
    for uri in ["/api/admin%2fusers", "/api/%252e%252e/admin", "api/orders"] {
        let headers = [("x-original-method", "GET"), ("x-original-uri", uri)];
        let reply = check(&app, Method::GET, "/auth/verify", Some(&token), &headers).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{uri}: {reply:?}");
        assert_eq!(reply.error(), "invalid_path", "{uri}");
    }
    let half = [("x-original-uri", "/api/orders")];
    let reply = check(&app, Method::GET, "/auth/verify", Some(&token), &half).await;
    assert_eq!(reply.error(), "invalid_request", "a URI without its method");
}

/// Found by Schemathesis: a method no client could have sent (empty, or with characters an HTTP
/// method cannot have) was judged as if it were one, and a public route let it through.
#[tokio::test]
async fn an_original_method_that_is_no_http_method_is_refused() {
    let app = app_with_admin_area().await;
    for method in ["", ">", "LCt1/", "GET /api/admin"] {
        for (method_header, uri_header) in [
            ("x-forwarded-method", "x-forwarded-uri"),
            ("x-original-method", "x-original-uri"),
        ] {
            let headers = [(method_header, method), (uri_header, "/api/catalog")];
            let reply = check(&app, Method::GET, "/auth/verify", None, &headers).await;
            assert_eq!(
                reply.status,
                StatusCode::BAD_REQUEST,
                "{method:?}: {reply:?}"
            );
            assert_eq!(reply.error(), "invalid_request", "{method:?}");
        }
    }
    let headers = [
        ("x-forwarded-method", "GET"),
        ("x-forwarded-uri", "/api/catalog"),
    ];
    let reply = check(&app, Method::GET, "/auth/verify", None, &headers).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "a real method still passes: {reply:?}"
    );
}

#[tokio::test]
async fn a_plain_check_without_an_original_request_still_verifies_the_token() {
    let app = app_with_admin_area().await;
    let (_, _, token) = app.logged_in().await;
    let reply = app.verify(&token).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.header("x-auth-user-id").is_some());
    assert_eq!(
        app.get("/auth/verify", None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_spelling_variant_of_a_protected_prefix_is_refused_in_every_proxy_style() {
    let app = app_with_admin_area().await;
    let (_, _, token) = app.logged_in().await;
    for original in [
        "/API/admin/users/7",
        "/api/ADMIN/users/7",
        "/api/admin./users/7",
        "/api/admin%2e/users/7",
        "/api/admin%20/users/7",
        "/api/adm%C4%B1n/users/7",
    ] {
        let envoy = format!("/auth/verify{original}");
        let styles: [(&str, Headers); 3] = [
            (
                "/auth/verify",
                vec![
                    ("x-forwarded-method", "DELETE"),
                    ("x-forwarded-uri", original),
                ],
            ),
            (
                "/auth/verify",
                vec![
                    ("x-original-method", "DELETE"),
                    ("x-original-uri", original),
                ],
            ),
            (&envoy, vec![]),
        ];
        for (path, headers) in styles {
            let reply = check(&app, Method::DELETE, path, Some(&token), &headers).await;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path} {headers:?}");
            assert_eq!(reply.error(), "invalid_path", "{path} {headers:?}");
        }
    }
}

#[tokio::test]
async fn an_options_check_meets_the_route_policy_not_the_cors_layer() {
    // The test app allows one origin, so a CORS layer is active on the browser endpoints.
    let app = app_with_admin_area().await;
    let preflight = [
        ("origin", portcullis_tests::ALLOWED_ORIGIN),
        ("access-control-request-method", "DELETE"),
    ];
    let described: [(&str, Headers); 3] = [
        (
            "/auth/verify",
            vec![
                ("x-forwarded-method", "OPTIONS"),
                ("x-forwarded-uri", "/api/orders"),
            ],
        ),
        (
            "/auth/verify",
            vec![
                ("x-original-method", "OPTIONS"),
                ("x-original-uri", "/api/orders"),
            ],
        ),
        ("/auth/verify/api/orders", vec![]),
    ];
    for (path, mut headers) in described {
        headers.extend(preflight);
        let reply = check(&app, Method::OPTIONS, path, None, &headers).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path} {reply:?}");
        assert_eq!(reply.error(), "invalid_token");
        assert_eq!(reply.header("access-control-allow-origin"), None);
    }
    let (_, _, token) = app.logged_in().await;
    let reply = check(
        &app,
        Method::OPTIONS,
        "/auth/verify/api/orders",
        Some(&token),
        &preflight,
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "a valid token passes: {reply:?}"
    );
    assert!(reply.header("x-auth-user-id").is_some());
}

#[tokio::test]
async fn a_check_about_any_upgrade_but_websocket_is_refused() {
    let app = app_with_admin_area().await;
    let (_, _, token) = app.logged_in().await;
    let original = [
        ("x-forwarded-method", "GET"),
        ("x-forwarded-uri", "/api/orders"),
    ];
    for upgrade in ["h2c", "websocket, h2c", "TLS/1.2"] {
        let mut headers = original.to_vec();
        headers.push(("upgrade", upgrade));
        let reply = check(&app, Method::GET, "/auth/verify", Some(&token), &headers).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{upgrade}: {reply:?}"
        );
        assert_eq!(reply.error(), "invalid_request");
    }
    let mut websocket = original.to_vec();
    websocket.push(("upgrade", "websocket"));
    let reply = check(&app, Method::GET, "/auth/verify", Some(&token), &websocket).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
}
