//! What the cache answers, and how loads, changes and expiry shape it, down to Redis's keys,
//! expiries and replicas; the behaviour every cache shares is in the contract (`contract.rs`).

use crate::helpers::{now, probe, secs, TestCache};
use portcullis_core::{RevocationCache, RevocationChange, RevocationState};

#[tokio::test]
async fn a_change_through_one_replica_is_seen_by_another_at_once() {
    let t = TestCache::new().await;
    let t0 = now();
    let changed = probe();
    t.cache.load(&vec![], t0).await.unwrap();

    t.replica()
        .apply(
            &[
                RevocationChange::TokenVersion {
                    user: changed.user,
                    version: 1,
                },
                RevocationChange::SessionDenied {
                    session: changed.session,
                    until: t0 + secs(60),
                },
            ],
            t0,
        )
        .await
        .unwrap();
    assert_eq!(
        t.cache.state(&changed, t0).await.unwrap(),
        Some(RevocationState {
            token_version: 1,
            session_revoked: true,
            jti_denied: false,
            key_retired: false,
        })
    );
    // Under this deployment's prefix, in the layout every replica reads.
    let version = format!("ver:{}", changed.user);
    assert_eq!(t.get(&version).await.as_deref(), Some("1"));
    let session_ttl = t.pttl(&format!("sid:{}", changed.session)).await;
    assert!((1..=60_000).contains(&session_ttl), "{session_ttl}");
}

#[tokio::test]
async fn token_versions_never_go_backwards() {
    let t = TestCache::new().await;
    let t0 = now();
    let p = probe();
    let version = |version| RevocationChange::TokenVersion {
        user: p.user,
        version,
    };
    t.cache.load(&vec![], t0).await.unwrap();

    t.cache.apply(&[version(5), version(3)], t0).await.unwrap();
    t.cache.apply(&[version(4)], t0).await.unwrap();
    // A snapshot read before the latest bump must not undo it either.
    t.cache.load(&vec![version(2)], t0).await.unwrap();
    assert_eq!(
        t.cache.state(&p, t0).await.unwrap().unwrap().token_version,
        5
    );
    assert_eq!(
        t.get(&format!("ver:{}", p.user)).await.as_deref(),
        Some("5")
    );
    assert_eq!(
        t.pttl(&format!("ver:{}", p.user)).await,
        -1,
        "versions never expire"
    );

    t.cache.apply(&[version(6)], t0).await.unwrap();
    assert_eq!(
        t.cache.state(&p, t0).await.unwrap().unwrap().token_version,
        6
    );
}

#[tokio::test]
async fn denylist_entries_expire_at_their_until_and_never_shrink() {
    let t = TestCache::new().await;
    let t0 = now();
    let p = probe();
    t.cache.load(&vec![], t0).await.unwrap();
    let (sid, jti) = (format!("sid:{}", p.session), format!("jti:{}", p.jti));

    t.cache
        .apply(
            &[
                RevocationChange::SessionDenied {
                    session: p.session,
                    until: t0 + secs(1),
                },
                RevocationChange::JtiDenied {
                    jti: p.jti,
                    until: t0 + secs(300),
                },
                // An earlier until for the same jti does not shorten it.
                RevocationChange::JtiDenied {
                    jti: p.jti,
                    until: t0 + secs(1),
                },
            ],
            t0,
        )
        .await
        .unwrap();
    let session_ttl = t.pttl(&sid).await;
    assert!((0..=1000).contains(&session_ttl), "{session_ttl}");
    assert!(t.pttl(&jti).await > 250_000);

    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    assert_eq!(t.get(&sid).await, None, "Redis dropped the lapsed entry");
    let state = t.cache.state(&p, now()).await.unwrap().unwrap();
    assert!(!state.session_revoked);
    assert!(state.jti_denied);

    // Entries already lapsed when applied or loaded are not written at all.
    let stale = probe();
    let lapsed = [RevocationChange::JtiDenied {
        jti: stale.jti,
        until: t0,
    }];
    t.cache.apply(&lapsed, t0 + secs(1)).await.unwrap();
    t.cache.load(&lapsed.to_vec(), t0 + secs(1)).await.unwrap();
    assert_eq!(t.get(&format!("jti:{}", stale.jti)).await, None);
}

#[tokio::test]
async fn after_redis_loses_the_marker_the_cache_cannot_vouch_until_reloaded() {
    let t = TestCache::new().await;
    let t0 = now();
    let p = probe();
    let snapshot = vec![RevocationChange::TokenVersion {
        user: p.user,
        version: 3,
    }];
    t.cache.load(&snapshot, t0).await.unwrap();
    assert!(t.cache.state(&p, t0).await.unwrap().is_some());

    // What a flush or a restart without persistence does, limited to this test's own key.
    t.delete("loaded").await;
    assert_eq!(t.cache.state(&p, t0).await.unwrap(), None);
    assert_eq!(t.replica().state(&p, t0).await.unwrap(), None);

    t.replica().load(&snapshot, t0).await.unwrap();
    assert_eq!(
        t.cache.state(&p, t0).await.unwrap().unwrap().token_version,
        3
    );
    // The load's sentinel is gone once it completed.
    let leftovers: Vec<String> = t
        .own_keys()
        .await
        .into_iter()
        .filter(|key| key.contains("loading:"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
