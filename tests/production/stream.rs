//! Verifying from memory, kept exact by the revocation stream: every fault of the stream must
//! make a replica stop answering from its memory before it could answer wrongly, and a
//! revocation must reach every replica's memory before the call that made it returns.

use portcullis_tests::fault_proxy::{FaultProxy, Mode};
use portcullis_tests::throwaway_redis::{ProxiedRedis, ThrowawayRedis};
use portcullis_tests::tier::{TestStorage, Tier};
use portcullis_tests::{eventually, TestApp};
use reqwest::{Method, StatusCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Two replicas on one Postgres database and the Redis at `a_redis` and `b_redis`, with
/// metrics, reading the revocation log every `log_interval`.
async fn replicas(a_redis: String, b_redis: String, log_interval: Duration) -> (TestApp, TestApp) {
    let storage = Arc::new(TestStorage::create(Tier::Production).await);
    let config = |redis: String| {
        let mut config = TestApp::config_for(&storage);
        config.redis_url = Some(redis);
        config.metrics_listen = Some("127.0.0.1:0".to_owned());
        config.revocation_epoch_interval = log_interval;
        config
    };
    let a = TestApp::start(config(a_redis), Arc::clone(&storage)).await;
    let b = TestApp::start(config(b_redis), Arc::clone(&storage)).await;
    (a, b)
}

/// Two replicas on a private Redis, the one named by `proxied` reaching it through a fault proxy.
struct OneBehindAProxy {
    /// Stops the server when dropped: bind it for the whole test.
    redis: ThrowawayRedis,
    proxy: ProxiedRedis,
    a: TestApp,
    b: TestApp,
}

#[derive(PartialEq)]
enum Proxied {
    A,
    B,
}

async fn one_behind_a_proxy(proxied: Proxied, log_interval: Duration) -> OneBehindAProxy {
    one_behind_a_proxy_in(proxied, log_interval, Mode::Pass).await
}

/// As [`one_behind_a_proxy`], the proxy in `mode` from the start.
async fn one_behind_a_proxy_in(
    proxied: Proxied,
    log_interval: Duration,
    mode: Mode,
) -> OneBehindAProxy {
    let redis = ThrowawayRedis::start();
    let proxy = redis.behind_proxy().await;
    proxy.set(mode);
    let through_proxy = proxy.url();
    let (a_redis, b_redis) = match proxied {
        Proxied::A => (through_proxy, redis.url()),
        Proxied::B => (redis.url(), through_proxy),
    };
    let (a, b) = replicas(a_redis, b_redis, log_interval).await;
    OneBehindAProxy { redis, proxy, a, b }
}

async fn metric(app: &TestApp, name: &str) -> f64 {
    let (_, text) = app.scrape().await;
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} not exposed"))
}

async fn synced(app: &TestApp) -> bool {
    metric(app, "portcullis_revocation_memory_synced").await == 1.0
}

fn kill_listeners(redis: &ThrowawayRedis) {
    let killed = redis.kill_listeners();
    assert!(
        killed >= 2,
        "both replicas were listening ({killed} killed)"
    );
}

#[tokio::test]
async fn both_replicas_answer_from_memory_once_started() {
    let redis = ThrowawayRedis::start();
    let (a, b) = replicas(redis.url(), redis.url(), Duration::from_secs(1)).await;
    assert!(synced(&a).await && synced(&b).await);
    let (_, _, token) = a.logged_in().await;
    assert_eq!(b.verify(&token).await.status, StatusCode::OK);
    a.send(Method::POST, "/auth/logout-all", Some(&token)).await;
    assert_eq!(b.verify(&token).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        metric(&a, "portcullis_revocation_unconfirmed_total").await,
        0.0,
        "every listener acknowledged"
    );
}

#[tokio::test]
async fn a_revocation_returns_only_once_a_slow_replica_has_merged_it() {
    // Everything between B and Redis arrives 15 ms late: without waiting for B's
    // acknowledgement, A would answer long before B has heard of the revocation.
    let OneBehindAProxy {
        redis: _redis,
        proxy: _proxy,
        a,
        b,
    } = one_behind_a_proxy_in(
        Proxied::B,
        Duration::from_secs(1),
        Mode::Delay(Duration::from_millis(15)),
    )
    .await;
    for round in 0..5 {
        let (_, _, token) = a.logged_in().await;
        assert_eq!(b.verify(&token).await.status, StatusCode::OK);
        a.send(Method::POST, "/auth/logout-all", Some(&token)).await;
        assert_eq!(
            b.verify(&token).await.status,
            StatusCode::UNAUTHORIZED,
            "round {round}"
        );
    }
    assert!(synced(&b).await, "B answered from its memory throughout");
    assert_eq!(
        metric(&a, "portcullis_revocation_unconfirmed_total").await,
        0.0
    );
}

