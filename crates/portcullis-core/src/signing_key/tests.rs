use super::*;
use proptest::prelude::*;

const LIFETIME: Duration = Duration::from_secs(100);

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(seconds)
}

fn key(
    kid: &str,
    alg: &str,
    created: i64,
    activates: i64,
    retired: Option<i64>,
) -> StoredSigningKey {
    StoredSigningKey {
        kid: kid.to_owned(),
        alg: alg.to_owned(),
        public_key: Vec::new(),
        encrypted_private_key: Vec::new(),
        created_at: at(created),
        activates_at: at(activates),
        retired_at: retired.map(at),
    }
}

fn states(keys: &[StoredSigningKey], now: i64) -> Vec<&'static str> {
    statuses(keys, at(now), LIFETIME)
        .into_iter()
        .map(|status| status.state.as_str())
        .collect()
}

#[test]
fn a_rotation_walks_next_active_retiring_retired() {
    // k1 signs from 0; k2 is published at 50 and takes over at 60.
    let keys = [
        key("k2", "EdDSA", 50, 60, None),
        key("k1", "EdDSA", 0, 0, None),
    ];
    assert_eq!(states(&keys, 55), ["next", "active"]);
    assert_eq!(states(&keys, 60), ["active", "retiring"]);
    assert_eq!(states(&keys, 159), ["active", "retiring"]);
    assert_eq!(states(&keys, 160), ["active", "retired"]);
    assert_eq!(
        statuses(&keys, at(60), LIFETIME)[1].retires_at,
        Some(at(160))
    );
    assert_eq!(
        active_key(&keys, "EdDSA", at(55)).map(|k| &*k.kid),
        Some("k1")
    );
    assert_eq!(
        active_key(&keys, "EdDSA", at(60)).map(|k| &*k.kid),
        Some("k2")
    );
}

#[test]
fn each_algorithm_has_its_own_active_key() {
    let keys = [
        key("es", "ES256", 10, 10, None),
        key("ed", "EdDSA", 0, 0, None),
    ];
    assert_eq!(states(&keys, 20), ["active", "active"]);
    assert_eq!(
        active_key(&keys, "ES256", at(20)).map(|k| &*k.kid),
        Some("es")
    );
}

#[test]
fn a_key_retired_before_it_activated_never_takes_over() {
    let keys = [
        key("k2", "EdDSA", 50, 60, Some(55)),
        key("k1", "EdDSA", 0, 0, None),
    ];
    assert_eq!(states(&keys, 70), ["retired", "active"]);
    assert_eq!(
        active_key(&keys, "EdDSA", at(70)).map(|k| &*k.kid),
        Some("k1")
    );
}

#[test]
fn retiring_is_refused_for_the_active_key_and_for_unknown_or_retired_ones() {
    let keys = [
        key("k3", "EdDSA", 90, 200, None),
        key("k2", "EdDSA", 50, 60, None),
        key("k1", "EdDSA", 0, 0, None),
        key("k0", "EdDSA", 0, 0, Some(10)),
    ];
    let now = at(70);
    assert_eq!(
        may_retire(&keys, "k2", now, LIFETIME),
        Err(RetireRefused::Active("k2".into()))
    );
    assert_eq!(
        may_retire(&keys, "nope", now, LIFETIME),
        Err(RetireRefused::NotFound("nope".into()))
    );
    assert_eq!(
        may_retire(&keys, "k0", now, LIFETIME),
        Err(RetireRefused::AlreadyRetired("k0".into()))
    );
    assert_eq!(may_retire(&keys, "k1", now, LIFETIME), Ok(()));
    assert_eq!(may_retire(&keys, "k3", now, LIFETIME), Ok(()));
}

#[test]
fn rotation_is_due_once_the_newest_key_is_a_period_old() {
    let period = Duration::from_secs(1000);
    let keys = [key("k1", "EdDSA", 0, 0, None)];
    assert!(!rotation_due(&keys, "EdDSA", at(999), period));
    assert!(rotation_due(&keys, "EdDSA", at(1000), period));
    assert!(!rotation_due(&keys, "EdDSA", at(5000), Duration::ZERO));
    let pending = [
        key("k2", "EdDSA", 1000, 1600, None),
        key("k1", "EdDSA", 0, 0, None),
    ];
    assert!(!rotation_due(&pending, "EdDSA", at(1500), period));
}

