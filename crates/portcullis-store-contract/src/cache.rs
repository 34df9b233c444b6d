//! The contract of a revocation cache ([`portcullis_core::RevocationCache`]): it vouches only
//! once loaded, answers from the snapshot and later changes, and only ever tightens: token
//! versions and denials move forward, whatever order changes and snapshots arrive in. Each case
//! takes an empty cache and is stamped into a test by [`crate::cache_contract!`].
//!
//! Times are near the real clock: a cache may hand expiry to its server (Redis drops a lapsed
//! entry itself), so an `until` in the past could vanish before the case looks.

use crate::fixtures::{now, probe, secs};
use portcullis_core::{RevocationCache, RevocationChange, RevocationState};

pub async fn before_any_load_the_cache_cannot_vouch(cache: &(impl RevocationCache + ?Sized)) {
    assert_eq!(cache.state(&probe(), now()).await.unwrap(), None);
    // Changes alone do not make it complete either.
    let p = probe();
    let change = RevocationChange::TokenVersion {
        user: p.user,
        version: 1,
    };
    cache.apply(&[change], now()).await.unwrap();
    assert_eq!(cache.state(&p, now()).await.unwrap(), None);
    cache.ping().await.unwrap();
}

pub async fn a_loaded_cache_answers_from_the_snapshot_and_later_changes(
    cache: &(impl RevocationCache + ?Sized),
) {
    let t0 = now();
    let (loaded, changed, untouched) = (probe(), probe(), probe());
    let snapshot = vec![
        RevocationChange::TokenVersion {
            user: loaded.user,
            version: 2,
        },
        RevocationChange::SessionDenied {
            session: loaded.session,
            until: t0 + secs(600),
        },
        RevocationChange::JtiDenied {
            jti: loaded.jti,
            until: t0 + secs(600),
        },
    ];
    cache.load(&snapshot, t0).await.unwrap();
    assert_eq!(
        cache.state(&loaded, t0).await.unwrap(),
        Some(RevocationState {
            token_version: 2,
            session_revoked: true,
            jti_denied: true,
            key_retired: false,
        })
    );
    assert_eq!(
        cache.state(&untouched, t0).await.unwrap(),
        Some(RevocationState::default()),
        "a user never revoked is at version 0 and nothing of theirs is denied"
    );

    let changes = [
        RevocationChange::TokenVersion {
            user: changed.user,
            version: 1,
        },
        RevocationChange::SessionDenied {
            session: changed.session,
            until: t0 + secs(60),
        },
    ];
    cache.apply(&changes, t0).await.unwrap();
    assert_eq!(
        cache.state(&changed, t0).await.unwrap(),
        Some(RevocationState {
            token_version: 1,
            session_revoked: true,
            jti_denied: false,
            key_retired: false,
        })
    );
    // The caller's clock decides lapse, as in the durable store; versions never lapse.
    assert_eq!(
        cache.state(&changed, t0 + secs(60)).await.unwrap(),
        Some(RevocationState {
            token_version: 1,
            ..RevocationState::default()
        })
    );
    assert_eq!(
        cache.state(&loaded, t0 + secs(600)).await.unwrap(),
        Some(RevocationState {
            token_version: 2,
            ..RevocationState::default()
        })
    );
}

pub async fn token_versions_only_move_forward(cache: &(impl RevocationCache + ?Sized)) {
    let t0 = now();
    let p = probe();
    let version = |version| RevocationChange::TokenVersion {
        user: p.user,
        version,
    };
    let current = || async { cache.state(&p, t0).await.unwrap().unwrap().token_version };
    cache.load(&vec![], t0).await.unwrap();

    // Out of order within one batch, and across batches.
    cache.apply(&[version(5), version(3)], t0).await.unwrap();
    assert_eq!(current().await, 5);
    cache.apply(&[version(4)], t0).await.unwrap();
    assert_eq!(current().await, 5);
    // A snapshot read before the latest bump must not undo it either.
    cache.load(&vec![version(2)], t0).await.unwrap();
    assert_eq!(current().await, 5);
    cache.apply(&[version(6)], t0).await.unwrap();
    assert_eq!(current().await, 6);
    cache.load(&vec![version(7)], t0).await.unwrap();
    assert_eq!(current().await, 7);
}

pub async fn denials_are_never_shortened_and_lapse_by_the_callers_clock(
    cache: &(impl RevocationCache + ?Sized),
) {
    let t0 = now();
    let p = probe();
    cache.load(&vec![], t0).await.unwrap();
    let session = |until| RevocationChange::SessionDenied {
        session: p.session,
        until,
    };
    let jti = |until| RevocationChange::JtiDenied { jti: p.jti, until };
    let at = |when| async move { cache.state(&p, when).await.unwrap().unwrap() };

    cache
        .apply(&[session(t0 + secs(300)), jti(t0 + secs(300))], t0)
        .await
        .unwrap();
    // An earlier until, applied or loaded, does not shorten an entry.
    cache
        .apply(&[session(t0 + secs(30)), jti(t0 + secs(30))], t0)
        .await
        .unwrap();
    cache
        .load(&vec![session(t0 + secs(60)), jti(t0 + secs(60))], t0)
        .await
        .unwrap();
    let state = at(t0 + secs(120)).await;
    assert!(state.session_revoked && state.jti_denied, "{state:?}");

    // A later until extends it.
    cache.apply(&[jti(t0 + secs(900))], t0).await.unwrap();
    let state = at(t0 + secs(600)).await;
    assert!(!state.session_revoked, "the session denial lapsed at 300s");
    assert!(state.jti_denied, "the jti denial was extended to 900s");
    assert!(!at(t0 + secs(900)).await.jti_denied, "lapsed at its until");
    // Lapse is the caller's clock only: the entries still answer for an earlier moment.
    assert!(at(t0 + secs(299)).await.session_revoked);
}

pub async fn a_retired_key_is_refused_until_its_denial_lapses(
    cache: &(impl RevocationCache + ?Sized),
) {
    let t0 = now();
    let (retired, other) = (probe(), probe());
    let until = t0 + secs(600);
    let snapshot = vec![RevocationChange::KeyRetired {
        kid: retired.kid,
        until,
    }];
    cache.load(&snapshot, t0).await.unwrap();
    let state = |p| async move { cache.state(&p, t0).await.unwrap().unwrap() };
    assert!(state(retired).await.key_retired);
    assert!(!state(other).await.key_retired);
    // Learned after the load, as a change.
    cache
        .apply(
            &[RevocationChange::KeyRetired {
                kid: other.kid,
                until,
            }],
            t0,
        )
        .await
        .unwrap();
    assert!(state(other).await.key_retired);
    let lapsed = cache
        .state(&retired, until + secs(1))
        .await
        .unwrap()
        .unwrap();
    assert!(!lapsed.key_retired);
}
