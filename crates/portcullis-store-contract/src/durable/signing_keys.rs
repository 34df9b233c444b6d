//! Signing keys ([`portcullis_core::SigningKeyStore`]): keys round-trip with their lifecycle
//! times, a scheduled rotation happens at most once per period, and a retirement follows the
//! core's rule and becomes a revocation fact every cache learns.

use crate::fixtures::{now, probe, secs};
use portcullis_core::signing_key::RetireRefused;
use portcullis_core::{
    KeyRetirement, RevocationChange, RevocationProbe, RevocationStore, SigningKeyStore,
    StoredSigningKey,
};
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

const LIFETIME: Duration = Duration::from_secs(900);

fn key(alg: &str, created_at: OffsetDateTime, activates_at: OffsetDateTime) -> StoredSigningKey {
    let kid = Uuid::new_v4().simple().to_string();
    StoredSigningKey {
        encrypted_private_key: kid.as_bytes().to_vec(),
        kid,
        alg: alg.to_owned(),
        public_key: vec![4, 5, 6],
        created_at,
        activates_at,
        retired_at: None,
    }
}

fn kids(keys: &[StoredSigningKey]) -> Vec<&str> {
    keys.iter().map(|key| &*key.kid).collect()
}

pub async fn signing_keys_keep_their_lifecycle_times_and_come_back_newest_first(
    store: &(impl SigningKeyStore + ?Sized),
) {
    let t0 = now();
    let first = key("EdDSA", t0, t0);
    let stored = store.ensure_signing_key(&first).await.unwrap();
    assert_eq!(kids(&stored), [&*first.kid]);
    // A second candidate of the same algorithm is not stored: one first key.
    let again = store
        .ensure_signing_key(&key("EdDSA", t0 + secs(1), t0 + secs(1)))
        .await
        .unwrap();
    assert_eq!(kids(&again), [&*first.kid]);

    let next = key("EdDSA", t0 + secs(5), t0 + secs(600));
    assert!(store.add_signing_key(&next, None).await.unwrap());
    let keys = store.signing_keys().await.unwrap();
    assert_eq!(kids(&keys), [&*next.kid, &*first.kid]);
    assert_eq!(keys[0].activates_at, next.activates_at);
    assert_eq!(keys[0].created_at, next.created_at);
    assert_eq!(keys[0].retired_at, None);
    assert_eq!(keys[0].encrypted_private_key, next.encrypted_private_key);
    assert_eq!(keys[0].public_key, next.public_key);
}

pub async fn a_scheduled_rotation_adds_a_key_only_if_none_is_that_recent(
    store: &(impl SigningKeyStore + ?Sized),
) {
    let t0 = now();
    store
        .ensure_signing_key(&key("EdDSA", t0, t0))
        .await
        .unwrap();
    // A key created at t0 is "that recent" for any cut-off at or before t0.
    let blocked = key("EdDSA", t0 + secs(10), t0 + secs(600));
    assert!(!store.add_signing_key(&blocked, Some(t0)).await.unwrap());
    // Another algorithm's key does not count.
    let other = key("ES256", t0 + secs(10), t0 + secs(600));
    assert!(store.add_signing_key(&other, Some(t0)).await.unwrap());
    let due = key("EdDSA", t0 + secs(20), t0 + secs(600));
    assert!(store
        .add_signing_key(&due, Some(t0 + secs(1)))
        .await
        .unwrap());
    assert_eq!(store.signing_keys().await.unwrap().len(), 3);
}

pub async fn retiring_a_key_follows_the_rule_and_denies_its_tokens(
    store: &(impl SigningKeyStore + RevocationStore + ?Sized),
) {
    let t0 = now();
    let old = key("EdDSA", t0, t0);
    store.ensure_signing_key(&old).await.unwrap();
    let current = key("EdDSA", t0 + secs(1), t0 + secs(1));
    assert!(store.add_signing_key(&current, None).await.unwrap());
    let retirement = KeyRetirement {
        now: t0 + secs(2),
        token_lifetime: LIFETIME,
        deny_until: t0 + secs(2) + LIFETIME,
    };

    let refused = store
        .retire_signing_key(&current.kid, &retirement)
        .await
        .unwrap();
    assert_eq!(
        refused.map(|key| key.kid),
        Err(RetireRefused::Active(current.kid.clone()))
    );
    let unknown = store.retire_signing_key("nope", &retirement).await.unwrap();
    assert_eq!(
        unknown.map(|key| key.kid),
        Err(RetireRefused::NotFound("nope".into()))
    );

    let retired = store
        .retire_signing_key(&old.kid, &retirement)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(retired.retired_at, Some(retirement.now));
    let twice = store
        .retire_signing_key(&old.kid, &retirement)
        .await
        .unwrap();
    assert_eq!(
        twice.map(|key| key.kid),
        Err(RetireRefused::AlreadyRetired(old.kid.clone()))
    );

    // Every token it signed is refused: by the durable answer and in the snapshot.
    let old_id = Uuid::parse_str(&old.kid).unwrap();
    let signed_by = |kid| RevocationProbe { kid, ..probe() };
    let state = store
        .revocation_state(&signed_by(old_id), retirement.now)
        .await
        .unwrap();
    assert!(state.key_retired);
    let current_id = Uuid::parse_str(&current.kid).unwrap();
    let state = store
        .revocation_state(&signed_by(current_id), retirement.now)
        .await
        .unwrap();
    assert!(!state.key_retired);
    let snapshot = store.revocation_snapshot(retirement.now).await.unwrap();
    assert!(
        snapshot.contains(&RevocationChange::KeyRetired {
            kid: old_id,
            until: retirement.deny_until,
        }),
        "{snapshot:?}"
    );
    // Once every token it signed has expired, the fact is no longer in force.
    let later = store
        .revocation_snapshot(retirement.deny_until + secs(1))
        .await
        .unwrap();
    assert!(!later
        .iter()
        .any(|change| matches!(change, RevocationChange::KeyRetired { .. })));
}
