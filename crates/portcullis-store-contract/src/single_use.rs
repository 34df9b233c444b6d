//! The contract of a single-use store ([`portcullis_core::SingleUse`]): a key is used once until
//! its `until` passes by the caller's clock, keys never interfere, concurrent callers get
//! exactly one `true`, and an issued challenge is taken once and only before it lapses. Each
//! case takes an empty store and is stamped into a test by [`crate::single_use_contract!`].
//!
//! Times are near the real clock, as in [`crate::cache`]: Redis drops a key at its `until`
//! itself, so a case that wants a key to lapse moves the caller's `now` past it instead.

use crate::fixtures::{now, secs};
use futures::future::join_all;
use portcullis_core::{SingleUse, SingleUseKey};
use time::OffsetDateTime;

/// How many callers race for one key, and how many times the race is run.
const RACERS: usize = 32;
const ROUNDS: usize = 20;

fn proof(thumbprint: &str, jti: &str) -> SingleUseKey {
    SingleUseKey::dpop_proof(thumbprint, jti).unwrap()
}

fn challenge(text: &str) -> SingleUseKey {
    SingleUseKey::dbsc_challenge(text).unwrap()
}

/// A key no other case or run has used.
fn fresh_proof() -> SingleUseKey {
    proof("thumbprint", &uuid::Uuid::new_v4().simple().to_string())
}

pub async fn a_key_is_used_once_until_it_lapses(store: &(impl SingleUse + ?Sized)) {
    let t0 = now();
    let until = t0 + secs(60);
    let key = fresh_proof();
    assert!(store.first_use(&key, until, t0).await.unwrap());
    assert!(!store.first_use(&key, until, t0).await.unwrap());
    let later = t0 + secs(59);
    assert!(
        !store
            .first_use(&key, later + secs(60), later)
            .await
            .unwrap(),
        "a second use before until is refused, even with a later until"
    );
    assert!(
        store
            .first_use(&key, until + secs(60), until)
            .await
            .unwrap(),
        "once until has passed by the caller's clock, the key is new again"
    );
    assert!(!store
        .first_use(&key, until + secs(60), until)
        .await
        .unwrap());
}

pub async fn different_keys_never_interfere(store: &(impl SingleUse + ?Sized)) {
    let t0 = now();
    let until = t0 + secs(60);
    let jti = uuid::Uuid::new_v4().simple().to_string();
    assert!(store.first_use(&proof("a", &jti), until, t0).await.unwrap());
    assert!(
        store.first_use(&proof("b", &jti), until, t0).await.unwrap(),
        "the same jti under another key's thumbprint is another proof"
    );
    assert!(
        store.first_use(&challenge(&jti), until, t0).await.unwrap(),
        "a challenge never collides with a proof"
    );
    assert!(store.first_use(&fresh_proof(), until, t0).await.unwrap());
    assert!(!store.first_use(&proof("a", &jti), until, t0).await.unwrap());
}

pub async fn an_until_not_after_now_is_refused_and_remembers_nothing(
    store: &(impl SingleUse + ?Sized),
) {
    let t0 = now();
    let key = fresh_proof();
    assert!(!store.first_use(&key, t0, t0).await.unwrap());
    assert!(!store.first_use(&key, t0 - secs(1), t0).await.unwrap());
    assert!(store.first_use(&key, t0 + secs(60), t0).await.unwrap());
}

/// Counts the `true` answers of [`RACERS`] concurrent calls made by `call`.
async fn winners<F>(call: impl Fn() -> F) -> usize
where
    F: std::future::Future<Output = bool>,
{
    join_all((0..RACERS).map(|_| call()))
        .await
        .into_iter()
        .filter(|won| *won)
        .count()
}

pub async fn concurrent_first_uses_of_one_key_yield_exactly_one_true(
    store: &(impl SingleUse + ?Sized),
) {
    for round in 0..ROUNDS {
        let (key, t0) = (fresh_proof(), now());
        let won =
            winners(|| async { store.first_use(&key, t0 + secs(60), t0).await.unwrap() }).await;
        assert_eq!(
            won, 1,
            "round {round}: {won} of {RACERS} callers used the key"
        );
    }
}

pub async fn an_issued_challenge_is_taken_once_and_an_unknown_or_lapsed_one_never(
    store: &(impl SingleUse + ?Sized),
) {
    let t0 = now();
    let until = t0 + secs(60);
    let issued = challenge(&uuid::Uuid::new_v4().simple().to_string());
    assert!(store.first_use(&issued, until, t0).await.unwrap());
    assert!(store.take(&issued, t0 + secs(1)).await.unwrap());
    assert!(
        !store.take(&issued, t0 + secs(1)).await.unwrap(),
        "taken already"
    );

    let unknown = challenge(&uuid::Uuid::new_v4().simple().to_string());
    assert!(!store.take(&unknown, t0).await.unwrap());

    let lapsing = challenge(&uuid::Uuid::new_v4().simple().to_string());
    assert!(store.first_use(&lapsing, until, t0).await.unwrap());
    assert!(
        !store.take(&lapsing, until).await.unwrap(),
        "lapsed at until"
    );
    assert!(
        !store.take(&lapsing, t0).await.unwrap(),
        "a late answer consumed it: not even a slower clock takes it after that"
    );
}

pub async fn concurrent_takes_of_one_challenge_yield_exactly_one_true(
    store: &(impl SingleUse + ?Sized),
) {
    for round in 0..ROUNDS {
        let t0: OffsetDateTime = now();
        let issued = challenge(&uuid::Uuid::new_v4().simple().to_string());
        assert!(store.first_use(&issued, t0 + secs(60), t0).await.unwrap());
        let won = winners(|| async { store.take(&issued, t0).await.unwrap() }).await;
        assert_eq!(
            won, 1,
            "round {round}: {won} of {RACERS} callers took the challenge"
        );
    }
}