#[tokio::test]
async fn a_stream_connection_dropped_mid_stream_never_lets_a_revocation_through() {
    let redis = ThrowawayRedis::start();
    let (a, b) = replicas(redis.url(), redis.url(), Duration::from_secs(1)).await;
    // Each round cuts every listener and revokes at once, while the replicas reconnect: the
    // revocation must hold on the other replica at the next request, whichever path answers.
    for round in 0..12 {
        let (_, _, revoked) = a.logged_in().await;
        let (_, _, valid) = b.logged_in().await;
        assert_eq!(b.verify(&revoked).await.status, StatusCode::OK);
        kill_listeners(&redis);
        let (writer, reader) = if round % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let reply = writer
            .send(Method::POST, "/auth/logout-all", Some(&revoked))
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "round {round}");
        assert_eq!(
            reader.verify(&revoked).await.status,
            StatusCode::UNAUTHORIZED,
            "round {round}"
        );
        assert_eq!(reader.verify(&valid).await.status, StatusCode::OK);
        eventually("both replicas resynchronised", || async {
            synced(&a).await && synced(&b).await
        })
        .await;
    }
    assert!(metric(&b, "portcullis_revocation_stream_resyncs_total").await >= 12.0);
}

#[tokio::test]
async fn a_revocation_announced_while_a_replica_is_cut_off_reaches_it() {
    let OneBehindAProxy {
        redis: _redis,
        proxy,
        a,
        b,
    } = one_behind_a_proxy(Proxied::B, Duration::from_secs(1)).await;
    let (_, _, token) = a.logged_in().await;
    assert_eq!(b.verify(&token).await.status, StatusCode::OK);

    proxy.set(Mode::Refuse);
    eventually("B no longer trusts its memory", || async {
        !synced(&b).await
    })
    .await;
    a.send(Method::POST, "/auth/logout-all", Some(&token)).await;
    assert_eq!(
        b.verify(&token).await.status,
        StatusCode::UNAUTHORIZED,
        "B answers from Postgres while cut off"
    );
    proxy.set(Mode::Pass);
    eventually("B resynchronised", || synced(&b)).await;
    assert_eq!(b.verify(&token).await.status, StatusCode::UNAUTHORIZED);
    let (_, _, valid) = a.logged_in().await;
    assert_eq!(b.verify(&valid).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_stalled_stream_connection_is_noticed_within_two_heartbeats() {
    let OneBehindAProxy {
        redis: _redis,
        proxy,
        a,
        b,
    } = one_behind_a_proxy(Proxied::B, Duration::from_secs(1)).await;
    let (_, _, token) = a.logged_in().await;
    assert_eq!(b.verify(&token).await.status, StatusCode::OK);

    proxy.set(Mode::Stall);
    let stalled = Instant::now();
    a.send(Method::POST, "/auth/logout-all", Some(&token)).await;
    eventually("B refuses the revoked token", || async {
        b.verify(&token).await.status == StatusCode::UNAUTHORIZED
    })
    .await;
    let window = portcullis_store_redis::HEARTBEAT * 2;
    assert!(
        stalled.elapsed() < window + Duration::from_millis(300),
        "refused only after {:?}; the heartbeat bounds it to {window:?}",
        stalled.elapsed()
    );
    assert!(!synced(&b).await, "a stalled stream is not trusted");
    proxy.set(Mode::Pass);
    eventually("B resynchronised", || synced(&b)).await;
    assert_eq!(b.verify(&token).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_replica_that_cannot_announce_is_heard_through_the_revocation_log() {
    let interval = Duration::from_millis(300);
    let OneBehindAProxy {
        redis: _redis,
        proxy,
        a,
        b,
    } = one_behind_a_proxy(Proxied::A, interval).await;
    let (_, _, token) = b.logged_in().await;
    assert_eq!(b.verify(&token).await.status, StatusCode::OK);

    // The partial partition: A reaches Postgres but not Redis; B trusts its memory throughout.
    proxy.set(Mode::Refuse);
    let revoked = Instant::now();
    let reply = a.send(Method::POST, "/auth/logout-all", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    eventually("B refuses the revoked token", || async {
        b.verify(&token).await.status == StatusCode::UNAUTHORIZED
    })
    .await;
    assert!(
        revoked.elapsed() < interval * 2 + Duration::from_millis(500),
        "the log bounds the window to the interval; refused after {:?}",
        revoked.elapsed()
    );
    assert!(synced(&b).await, "B never stopped trusting its memory");
}

#[tokio::test]
async fn a_replica_whose_log_reads_hang_still_merges_announcements_before_the_call_returns() {
    // B reaches Redis directly and Postgres through a proxy. With Postgres stalled, each of B's
    // revocation log reads hangs until `database_timeout`; B rightly keeps answering from its
    // memory, fed by the stream ("a replica that cannot reach Postgres keeps answering from
    // memory"). So the stream must still reach that memory before A's revocation returns: a log
    // read must never hold up the announcements queued behind it.
    let redis = ThrowawayRedis::start();
    let storage = Arc::new(TestStorage::create(Tier::Production).await);
    let admin = portcullis_tests::tier::database_admin_url();
    let database = storage
        .database
        .as_ref()
        .expect("production storage has a database");
    let proxy = FaultProxy::start(super::faults::socket(&admin)).await;
    let proxied = portcullis_tests::tier::with_database(
        &admin.replacen(
            &super::faults::socket(&admin).to_string(),
            &proxy.addr().to_string(),
            1,
        ),
        &database.name,
    );
    let config = |database_url: Option<String>| {
        let mut config = TestApp::config_for(&storage);
        config.redis_url = Some(redis.url());
        config.metrics_listen = Some("127.0.0.1:0".to_owned());
        config.revocation_epoch_interval = Duration::from_millis(100);
        if let Some(url) = database_url {
            config.database_url = Some(url);
        }
        config
    };
    let a = TestApp::start(config(None), Arc::clone(&storage)).await;
    let b = TestApp::start(config(Some(proxied)), Arc::clone(&storage)).await;
    assert!(synced(&b).await);

    for round in 0..3 {
        let (_, _, token) = a.logged_in().await;
        assert_eq!(b.verify(&token).await.status, StatusCode::OK);
        proxy.set(Mode::Stall);
        // B's next log read, due within 100 ms, now hangs.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let reply = a.send(Method::POST, "/auth/logout-all", Some(&token)).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
        assert_eq!(
            b.verify(&token).await.status,
            StatusCode::UNAUTHORIZED,
            "round {round}: B accepted a token revoked before the call returned"
        );
        proxy.set(Mode::Pass);
    }
    assert!(synced(&b).await, "B answered from its memory throughout");
}

#[tokio::test]
async fn a_writer_that_is_not_synced_still_gives_the_other_replicas_their_time() {
    // A cannot subscribe (here Redis refuses it SUBSCRIBE; in production it is starting,
    // resynchronising after a fault, or Redis refuses it new connections), so it is not synced
    // and hears no acknowledgement, but it announces all the same. B hears everything 30 ms
    // late. The writer answers "once every listener Redis counted has acknowledged, or after
    // 250 ms": a writer that cannot hear the acknowledgements must take the 250 ms, not none.
    // The rule is the replica's, not the server's: one server serves both kinds of suite.
    let redis = ThrowawayRedis::start_server();
    {
        let client = redis::Client::open(redis.url()).expect("client");
        let mut connection = client.get_connection().expect("connection");
        let () = redis::cmd("ACL")
            .arg(&[
                "SETUSER",
                "writer",
                "on",
                "nopass",
                "~*",
                "&*",
                "+@all",
                "-subscribe",
                "-psubscribe",
                "-ssubscribe",
            ])
            .query(&mut connection)
            .expect("ACL SETUSER on the private redis");
    }
    let proxy = redis.behind_proxy().await;
    proxy.set(Mode::Delay(Duration::from_millis(30)));
    let a_redis = redis.url().replacen("redis://", "redis://writer:any@", 1);
    let (a, b) = replicas(a_redis, proxy.url(), Duration::from_secs(1)).await;
    eventually("B synced", || synced(&b)).await;
    assert!(!synced(&a).await, "A cannot subscribe");
    for round in 0..10 {
        let (_, _, token) = a.logged_in().await;
        assert_eq!(b.verify(&token).await.status, StatusCode::OK);
        let reply = a.send(Method::POST, "/auth/logout-all", Some(&token)).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
        assert_eq!(
            b.verify(&token).await.status,
            StatusCode::UNAUTHORIZED,
            "round {round}: B accepted a token revoked before the call returned"
        );
    }
}
