//! Retention: the pass deletes what can no longer change a decision, on the tier `TEST_TIER`
//! selects, and keeps everything else. Rows are counted straight from the test's own database.

use portcullis_core::EventKind;
use portcullis_tests::tier::{tier, Tier};
use portcullis_tests::{eventually, Browser, TestApp, PASSWORD};
use reqwest::StatusCode;
use sqlx::Connection;
use std::time::Duration;
use time::OffsetDateTime;

const DAY: Duration = Duration::from_secs(86_400);

/// Rows in `table` of this app's database (a test-only query, outside the gateway).
async fn count(app: &TestApp, table: &str) -> i64 {
    let sql = format!("SELECT count(*) FROM {table}");
    let storage = app.storage();
    match &storage.database {
        Some(database) => {
            let mut conn = sqlx::PgConnection::connect(&database.url)
                .await
                .expect("test database");
            sqlx::query_scalar(&sql)
                .fetch_one(&mut conn)
                .await
                .expect("count")
        }
        None => {
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(storage.data.path().join("portcullis.db"))
                .read_only(true);
            let mut conn = sqlx::SqliteConnection::connect_with(&options)
                .await
                .expect("test database");
            sqlx::query_scalar(&sql)
                .fetch_one(&mut conn)
                .await
                .expect("count")
        }
    }
}

async fn pass(app: &TestApp, now: OffsetDateTime) -> portcullis_core::retention::Purged {
    app.gateway
        .run_retention_once(now)
        .await
        .expect("retention pass")
        .expect("no other replica holds the retention lock")
}

/// A browser holding `cookie` (to present an old refresh token again).
fn replaying(app: &TestApp, cookie: &Option<String>) -> Browser {
    let mut browser = app.browser();
    browser.cookie = cookie.clone();
    browser
}

#[tokio::test]
async fn a_revoked_familys_replayed_token_is_still_refused_after_retention_within_the_listed_30_days(
) {
    let app = TestApp::spawn_with(|config| config.reuse_grace = Duration::ZERO).await;
    let (mut browser, email, _) = app.logged_in().await;
    let first = browser.cookie.clone();
    assert_eq!(browser.refresh().await.status, StatusCode::OK);
    let second = browser.cookie.clone();
    let reuse = replaying(&app, &first).refresh().await;
    assert_eq!(reuse.error(), "refresh_token_reused", "{reuse:?}");
    let mut answers_before = Vec::new();
    for cookie in [&first, &second] {
        answers_before.push(replaying(&app, cookie).refresh().await.error().to_owned());
    }
    assert_eq!(answers_before, ["session_revoked", "session_revoked"]);

    // 29 days on, the family has long ended (7-day idle TTL) but the listing still promises it.
    let purged = pass(&app, OffsetDateTime::now_utc() + 29 * DAY).await;
    assert_eq!((purged.families, purged.refresh_tokens), (0, 0));
    for (cookie, expected) in [&first, &second].into_iter().zip(&answers_before) {
        let reply = replaying(&app, cookie).refresh().await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            reply.error(),
            expected,
            "the same answer as before the pass"
        );
        reply.assert_refresh_cookie_cleared();
    }
    let user = app.gateway.find_user(&email).await.expect("user");
    let listed = app.gateway.user_sessions(user.id).await.expect("sessions");
    assert_eq!(listed.len(), 1, "the revoked session is still listed");

    // Past the promise the family goes; its tokens are then merely unknown: still refused.
    let purged = pass(&app, OffsetDateTime::now_utc() + 31 * DAY).await;
    assert_eq!((purged.families, purged.refresh_tokens), (1, 2));
    let reply = replaying(&app, &first).refresh().await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error(), "invalid_refresh_token");
}

#[tokio::test]
async fn a_live_familys_rotated_away_token_is_kept_and_still_detected_as_reuse() {
    let app = TestApp::spawn_with(|config| config.reuse_grace = Duration::ZERO).await;
    let (mut browser, _, _) = app.logged_in().await;
    let first = browser.cookie.clone();
    for _ in 0..2 {
        assert_eq!(browser.refresh().await.status, StatusCode::OK);
    }
    // Six days on, the family (7-day idle TTL) is still live: none of its rows may go.
    let purged = pass(&app, OffsetDateTime::now_utc() + 6 * DAY).await;
    assert_eq!((purged.families, purged.refresh_tokens), (0, 0));
    assert_eq!(count(&app, "refresh_tokens").await, 3);
    let reuse = replaying(&app, &first).refresh().await;
    assert_eq!(reuse.error(), "refresh_token_reused", "{reuse:?}");
    assert_eq!(
        browser.refresh().await.error(),
        "session_revoked",
        "the reuse revoked the family"
    );
}

