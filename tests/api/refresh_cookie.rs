//! Which refresh cookie the gateway reads when a request carries several of that name (an
//! empty one left behind, or one planted from a sibling subdomain), and the `__Host-` prefix.

use portcullis_tests::{Reply, TestApp, COOKIE_NAME, PASSWORD};
use reqwest::header::SET_COOKIE;
use reqwest::StatusCode;
use serde_json::json;

/// `POST path` with `X-CSRF: 1` and exactly these `Cookie` header lines.
async fn post_with_cookies(app: &TestApp, path: &str, cookie_lines: &[&str]) -> Reply {
    let mut request = app
        .http()
        .post(app.url(path))
        .header("x-csrf", "1")
        .header("user-agent", "test-browser/1.0");
    for line in cookie_lines {
        request = request.header("cookie", *line);
    }
    Reply::read(request.send().await.expect("request")).await
}

fn assert_refused_untouched(reply: &Reply, what: &str) {
    assert_eq!(
        (reply.status, reply.error()),
        (StatusCode::BAD_REQUEST, "invalid_request"),
        "{what}: {reply:?}"
    );
    assert!(
        reply.headers.get(SET_COOKIE).is_none(),
        "{what}: an ambiguous request sets or clears no cookie: {reply:?}"
    );
}

#[tokio::test]
async fn an_empty_refresh_cookie_never_hides_the_real_one() {
    let app = TestApp::spawn().await;
    let (mut browser, _, _) = app.logged_in().await;
    for lines in [
        vec!["{N}=; {N}={V}"],
        vec!["a=1; {N}={V}; {N}="],
        vec!["{N}=", "{N}={V}"],
    ] {
        let valid = browser.cookie.clone().expect("logged in");
        let lines: Vec<String> = lines
            .iter()
            .map(|line| line.replace("{N}", COOKIE_NAME).replace("{V}", &valid))
            .collect();
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let reply = post_with_cookies(&app, "/auth/refresh", &lines).await;
        assert_eq!(reply.status, StatusCode::OK, "{lines:?}: {reply:?}");
        // Keep the browser in step with the rotation the request above caused.
        let rotated = reply.refresh_set_cookie().expect("rotated cookie");
        let rotated = cookie::Cookie::parse(rotated.to_owned()).expect("Set-Cookie");
        browser.cookie = Some(rotated.value().to_owned());
    }
    assert_eq!(browser.refresh().await.status, StatusCode::OK);
}

#[tokio::test]
async fn two_refresh_cookies_are_refused_and_nothing_is_revoked_or_cleared() {
    let app = TestApp::spawn().await;
    let (mut victim, _, victim_access) = app.logged_in().await;
    let (attacker, _, attacker_access) = app.logged_in().await;
    let (mut other_session, _, _) = app.logged_in().await;
    let victim_cookie = victim.cookie.clone().expect("victim cookie");
    let attacker_cookie = attacker.cookie.clone().expect("attacker cookie");
    let other_cookie = other_session.cookie.clone().expect("other cookie");
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "a planted junk cookie first",
            vec![format!(
                "{COOKIE_NAME}=planted; {COOKIE_NAME}={victim_cookie}"
            )],
        ),
        (
            "the attacker's own valid session first",
            vec![format!(
                "{COOKIE_NAME}={attacker_cookie}; {COOKIE_NAME}={victim_cookie}"
            )],
        ),
        (
            "two valid sessions",
            vec![format!(
                "{COOKIE_NAME}={victim_cookie}; {COOKIE_NAME}={other_cookie}"
            )],
        ),
        (
            "two header lines",
            vec![
                format!("{COOKIE_NAME}={victim_cookie}"),
                format!("b=2; {COOKIE_NAME}={attacker_cookie}"),
            ],
        ),
    ];
    for (what, lines) in &cases {
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        for path in ["/auth/refresh", "/auth/logout"] {
            let reply = post_with_cookies(&app, path, &lines).await;
            assert_refused_untouched(&reply, &format!("{path}, {what}"));
        }
    }
    for access in [&victim_access, &attacker_access] {
        assert_eq!(
            app.verify(access).await.status,
            StatusCode::OK,
            "no session was logged out"
        );
    }
    for browser in [&mut victim, &mut other_session] {
        let reply = browser.refresh().await;
        assert_eq!(reply.status, StatusCode::OK, "nothing revoked: {reply:?}");
    }
}

#[tokio::test]
async fn with_the_host_prefix_the_cookie_is_host_only_on_every_path_and_refresh_works() {
    let app = TestApp::spawn_with(|config| config.cookie_prefix_host = true).await;
    let email = app.new_user().await;
    let response = app
        .http()
        .post(app.url("/auth/login"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .expect("login request");
    let login = Reply::read(response).await;
    assert_eq!(login.status, StatusCode::OK, "{login:?}");
    let host_name = "__Host-portcullis-refresh";
    let set_cookie = |reply: &Reply| -> String {
        reply
            .headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find(|value| value.starts_with(&format!("{host_name}=")))
            .unwrap_or_else(|| panic!("no {host_name} cookie in {reply:?}"))
            .to_owned()
    };
    let text = set_cookie(&login);
    let parsed = cookie::Cookie::parse(text.clone()).expect("Set-Cookie");
    assert_eq!(parsed.path(), Some("/"), "{text}");
    assert_eq!(parsed.domain(), None, "{text}");
    assert_eq!(parsed.secure(), Some(true), "{text}");
    assert_eq!(parsed.http_only(), Some(true), "{text}");

    let cookie_line = format!("{host_name}={}", parsed.value());
    let refreshed = post_with_cookies(&app, "/auth/refresh", &[&cookie_line]).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{refreshed:?}");
    let rotated = set_cookie(&refreshed);
    assert!(
        rotated.contains("Path=/;") || rotated.ends_with("Path=/"),
        "{rotated}"
    );

    let old_name = format!("{COOKIE_NAME}={}", parsed.value());
    let unprefixed = post_with_cookies(&app, "/auth/refresh", &[&old_name]).await;
    assert_eq!(
        unprefixed.error(),
        "missing_refresh_token",
        "only the __Host- cookie is read"
    );
    let cleared = set_cookie(&unprefixed);
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(cleared.contains("Path=/"), "{cleared}");
}

#[tokio::test]
async fn the_built_in_proxy_never_passes_the_refresh_cookie_to_an_application() {
    let upstream = portcullis_tests::EchoUpstream::start().await;
    let url = upstream.base();
    let app = TestApp::spawn_with(|config| {
        config.cookie_prefix_host = true;
        config.upstreams = vec![portcullis::config::UpstreamConfig {
            prefix: "/app".to_owned(),
            url,
        }];
    })
    .await;
    let (_, _, token) = app.logged_in().await;
    let host_name = "__Host-portcullis-refresh";
    for (lines, expected) in [
        (vec![format!("{host_name}=secret")], None),
        (
            vec![format!("theme=dark; {host_name}=secret; lang=en")],
            Some("theme=dark; lang=en"),
        ),
        (
            vec!["theme=dark".to_owned(), format!("{host_name}=secret")],
            Some("theme=dark"),
        ),
    ] {
        let mut request = app.http().get(app.url("/app/page")).bearer_auth(&token);
        for line in &lines {
            request = request.header("cookie", line);
        }
        let reply = Reply::read(request.send().await.expect("proxied request")).await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        assert_eq!(
            reply.body["headers"]["cookie"].as_str(),
            expected,
            "{lines:?}"
        );
    }
}
