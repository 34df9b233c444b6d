//! A password change wins every race: once an admin's reset or the owner's change has returned,
//! no session opened with the old password before or during it refreshes and no access token
//! of one verifies; and an owner's change in flight cannot undo an admin's reset.

use portcullis_tests::{Browser, Reply, TestApp, PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};

const ROUNDS: usize = 8;
const CLIENTS: usize = 3;
/// Logins each client still sends after the change has returned.
const ATTEMPTS_AFTER: usize = 2;
const NEW_PASSWORD: &str = "the password after the change";

async fn admin_key(app: &TestApp) -> String {
    app.gateway
        .create_admin_key("race", "test")
        .await
        .expect("admin key")
}

async fn admin_reset(app: &TestApp, key: &str, email: &str, password: &str) -> Reply {
    let request = app
        .http()
        .request(
            Method::PUT,
            app.url(&format!("/admin/users/{email}/password")),
        )
        .bearer_auth(key)
        .json(&json!({ "password": password }));
    Reply::read(request.send().await.expect("reset")).await
}

async fn owner_change(app: &TestApp, token: &str, current: &str, new: &str) -> Reply {
    let request = app
        .http()
        .post(app.url("/auth/password"))
        .bearer_auth(token)
        .header("x-csrf", "1")
        .json(&json!({ "current_password": current, "new_password": new }));
    Reply::read(request.send().await.expect("change")).await
}

/// Logs in with the old password again and again until it has tried a few times after the
/// change returned; the sessions it got, each with its access token.
async fn log_in_repeatedly(
    app: &TestApp,
    email: &str,
    changed: &AtomicBool,
) -> Vec<(Browser, String)> {
    let mut sessions = Vec::new();
    let mut after = 0;
    while after < ATTEMPTS_AFTER {
        let sent_after = changed.load(Ordering::SeqCst);
        let mut browser = app.browser();
        let reply = browser.login(email, PASSWORD).await;
        if reply.status == StatusCode::OK {
            let token = reply.access_token();
            sessions.push((browser, token));
        }
        if sent_after {
            after += 1;
        }
    }
    sessions
}

#[tokio::test]
async fn no_session_opened_with_the_old_password_outlives_a_change() {
    let app = TestApp::spawn().await;
    let key = admin_key(&app).await;
    let mut survivors = Vec::new();
    for round in 0..ROUNDS {
        let (_, email, owner_token) = app.logged_in().await;
        let changed = AtomicBool::new(false);
        let by_owner = round % 2 == 0;
        let change = async {
            let reply = if by_owner {
                owner_change(&app, &owner_token, PASSWORD, NEW_PASSWORD).await
            } else {
                admin_reset(&app, &key, &email, NEW_PASSWORD).await
            };
            changed.store(true, Ordering::SeqCst);
            reply
        };
        let clients = futures::future::join_all(
            (0..CLIENTS).map(|_| log_in_repeatedly(&app, &email, &changed)),
        );
        let (reply, sessions) = tokio::join!(change, clients);
        assert_eq!(reply.status, StatusCode::OK, "round {round}: {reply:?}");
        for (mut browser, token) in sessions.into_iter().flatten() {
            let refreshed = browser.refresh().await.status;
            let verified = app.verify(&token).await.status;
            if refreshed != StatusCode::UNAUTHORIZED || verified != StatusCode::UNAUTHORIZED {
                survivors.push((round, by_owner, refreshed, verified));
            }
        }
    }
    assert!(
        survivors.is_empty(),
        "sessions opened with the old password outlived the change (round, by owner, refresh, \
         verify): {survivors:?}"
    );
}

#[tokio::test]
async fn an_owner_change_in_flight_cannot_undo_an_admin_reset() {
    let app = TestApp::spawn().await;
    let key = admin_key(&app).await;
    let mut undone = Vec::new();
    for round in 0..ROUNDS {
        let (_, email, owner_token) = app.logged_in().await;
        let (admin, owner) = tokio::join!(
            admin_reset(&app, &key, &email, "the administrator's choice"),
            owner_change(&app, &owner_token, PASSWORD, NEW_PASSWORD),
        );
        assert_eq!(admin.status, StatusCode::OK, "round {round}: {admin:?}");
        // Whichever came first, the reset is the password now; the owner's change either
        // landed before it or was refused.
        let login = app
            .browser()
            .login(&email, "the administrator's choice")
            .await;
        if login.status != StatusCode::OK {
            undone.push((round, owner.status, owner.error().to_owned()));
        }
    }
    assert!(
        undone.is_empty(),
        "an owner's change undid the admin's reset (round, owner status, error): {undone:?}"
    );
}
