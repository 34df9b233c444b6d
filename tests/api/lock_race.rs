//! Locking an account wins every race with login and refresh: once the admin call has returned,
//! no session opened before or during it refreshes and no access token issued before or during
//! it verifies, whatever was in flight.

use portcullis_tests::{Browser, Reply, TestApp, PASSWORD};
use reqwest::{Method, StatusCode};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tokio::sync::Notify;

const ROUNDS: usize = 20;
const CLIENTS: usize = 4;
/// Attempts each client still makes after the lock has returned, to catch late successes.
const ATTEMPTS_AFTER_LOCK: usize = 3;

/// What one round saw.
#[derive(Default, Debug)]
struct Leaks {
    /// Logins and refreshes sent after the lock returned that got a 200.
    successes_after_lock: usize,
    /// Access tokens (issued at any time in the round) that still verify after the lock.
    tokens_verifying: usize,
    /// Sessions (their last cookie) that still refresh after the lock.
    sessions_refreshing: usize,
}

/// Signals the admin once enough logins have landed, so the lock falls among busy clients.
struct Progress {
    logins: AtomicUsize,
    enough: Notify,
    locked: AtomicBool,
}

/// One client: log in, refresh, repeat, until it has made a few attempts after the lock.
async fn hammer(app: &TestApp, email: &str, progress: &Progress) -> (Vec<String>, Browser, usize) {
    let mut tokens = Vec::new();
    let mut browser = app.browser();
    let mut leaks = 0;
    let mut after_lock = 0;
    while after_lock < ATTEMPTS_AFTER_LOCK {
        for step in 0..2 {
            let sent_after_lock = progress.locked.load(Ordering::SeqCst);
            let reply: Reply = if step == 0 {
                browser = app.browser();
                browser.login(email, PASSWORD).await
            } else {
                browser.refresh().await
            };
            if reply.status == StatusCode::OK {
                tokens.push(reply.access_token());
                if step == 0 && progress.logins.fetch_add(1, Ordering::SeqCst) + 1 == CLIENTS {
                    progress.enough.notify_one();
                }
                if sent_after_lock {
                    leaks += 1;
                }
            }
            if sent_after_lock {
                after_lock += 1;
            }
        }
    }
    (tokens, browser, leaks)
}

async fn round(app: &TestApp, admin_key: &str) -> Leaks {
    let email = app.new_user().await;
    let progress = Progress {
        logins: AtomicUsize::new(0),
        enough: Notify::new(),
        locked: AtomicBool::new(false),
    };
    let lock = async {
        progress.enough.notified().await;
        let reply = Reply::read(
            app.http()
                .request(Method::POST, app.url(&format!("/admin/users/{email}/lock")))
                .bearer_auth(admin_key)
                .send()
                .await
                .expect("lock"),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        progress.locked.store(true, Ordering::SeqCst);
    };
    let clients = futures::future::join_all((0..CLIENTS).map(|_| hammer(app, &email, &progress)));
    let ((), results) = tokio::join!(lock, clients);
    let mut leaks = Leaks::default();
    for (tokens, mut browser, late) in results {
        leaks.successes_after_lock += late;
        for token in tokens {
            if app.verify(&token).await.status == StatusCode::OK {
                leaks.tokens_verifying += 1;
            }
        }
        if browser.cookie.is_some() && browser.refresh().await.status == StatusCode::OK {
            leaks.sessions_refreshing += 1;
        }
    }
    leaks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lock_that_has_returned_leaves_no_session_or_token_of_racing_logins_and_refreshes() {
    let app = TestApp::spawn().await;
    let admin_key = app
        .gateway
        .create_admin_key("ops-oncall", "test")
        .await
        .expect("admin key");
    let mut leaky_rounds = Vec::new();
    for number in 0..ROUNDS {
        let leaks = round(&app, &admin_key).await;
        if leaks.successes_after_lock + leaks.tokens_verifying + leaks.sessions_refreshing > 0 {
            leaky_rounds.push((number, leaks));
        }
    }
    assert!(
        leaky_rounds.is_empty(),
        "{} of {ROUNDS} rounds leaked: {leaky_rounds:?}",
        leaky_rounds.len()
    );
}
