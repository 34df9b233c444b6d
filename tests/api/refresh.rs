//! `POST /auth/refresh`: CSRF and origin defences, and the four rotation rules.

use portcullis_core::EventKind;
use portcullis_tests::{Browser, TestApp, ALLOWED_ORIGIN, PASSWORD};
use reqwest::StatusCode;
use std::time::Duration;

#[tokio::test]
async fn refresh_requires_the_csrf_header() {
    let app = TestApp::spawn().await;
    let (mut browser, _, _) = app.logged_in().await;
    for headers in [&[][..], &[("x-csrf", "0")][..]] {
        let reply = browser.post_cookie("/auth/refresh", headers, None).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        assert_eq!(reply.error(), "csrf_required");
    }
    assert!(
        browser.cookie.is_some(),
        "a refused request does not touch the cookie"
    );
}

#[tokio::test]
async fn refresh_refuses_foreign_null_and_cross_site_origins() {
    let app = TestApp::spawn().await;
    let (mut browser, _, _) = app.logged_in().await;
    let refused: [&[(&str, &str)]; 3] = [
        &[("x-csrf", "1"), ("origin", "https://evil.example")],
        &[("x-csrf", "1"), ("origin", "null")],
        &[("x-csrf", "1"), ("sec-fetch-site", "cross-site")],
    ];
    for headers in refused {
        let reply = browser.post_cookie("/auth/refresh", headers, None).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert_eq!(reply.error(), "origin_not_allowed", "{headers:?}");
    }
    let allowed = browser
        .post_cookie(
            "/auth/refresh",
            &[
                ("x-csrf", "1"),
                ("origin", ALLOWED_ORIGIN),
                ("sec-fetch-site", "same-site"),
            ],
            None,
        )
        .await;
    assert_eq!(allowed.status, StatusCode::OK);
}

#[tokio::test]
async fn a_page_served_by_the_gateway_itself_may_refresh_without_an_allowed_origins_entry() {
    let app = TestApp::spawn_with(|config| config.allowed_origins.clear()).await;
    let (mut browser, _, _) = app.logged_in().await;
    let own_origin = app.base.clone();
    let reply = browser
        .post_cookie(
            "/auth/refresh",
            &[
                ("x-csrf", "1"),
                ("origin", &own_origin),
                ("sec-fetch-site", "same-origin"),
            ],
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let foreign = browser
        .post_cookie(
            "/auth/refresh",
            &[("x-csrf", "1"), ("origin", "http://127.0.0.1:1")],
            None,
        )
        .await;
    assert_eq!(
        foreign.error(),
        "origin_not_allowed",
        "another port is another origin"
    );
}

#[tokio::test]
async fn refresh_without_a_cookie_is_401_missing_refresh_token() {
    let app = TestApp::spawn().await;
    let reply = app.browser().refresh().await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error(), "missing_refresh_token");
    reply.assert_refresh_cookie_cleared();
}

#[tokio::test]
async fn refresh_with_an_unknown_cookie_is_401_invalid_refresh_token() {
    let app = TestApp::spawn().await;
    let mut browser = app.browser();
    for junk in ["garbage", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        browser.cookie = Some(junk.to_owned());
        let reply = browser.refresh().await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.error(), "invalid_refresh_token");
        reply.assert_refresh_cookie_cleared();
    }
}

