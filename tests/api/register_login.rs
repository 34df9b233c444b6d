//! Registration and login.

use portcullis::config::CookieSameSite;
use portcullis_tests::{TestApp, COOKIE_NAME, PASSWORD};
use reqwest::StatusCode;

#[tokio::test]
async fn register_returns_201_with_the_user_id() {
    let app = TestApp::spawn().await;
    let reply = app.register("  New.User@Example.COM ", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let user_id = reply.body["user_id"].as_str().expect("user_id");
    assert!(uuid::Uuid::parse_str(user_id).is_ok());
    // The email was trimmed and lower-cased: it logs in in its normal form.
    let login = app.browser().login("new.user@example.com", PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK);
}

#[tokio::test]
async fn register_refuses_invalid_emails() {
    let app = TestApp::spawn().await;
    for email in [
        "",
        "not-an-email",
        "a@b",
        "two@@example.com",
        "spa ce@example.com",
    ] {
        let reply = app.register(email, PASSWORD).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{email:?}");
        assert_eq!(reply.error(), "invalid_email", "{email:?}");
    }
}

#[tokio::test]
async fn register_refuses_passwords_outside_8_to_128_characters() {
    let app = TestApp::spawn().await;
    for password in ["short", "1234567", &"x".repeat(129)] {
        let reply = app.register("weak@example.com", password).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(reply.error(), "weak_password");
    }
    assert_eq!(
        app.register("ok8@example.com", "12345678").await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.register("ok128@example.com", &"y".repeat(128))
            .await
            .status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn register_refuses_a_taken_email_whatever_its_case() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.register("taken@example.com", PASSWORD).await.status,
        StatusCode::CREATED
    );
    let reply = app.register("TAKEN@example.com", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.error(), "email_taken");
}

#[tokio::test]
async fn register_is_refused_when_registration_is_disabled() {
    let app = TestApp::spawn_with(|config| config.registration = false).await;
    let reply = app.register("someone@example.com", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.error(), "registration_disabled");
}

#[tokio::test]
async fn login_returns_a_bearer_token_and_a_locked_down_refresh_cookie() {
    let app = TestApp::spawn().await;
    let email = app.new_user().await;
    let reply = app.browser().login(&email, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["expires_in"], 900);
    assert!(reply.body["access_token"]
        .as_str()
        .is_some_and(|t| t.split('.').count() == 3));
    let set_cookie = reply.refresh_set_cookie().expect("refresh cookie");
    let cookie = cookie::Cookie::parse(set_cookie).expect("parses");
    assert_eq!(cookie.name(), COOKIE_NAME);
    assert!(cookie.value().len() >= 43, "at least 256 bits of base64url");
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(cookie.same_site(), Some(cookie::SameSite::Strict));
    assert_eq!(cookie.path(), Some("/auth"));
    let max_age = cookie.max_age().expect("Max-Age").whole_seconds();
    assert!(
        (7 * 86_400 - 5..=7 * 86_400).contains(&max_age),
        "Max-Age {max_age}"
    );
}

#[tokio::test]
async fn the_cookie_samesite_attribute_is_configurable() {
    let app = TestApp::spawn_with(|config| config.cookie_samesite = CookieSameSite::Lax).await;
    let email = app.new_user().await;
    let reply = app.browser().login(&email, PASSWORD).await;
    assert!(reply
        .refresh_set_cookie()
        .expect("cookie")
        .contains("SameSite=Lax"));
}

#[tokio::test]
async fn wrong_password_and_unknown_email_are_indistinguishable() {
    let app = TestApp::spawn().await;
    let email = app.new_user().await;
    let wrong_password = app.browser().login(&email, "not the password").await;
    let unknown_email = app.browser().login("nobody@example.com", PASSWORD).await;
    let invalid_email = app.browser().login("not-an-email", PASSWORD).await;
    for reply in [&wrong_password, &unknown_email, &invalid_email] {
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.error(), "invalid_credentials");
        assert!(reply.refresh_set_cookie().is_none());
        assert!(reply.header("www-authenticate").is_some());
    }
    assert_eq!(
        wrong_password.body, unknown_email.body,
        "same message for both"
    );
}

#[tokio::test]
async fn failed_and_successful_logins_are_recorded_as_security_events() {
    let app = TestApp::spawn().await;
    let email = app.new_user().await;
    app.browser().login(&email, "wrong password!").await;
    app.browser().login(&email, PASSWORD).await;
    let events = app.gateway.recent_events(None, 10).await.expect("events");
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds[..2], ["login_succeeded", "login_failed"]);
    assert!(events[0].session_id.is_some());
    assert_eq!(
        events[0].client.user_agent.as_deref(),
        Some("test-browser/1.0")
    );
    assert_eq!(events[0].client.ip.as_deref(), Some("127.0.0.1"));
}

#[tokio::test]
async fn a_locked_account_cannot_log_in_and_loses_its_sessions() {
    let app = TestApp::spawn().await;
    let (mut browser, email, access) = app.logged_in().await;
    let user = app.gateway.find_user(&email).await.expect("user");
    app.gateway.lock_user(user.id, "test").await.expect("lock");
    let reply = app.browser().login(&email, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.error(), "account_locked");
    let wrong = app.browser().login(&email, "not the password").await;
    assert_eq!(
        wrong.error(),
        "invalid_credentials",
        "the lock is only revealed to the password's holder"
    );
    assert_eq!(app.verify(&access).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(browser.refresh().await.error(), "session_revoked");
    app.gateway
        .unlock_user(user.id, "test")
        .await
        .expect("unlock");
    assert_eq!(
        app.browser().login(&email, PASSWORD).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.verify(&access).await.status,
        StatusCode::UNAUTHORIZED,
        "unlocking resurrects nothing"
    );
}