fn arbitrary_keys() -> impl Strategy<Value = Vec<StoredSigningKey>> {
    let one = (
        prop::sample::select(vec!["EdDSA", "ES256"]),
        0i64..1000,
        0i64..300,
        prop::option::weighted(0.3, 0i64..1500),
    );
    prop::collection::vec(one, 1..6).prop_map(|specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(i, (alg, created, delay, retired))| {
                key(&format!("k{i}"), alg, created, created + delay, retired)
            })
            .collect()
    })
}

fn rank(state: KeyState) -> u8 {
    match state {
        KeyState::Next => 0,
        KeyState::Active => 1,
        KeyState::Retiring => 2,
        KeyState::Retired => 3,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// At most one key per algorithm is active, and it is the one `active_key` signs with.
    #[test]
    fn one_active_key_per_algorithm(keys in arbitrary_keys(), now in 0i64..2000) {
        let all = statuses(&keys, at(now), LIFETIME);
        for alg in ["EdDSA", "ES256"] {
            let active: Vec<&str> = keys
                .iter()
                .zip(&all)
                .filter(|(key, status)| key.alg == alg && status.state == KeyState::Active)
                .map(|(key, _)| &*key.kid)
                .collect();
            prop_assert!(active.len() <= 1, "{active:?}");
            prop_assert_eq!(
                active.first().copied(),
                active_key(&keys, alg, at(now)).map(|key| &*key.kid)
            );
        }
    }

    /// Without an operator's retirement, a key of an algorithm that has started signing always
    /// leaves one active key: rotation alone never leaves the gateway unable to sign.
    #[test]
    fn rotation_alone_always_leaves_a_signing_key(keys in arbitrary_keys(), now in 0i64..2000) {
        let keys: Vec<_> = keys.into_iter().map(|key| StoredSigningKey { retired_at: None, ..key }).collect();
        for alg in ["EdDSA", "ES256"] {
            let started = keys.iter().any(|key| key.alg == alg && key.activates_at <= at(now));
            prop_assert_eq!(started, active_key(&keys, alg, at(now)).is_some());
        }
    }

    /// A key's state only moves forward in time: next → active → retiring → retired.
    #[test]
    fn states_never_go_back(keys in arbitrary_keys(), now in 0i64..2000, later in 0i64..2000) {
        let later = now + later;
        let before = statuses(&keys, at(now), LIFETIME);
        let after = statuses(&keys, at(later), LIFETIME);
        for (a, b) in before.iter().zip(&after) {
            prop_assert!(rank(a.state) <= rank(b.state), "{a:?} then {b:?}");
        }
    }

    /// Retiring what the rule allows never changes which key signs, and the key it retires
    /// is refused from then on.
    #[test]
    fn an_allowed_retirement_keeps_the_signing_key(keys in arbitrary_keys(), now in 0i64..2000, pick in 0usize..6) {
        let kid = keys[pick % keys.len()].kid.clone();
        if may_retire(&keys, &kid, at(now), LIFETIME).is_ok() {
            let retired: Vec<_> = keys
                .iter()
                .cloned()
                .map(|key| if key.kid == kid { StoredSigningKey { retired_at: Some(at(now)), ..key } } else { key })
                .collect();
            for alg in ["EdDSA", "ES256"] {
                prop_assert_eq!(
                    active_key(&keys, alg, at(now)).map(|key| key.kid.clone()),
                    active_key(&retired, alg, at(now)).map(|key| key.kid.clone())
                );
            }
            let index = keys.iter().position(|key| key.kid == kid).expect("picked from keys");
            prop_assert_eq!(statuses(&retired, at(now), LIFETIME)[index].state, KeyState::Retired);
        }
    }
}