#[tokio::test]
async fn a_refresh_issues_exactly_one_successor_and_a_fresh_access_token() {
    let app = TestApp::spawn().await;
    let (mut browser, _, first_access) = app.logged_in().await;
    let first_cookie = browser.cookie.clone();
    let reply = browser.refresh().await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["token_type"], "Bearer");
    let second_access = reply.access_token();
    assert_ne!(browser.cookie, first_cookie, "the cookie rotated");
    assert_ne!(second_access, first_access);
    let me = app.get("/auth/me", Some(&second_access)).await;
    let first_me = app.get("/auth/me", Some(&first_access)).await;
    assert_eq!(
        me.body["session_id"], first_me.body["session_id"],
        "same family"
    );
    // The successor works in turn.
    assert_eq!(browser.refresh().await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_family_absolute_expiry_never_extends() {
    let app = TestApp::spawn_with(|config| {
        config.session_max_ttl = Duration::from_secs(3600);
        config.refresh_idle_ttl = Duration::from_secs(7 * 86_400);
    })
    .await;
    let (mut browser, _, _) = app.logged_in().await;
    let reply = browser.refresh().await;
    let cookie = cookie::Cookie::parse(reply.refresh_set_cookie().expect("cookie").to_owned())
        .expect("parses");
    let max_age = cookie.max_age().expect("Max-Age").whole_seconds();
    assert!(max_age <= 3600, "capped at the family's end, got {max_age}");
}

#[tokio::test]
async fn replaying_the_predecessor_within_the_grace_window_returns_the_same_successor() {
    let app = TestApp::spawn().await;
    let (mut browser, _, _) = app.logged_in().await;
    let stale = browser.clone();
    let first = browser.refresh().await;
    let replay = stale
        .post_cookie_once("/auth/refresh", &[("x-csrf", "1")], None)
        .await;
    assert_eq!(replay.status, StatusCode::OK, "{replay:?}");
    assert_eq!(
        replay.refresh_set_cookie().map(cookie_value),
        first.refresh_set_cookie().map(cookie_value)
    );
    assert_ne!(
        replay.access_token(),
        first.access_token(),
        "a fresh access token each time"
    );
    // The family is still one chain: the shared successor rotates normally.
    assert_eq!(browser.refresh().await.status, StatusCode::OK);
    let reused = app
        .gateway
        .recent_events(Some(EventKind::RefreshTokenReused), 10)
        .await
        .expect("events");
    assert!(reused.is_empty());
}

#[tokio::test]
async fn reuse_after_the_grace_window_revokes_the_family() {
    let app = TestApp::spawn_with(|config| config.reuse_grace = Duration::from_secs(1)).await;
    let (mut browser, _, first_access) = app.logged_in().await;
    let thief = browser.clone();
    let reply = browser.refresh().await;
    let legit_access = reply.access_token();
    tokio::time::sleep(Duration::from_millis(1100)).await; // let the grace window lapse
    let replay = thief
        .post_cookie_once("/auth/refresh", &[("x-csrf", "1")], None)
        .await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert_eq!(replay.error(), "refresh_token_reused");
    replay.assert_refresh_cookie_cleared();
    // The whole family is dead: the legitimate holder's newest cookie and every access token.
    let legit = browser.refresh().await;
    assert_eq!(legit.status, StatusCode::UNAUTHORIZED);
    assert_eq!(legit.error(), "session_revoked");
    for token in [&first_access, &legit_access] {
        assert_eq!(app.verify(token).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            app.get("/auth/me", Some(token)).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let events = app
        .gateway
        .recent_events(Some(EventKind::RefreshTokenReused), 10)
        .await
        .expect("events");
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert!(event.session_id.is_some() && event.user_id.is_some());
    assert_eq!(event.client.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(event.client.user_agent.as_deref(), Some("test-browser/1.0"));
    let details: serde_json::Value = serde_json::from_str(&event.details).expect("json details");
    assert_eq!(details["holder_ip"], "127.0.0.1");
}

#[tokio::test]
async fn replaying_an_older_token_revokes_the_family_even_within_the_window() {
    let app = TestApp::spawn().await;
    let (mut browser, _, _) = app.logged_in().await;
    let grandparent = browser.clone();
    assert_eq!(browser.refresh().await.status, StatusCode::OK);
    assert_eq!(browser.refresh().await.status, StatusCode::OK);
    let replay = grandparent
        .post_cookie_once("/auth/refresh", &[("x-csrf", "1")], None)
        .await;
    assert_eq!(replay.error(), "refresh_token_reused");
    assert_eq!(browser.refresh().await.error(), "session_revoked");
}

#[tokio::test]
async fn a_zero_grace_window_treats_any_replay_as_reuse() {
    let app = TestApp::spawn_with(|config| config.reuse_grace = Duration::ZERO).await;
    let (mut browser, _, _) = app.logged_in().await;
    let stale = browser.clone();
    assert_eq!(browser.refresh().await.status, StatusCode::OK);
    let replay = stale
        .post_cookie_once("/auth/refresh", &[("x-csrf", "1")], None)
        .await;
    assert_eq!(replay.error(), "refresh_token_reused");
}

#[tokio::test]
async fn fifty_concurrent_refreshes_of_one_token_yield_one_live_successor() {
    let app = TestApp::spawn().await;
    let (browser, _, access) = app.logged_in().await;
    let replies = futures::future::join_all(
        (0..50).map(|_| browser.post_cookie_once("/auth/refresh", &[("x-csrf", "1")], None)),
    )
    .await;
    let successors: std::collections::HashSet<_> = replies
        .iter()
        .map(|reply| {
            assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
            reply
                .refresh_set_cookie()
                .map(cookie_value)
                .expect("successor cookie")
        })
        .collect();
    assert_eq!(successors.len(), 1, "every tab got the same successor");
    let sessions = app.get("/auth/sessions", Some(&access)).await;
    assert_eq!(sessions.body.as_array().map(Vec::len), Some(1));
    let mut next = browser.clone();
    next.cookie = successors.into_iter().next();
    assert_eq!(next.refresh().await.status, StatusCode::OK);
}

#[tokio::test]
async fn fifty_concurrent_refreshes_without_grace_never_fork_the_family() {
    let app = TestApp::spawn_with(|config| config.reuse_grace = Duration::ZERO).await;
    let (browser, _, _) = app.logged_in().await;
    let replies = futures::future::join_all(
        (0..50).map(|_| browser.post_cookie_once("/auth/refresh", &[("x-csrf", "1")], None)),
    )
    .await;
    let winners: Vec<_> = replies
        .iter()
        .filter(|reply| reply.status == StatusCode::OK)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one rotation wins");
    let losers: Vec<_> = replies
        .iter()
        .filter(|r| r.status != StatusCode::OK)
        .collect();
    assert!(losers
        .iter()
        .all(|r| ["refresh_token_reused", "session_revoked"].contains(&r.error())));
    assert!(losers.iter().any(|r| r.error() == "refresh_token_reused"));
    // The losers' presentations were reuse, so the family — including the winner's successor — is dead.
    let mut winner = browser.clone();
    winner.cookie = winners[0].refresh_set_cookie().map(cookie_value);
    assert_eq!(winner.refresh().await.error(), "session_revoked");
}

#[tokio::test]
async fn an_idle_refresh_token_expires() {
    let app = TestApp::spawn_with(|config| config.refresh_idle_ttl = Duration::from_secs(1)).await;
    let email = app.new_user().await;
    let mut browser: Browser = app.browser();
    assert_eq!(browser.login(&email, PASSWORD).await.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1100)).await; // outlive the idle lifetime
    let reply = browser.refresh().await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error(), "invalid_refresh_token");
}

fn cookie_value(set_cookie: &str) -> String {
    cookie::Cookie::parse(set_cookie.to_owned())
        .expect("cookie")
        .value()
        .to_owned()
}