#[tokio::test]
async fn token_rows_stop_growing_under_a_steady_refresh_load() {
    // A family lives one second; its rows may go one access lifetime (1 s) after that.
    let app = TestApp::spawn_with(|config| {
        config.refresh_idle_ttl = Duration::from_secs(1);
        config.session_max_ttl = Duration::from_secs(1);
        config.access_ttl = Duration::from_secs(1);
        config.leeway = Duration::ZERO;
        config.reuse_grace = Duration::ZERO;
    })
    .await;
    let email = app.new_user().await;
    const ROUNDS: usize = 16;
    const WITHOUT_JOB: usize = 5;
    const ROWS_PER_ROUND: i64 = 4;
    let mut after_pass = Vec::new();
    for round in 0..ROUNDS {
        // A round at most every 400 ms: a login and three refreshes, four token rows.
        if round > 0 {
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
        let mut browser = app.browser();
        assert_eq!(browser.login(&email, PASSWORD).await.status, StatusCode::OK);
        for _ in 1..ROWS_PER_ROUND {
            let reply = browser.refresh().await;
            assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        }
        if round + 1 == WITHOUT_JOB {
            // Without a pass (the old code had none) every row stays.
            let rows = count(&app, "refresh_tokens").await;
            eprintln!("without retention: {rows} token rows after {WITHOUT_JOB} rounds");
            assert_eq!(rows, WITHOUT_JOB as i64 * ROWS_PER_ROUND);
        }
        if round + 1 >= WITHOUT_JOB {
            pass(&app, OffsetDateTime::now_utc()).await;
            after_pass.push(count(&app, "refresh_tokens").await);
        }
    }
    let created = ROUNDS as i64 * ROWS_PER_ROUND;
    eprintln!("with retention: created {created} token rows; after each pass {after_pass:?}");
    // Only families younger than ~2 s (a life plus an access lifetime) stay: at most 6 rounds'
    // worth, with one round of slack, however long the test ran.
    let bound = 7 * ROWS_PER_ROUND;
    assert!(
        after_pass.iter().all(|rows| *rows <= bound),
        "token rows kept growing: {after_pass:?} (bound {bound}, created {created})"
    );
    assert!(
        count(&app, "refresh_families").await <= 7,
        "families are deleted with their tokens"
    );
}

/// Three failed logins, a pause, then a successful one; returns the moment between the two.
async fn old_and_new_events(app: &TestApp) -> OffsetDateTime {
    let email = app.new_user().await;
    for _ in 0..3 {
        let reply = app.browser().login(&email, "not the password").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    let between = OffsetDateTime::now_utc();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        app.browser().login(&email, PASSWORD).await.status,
        StatusCode::OK
    );
    between
}

async fn event_kinds(app: &TestApp) -> Vec<EventKind> {
    let events = app.gateway.recent_events(None, 100).await.expect("events");
    events.into_iter().map(|event| event.kind).collect()
}

#[tokio::test]
async fn events_older_than_event_retention_are_deleted_and_newer_ones_kept() {
    let app = TestApp::spawn().await;
    let between = old_and_new_events(&app).await;
    assert_eq!(count(&app, "security_events").await, 5);
    // As of 90 days after `between`: the registration and the failed logins are older than the
    // default 90 days.
    let purged = pass(&app, between + 90 * DAY).await;
    assert_eq!(purged.events, 4);
    assert_eq!(event_kinds(&app).await, [EventKind::LoginSucceeded]);
}

#[tokio::test]
async fn an_event_retention_of_zero_keeps_every_event() {
    let app = TestApp::spawn_with(|config| config.event_retention = Duration::ZERO).await;
    let between = old_and_new_events(&app).await;
    let purged = pass(&app, between + 3650 * DAY).await;
    assert_eq!(purged.events, 0);
    assert_eq!(count(&app, "security_events").await, 5);
}

#[tokio::test]
async fn lapsed_jti_denylist_entries_are_deleted_and_live_ones_kept() {
    let app = TestApp::spawn().await;
    let (mut browser, _, access) = app.logged_in().await;
    assert_eq!(
        browser.logout(Some(&access)).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(count(&app, "denied_jtis").await, 1);
    let purged = pass(&app, OffsetDateTime::now_utc()).await;
    assert_eq!(purged.denied_jtis, 0, "the token could still be presented");
    assert_eq!(app.verify(&access).await.status, StatusCode::UNAUTHORIZED);
    // An access lifetime (15 min) plus two leeways later, the entry can deny nothing more.
    let purged = pass(&app, OffsetDateTime::now_utc() + Duration::from_secs(3600)).await;
    assert_eq!(purged.denied_jtis, 1);
    assert_eq!(count(&app, "denied_jtis").await, 0);
}

#[tokio::test]
async fn revocation_log_entries_are_deleted_an_hour_after_they_were_written() {
    let app = TestApp::spawn().await;
    let (mut browser, _, access) = app.logged_in().await;
    assert_eq!(
        browser.logout(Some(&access)).await.status,
        StatusCode::NO_CONTENT
    );
    // The session denied, and the access token.
    assert_eq!(count(&app, "revocation_log").await, 2);
    let purged = pass(&app, OffsetDateTime::now_utc()).await;
    assert_eq!(purged.revocation_log, 0, "a replica may still need them");
    let purged = pass(&app, OffsetDateTime::now_utc() + Duration::from_secs(3660)).await;
    assert_eq!(purged.revocation_log, 2);
    assert_eq!(count(&app, "revocation_log").await, 0);
    // The facts themselves stay as long as they deny anything.
    assert_eq!(app.verify(&access).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn only_one_replica_runs_a_pass_at_a_time() {
    if tier() != Tier::Production {
        return; // one process owns the embedded tier's database
    }
    let app = TestApp::spawn().await;
    let storage = app.storage();
    let url = &storage.database.as_ref().expect("database").url;
    let mut other_replica = sqlx::PgConnection::connect(url).await.expect("database");
    // The key of the store's retention lock ("portretn").
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(0x706f_7274_7265_746e_i64)
        .fetch_one(&mut other_replica)
        .await
        .expect("lock");
    assert!(locked);
    let skipped = app
        .gateway
        .run_retention_once(OffsetDateTime::now_utc())
        .await
        .expect("pass");
    assert!(
        skipped.is_none(),
        "a pass runs while another replica holds the lock"
    );
    other_replica.close().await.expect("close");
    // The server ends the closed session, and so frees its lock, a moment after `close`.
    eventually(
        "the lock goes with the other replica's session",
        async || {
            app.gateway
                .run_retention_once(OffsetDateTime::now_utc())
                .await
                .expect("pass")
                .is_some()
        },
    )
    .await;
}
