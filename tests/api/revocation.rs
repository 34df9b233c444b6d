//! Logout, logout-all, session management, and revocations that survive a restart.

use portcullis_tests::{TestApp, PASSWORD};
use reqwest::{Method, StatusCode};
use std::time::Duration;

#[tokio::test]
async fn logout_revokes_the_family_denylists_the_token_and_clears_the_cookie() {
    let app = TestApp::spawn().await;
    let (mut browser, _, access) = app.logged_in().await;
    let old_cookie = browser.clone();
    let other = app
        .browser()
        .login(&app.new_user().await, PASSWORD)
        .await
        .access_token();
    let reply = browser.logout(Some(&access)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    reply.assert_refresh_cookie_cleared();
    assert_eq!(app.verify(&access).await.status, StatusCode::UNAUTHORIZED);
    let refresh = old_cookie
        .post_cookie_once("/auth/refresh", &[("x-csrf", "1")], None)
        .await;
    assert_eq!(refresh.error(), "session_revoked");
    assert_eq!(
        app.verify(&other).await.status,
        StatusCode::OK,
        "other users are untouched"
    );
}

#[tokio::test]
async fn logout_without_a_bearer_still_kills_the_sessions_access_tokens() {
    let app = TestApp::spawn().await;
    let (mut browser, _, access) = app.logged_in().await;
    assert_eq!(browser.logout(None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.verify(&access).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_is_idempotent_and_keeps_the_csrf_rules() {
    let app = TestApp::spawn().await;
    let mut stranger = app.browser();
    assert_eq!(stranger.logout(None).await.status, StatusCode::NO_CONTENT);
    let (mut browser, _, _) = app.logged_in().await;
    assert_eq!(
        browser.post_cookie("/auth/logout", &[], None).await.error(),
        "csrf_required"
    );
    let foreign = browser
        .post_cookie(
            "/auth/logout",
            &[("x-csrf", "1"), ("origin", "https://evil.example")],
            None,
        )
        .await;
    assert_eq!(foreign.error(), "origin_not_allowed");
    let again = browser.clone();
    assert_eq!(browser.logout(None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        again
            .post_cookie_once("/auth/logout", &[("x-csrf", "1")], None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn logout_all_kills_every_session_and_access_token_of_the_user() {
    let app = TestApp::spawn().await;
    let (mut laptop, email, laptop_access) = app.logged_in().await;
    let mut phone = app.browser();
    let phone_access = phone.login(&email, PASSWORD).await.access_token();
    let reply = app
        .send(Method::POST, "/auth/logout-all", Some(&phone_access))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    for token in [&laptop_access, &phone_access] {
        assert_eq!(app.verify(token).await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(laptop.refresh().await.error(), "session_revoked");
    assert_eq!(phone.refresh().await.error(), "session_revoked");
    // A new login works and its token is accepted (it carries the new token version).
    let fresh = app.browser().login(&email, PASSWORD).await.access_token();
    assert_eq!(app.verify(&fresh).await.status, StatusCode::OK);
}

#[tokio::test]
async fn logout_all_requires_a_valid_bearer_token() {
    let app = TestApp::spawn().await;
    let reply = app.send(Method::POST, "/auth/logout-all", None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.header("www-authenticate"),
        Some(r#"Bearer error="invalid_token""#)
    );
}

#[tokio::test]
async fn me_describes_the_caller() {
    let app = TestApp::spawn().await;
    let (_, email, access) = app.logged_in().await;
    let reply = app.get("/auth/me", Some(&access)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["email"], email.as_str());
    assert_eq!(reply.body["roles"], serde_json::json!([]));
    assert!(reply.body["user_id"].is_string() && reply.body["session_id"].is_string());
    assert_eq!(
        app.get("/auth/me", None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn sessions_lists_live_families_and_marks_the_current_one() {
    let app = TestApp::spawn().await;
    let (_, email, first) = app.logged_in().await;
    let mut second_browser = app.browser();
    let second = second_browser.login(&email, PASSWORD).await.access_token();
    let reply = app.get("/auth/sessions", Some(&second)).await;
    assert_eq!(reply.status, StatusCode::OK);
    let sessions = reply.body.as_array().expect("a list");
    assert_eq!(sessions.len(), 2);
    let current: Vec<_> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    let me = app.get("/auth/me", Some(&second)).await;
    assert_eq!(current[0]["id"], me.body["session_id"]);
    for session in sessions {
        for field in ["id", "created_at", "last_used_at", "user_agent", "ip"] {
            assert!(session[field].is_string(), "{field} in {session}");
        }
    }
    assert_eq!(sessions[0]["user_agent"], "test-browser/1.0");
    // Once logged out, a session is no longer listed.
    second_browser.logout(None).await;
    let after = app.get("/auth/sessions", Some(&first)).await;
    assert_eq!(after.body.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn deleting_ones_own_session_revokes_it_and_anyone_elses_is_not_found() {
    let app = TestApp::spawn().await;
    let (_, email, first) = app.logged_in().await;
    let mut second_browser = app.browser();
    let second = second_browser.login(&email, PASSWORD).await.access_token();
    let second_id = app.get("/auth/me", Some(&second)).await.body["session_id"]
        .as_str()
        .expect("sid")
        .to_owned();
    let (_, _, stranger) = app.logged_in().await;
    let path = format!("/auth/sessions/{second_id}");
    let foreign = app.send(Method::DELETE, &path, Some(&stranger)).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert_eq!(foreign.error(), "not_found");
    assert_eq!(
        app.verify(&second).await.status,
        StatusCode::OK,
        "a stranger cannot revoke it"
    );
    assert_eq!(
        app.send(Method::DELETE, &path, Some(&first)).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.verify(&second).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(second_browser.refresh().await.error(), "session_revoked");
    assert_eq!(
        app.verify(&first).await.status,
        StatusCode::OK,
        "the other session lives on"
    );
    let unknown = format!("/auth/sessions/{}", uuid::Uuid::new_v4());
    assert_eq!(
        app.send(Method::DELETE, &unknown, Some(&first))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.send(Method::DELETE, "/auth/sessions/not-a-uuid", Some(&first))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

/// Found by probing what the OpenAPI document promises ("every error is JSON"): a session id
/// that is not UTF-8 once percent-decoded got axum's plain-text 400.
#[tokio::test]
async fn a_session_id_that_is_not_text_is_a_json_400() {
    let app = TestApp::spawn().await;
    let (_, _, token) = app.logged_in().await;
    let reply = app
        .send(Method::DELETE, "/auth/sessions/%FF", Some(&token))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.error(), "invalid_request");
}

#[tokio::test]
async fn a_restart_never_un_revokes_anything() {
    let app = TestApp::spawn().await;
    let (mut logged_out, _, logged_out_access) = app.logged_in().await;
    let mut stale_cookie = logged_out.clone();
    logged_out.logout(Some(&logged_out_access)).await;
    let (_, _, everywhere_access) = app.logged_in().await;
    app.send(Method::POST, "/auth/logout-all", Some(&everywhere_access))
        .await;
    let (mut alive, _, alive_access) = app.logged_in().await;
    let app = app.restart().await;
    stale_cookie.retarget(&app);
    alive.retarget(&app);
    assert_eq!(
        app.verify(&logged_out_access).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.verify(&everywhere_access).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        stale_cookie
            .post_cookie_once("/auth/refresh", &[("x-csrf", "1")], None)
            .await
            .error(),
        "session_revoked"
    );
    assert_eq!(
        app.verify(&alive_access).await.status,
        StatusCode::OK,
        "and keeps what was valid"
    );
    assert_eq!(alive.refresh().await.status, StatusCode::OK);
}

#[tokio::test]
async fn access_tokens_expire_after_a_short_ttl() {
    // Two seconds, not one: `exp` is counted from a whole-second `iat`, so a token lives at least
    // one second, and the renewed token below must not expire between refresh and verify.
    let app = TestApp::spawn_with(|config| {
        config.access_ttl = Duration::from_secs(2);
        config.leeway = Duration::ZERO;
    })
    .await;
    let (mut browser, _, access) = app.logged_in().await;
    assert_eq!(app.verify(&access).await.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(3100)).await; // outlive exp (whole seconds)
    let reply = app.verify(&access).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body["message"], "the token has expired");
    let renewed = browser.refresh().await.access_token();
    assert_eq!(
        app.verify(&renewed).await.status,
        StatusCode::OK,
        "refresh still works"
    );
}
