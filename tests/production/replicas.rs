//! Several replicas behind a (notional) load balancer, sharing one Postgres and one Redis.

use portcullis_tests::replica::Replica;
use portcullis_tests::tier::{TestStorage, Tier};
use portcullis_tests::{Browser, Reply, PASSWORD};
use reqwest::StatusCode;
use std::collections::HashSet;

async fn verify(base: &str, token: &str) -> Reply {
    Reply::read(
        reqwest::Client::new()
            .get(format!("{base}/auth/verify"))
            .bearer_auth(token)
            .send()
            .await
            .expect("verify"),
    )
    .await
}

async fn register(base: &str) -> String {
    let email = format!("user-{}@example.com", uuid::Uuid::new_v4().simple());
    let reply = Reply::read(
        reqwest::Client::new()
            .post(format!("{base}/auth/register"))
            .json(&serde_json::json!({ "email": email, "password": PASSWORD }))
            .send()
            .await
            .expect("register"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    email
}

fn at(browser: &Browser, replica: &Replica) -> Browser {
    let mut moved = browser.clone();
    moved.retarget_base(&replica.base);
    moved
}

#[tokio::test]
async fn a_revocation_on_one_replica_holds_on_every_other_at_the_next_request() {
    let storage = TestStorage::create(Tier::Production).await;
    let a = Replica::start(&storage, &[]).await;
    let b = Replica::start(&storage, &[]).await;
    let c = Replica::start(&storage, &[]).await;
    let email = register(&a.base).await;
    let mut on_a = Browser::new(reqwest::Client::new(), a.base.clone());
    let first = on_a.login(&email, PASSWORD).await.access_token();
    assert_eq!(
        verify(&b.base, &first).await.status,
        StatusCode::OK,
        "tokens verify on every replica"
    );

    let mut on_b = at(&on_a, &b);
    let second = on_b.refresh().await.access_token();
    let logout_all = Reply::read(
        reqwest::Client::new()
            .post(format!("{}/auth/logout-all", c.base))
            .bearer_auth(&second)
            .send()
            .await
            .expect("logout-all"),
    )
    .await;
    assert_eq!(logout_all.status, StatusCode::NO_CONTENT);
    for token in [&first, &second] {
        assert_eq!(
            verify(&a.base, token).await.status,
            StatusCode::UNAUTHORIZED,
            "old token rejected on A at once"
        );
        assert_eq!(
            verify(&b.base, token).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(at(&on_b, &a).refresh().await.error(), "session_revoked");
}

#[tokio::test]
async fn a_hundred_concurrent_refreshes_across_replicas_leave_one_live_successor() {
    let storage = TestStorage::create(Tier::Production).await;
    let replicas = [
        Replica::start(&storage, &[]).await,
        Replica::start(&storage, &[]).await,
        Replica::start(&storage, &[]).await,
    ];
    let email = register(&replicas[0].base).await;
    let mut browser = Browser::new(reqwest::Client::new(), replicas[0].base.clone());
    browser.login(&email, PASSWORD).await;
    let tabs: Vec<Browser> = (0..100).map(|i| at(&browser, &replicas[i % 3])).collect();
    let replies = futures::future::join_all(
        tabs.iter()
            .map(|tab| tab.post_cookie_once("/auth/refresh", &[("x-csrf", "1")], None)),
    )
    .await;
    let successors: HashSet<String> = replies
        .iter()
        .map(|reply| {
            assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
            reply
                .refresh_set_cookie()
                .expect("cookie")
                .split(';')
                .next()
                .expect("pair")
                .to_owned()
        })
        .collect();
    assert_eq!(
        successors.len(),
        1,
        "one successor, whichever replica answered"
    );
    let mut next = at(&browser, &replicas[2]);
    next.cookie = successors
        .iter()
        .next()
        .and_then(|pair| pair.split_once('='))
        .map(|(_, v)| v.to_owned());
    assert_eq!(
        next.refresh().await.status,
        StatusCode::OK,
        "and it is live"
    );
}

#[tokio::test]
async fn every_rotation_answered_200_survives_a_kill_9_under_load() {
    let storage = TestStorage::create(Tier::Production).await;
    let mut replica = Replica::start(&storage, &[]).await;
    let mut clients = Vec::new();
    for _ in 0..16 {
        let email = register(&replica.base).await;
        let mut browser = Browser::new(reqwest::Client::new(), replica.base.clone());
        assert_eq!(browser.login(&email, PASSWORD).await.status, StatusCode::OK);
        clients.push(browser);
    }
    // Each client refreshes in a loop, keeping only cookies it received a 200 for.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (progress_tx, mut progress_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let workers: Vec<_> = clients
        .into_iter()
        .map(|mut browser| {
            let stop = stop_rx.clone();
            let progress = progress_tx.clone();
            tokio::spawn(async move {
                let mut received = 0;
                while !*stop.borrow() {
                    let before = browser.cookie.clone();
                    let attempt = tokio::time::timeout(
                        std::time::Duration::from_secs(5),
                        browser.try_refresh(),
                    )
                    .await;
                    let Ok(Some(reply)) = attempt else {
                        break; // the server vanished mid-request: the cookie is unchanged
                    };
                    if reply.status != StatusCode::OK {
                        browser.cookie = before;
                        break;
                    }
                    received += 1;
                    let _ = progress.send(());
                }
                (browser, received)
            })
        })
        .collect();
    drop(progress_tx);
    for _ in 0..200 {
        progress_rx.recv().await.expect("refreshes are flowing");
    }
    replica.kill_hard();
    let _ = stop_tx.send(true);
    let mut survivors = Vec::new();
    for worker in workers {
        survivors.push(worker.await.expect("worker"));
    }
    replica.restart().await;
    let total: usize = survivors.iter().map(|(_, received)| received).sum();
    assert!(total >= 200, "load was applied ({total} rotations)");
    for (mut browser, _) in survivors {
        let reply = browser.refresh().await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "the last cookie a client was given a 200 for still works: {reply:?}"
        );
    }
    let database = storage.database.as_ref().expect("database");
    let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(&database.url)
        .await
        .expect("connect");
    let forks: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT family_id, generation FROM refresh_tokens GROUP BY 1, 2 HAVING count(*) > 1) AS f",
    )
    .fetch_one(&mut connection)
    .await
    .expect("query");
    assert_eq!(forks, 0, "no rotation was duplicated");
}

#[tokio::test]
async fn failed_logins_are_counted_across_replicas() {
    let storage = TestStorage::create(Tier::Production).await;
    let limits = [("PORTCULLIS_LOGIN_MAX_FAILURES_PER_ACCOUNT", "3")];
    let a = Replica::start(&storage, &limits).await;
    let b = Replica::start(&storage, &limits).await;
    let email = register(&a.base).await;
    let mut on_a = Browser::new(reqwest::Client::new(), a.base.clone());
    let mut on_b = Browser::new(reqwest::Client::new(), b.base.clone());
    on_a.login(&email, "wrong password").await;
    on_b.login(&email, "wrong password").await;
    on_a.login(&email, "wrong password").await;
    let reply = on_b.login(&email, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "{reply:?}");
    assert!(reply.header("retry-after").is_some());
}

#[tokio::test]
async fn an_admin_revocation_on_one_replica_holds_on_another_at_the_next_request() {
    let storage = TestStorage::create(Tier::Production).await;
    let a = Replica::start(&storage, &[]).await;
    let b = Replica::start(&storage, &[]).await;
    let key = portcullis_tests::replica::create_admin_key(&storage, "oncall");
    let email = register(&a.base).await;
    let mut browser = Browser::new(reqwest::Client::new(), b.base.clone());
    let token = browser.login(&email, PASSWORD).await.access_token();
    assert_eq!(verify(&a.base, &token).await.status, StatusCode::OK);
    let revoked = Reply::read(
        reqwest::Client::new()
            .post(format!("{}/admin/users/{email}/revoke", a.base))
            .bearer_auth(&key)
            .send()
            .await
            .expect("revoke"),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK, "{revoked:?}");
    assert_eq!(
        verify(&b.base, &token).await.status,
        StatusCode::UNAUTHORIZED,
        "refused on B at once"
    );
    assert_eq!(browser.refresh().await.error(), "session_revoked");
}
