//! The durable revocation facts ([`portcullis_core::RevocationStore`]): user-wide revocation,
//! the jti denylist, and the two answers a cache relies on (one probe, the whole snapshot).

use crate::fixtures::{login, now, random_hash, request, secs, PASSWORD_HASH};
use portcullis_core::{
    RevocationChange, RevocationProbe, RevocationReason, RevocationState, RevocationStore,
    RotationOutcome, SessionId, SessionStore, UserId, UserStore,
};
use uuid::Uuid;

pub async fn revoke_user_bumps_the_version_locks_and_revokes_every_live_family(
    store: &(impl UserStore + SessionStore + RevocationStore + ?Sized),
) {
    let t0 = now();
    let (user, first_family, first_token) = login(store, t0).await;
    let (other, other_family, _) = login(store, t0).await;
    // A second session of the same user.
    let second_family = portcullis_core::Family {
        id: SessionId::new(),
        ..first_family.clone()
    };
    let second_token = portcullis_core::RefreshToken {
        hash: random_hash(),
        family_id: second_family.id,
        generation: 0,
        issued_at: t0,
        expires_at: t0 + secs(3600),
        used_at: None,
    };
    store
        .insert_family(&second_family, &second_token, PASSWORD_HASH)
        .await
        .unwrap();
    assert_eq!(store.live_sessions(user.id, t0).await.unwrap().len(), 2);

    let deny_until = t0 + secs(900);
    let revocation = store
        .revoke_user(user.id, true, RevocationReason::UserRevoked, deny_until, t0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(revocation.token_version, 1);
    let mut revoked = revocation.sessions_revoked.clone();
    revoked.sort();
    let mut expected = vec![first_family.id, second_family.id];
    expected.sort();
    assert_eq!(revoked, expected);

    let stored = store.user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!((stored.token_version, stored.locked), (1, true));
    assert!(store.live_sessions(user.id, t0).await.unwrap().is_empty());
    assert_eq!(store.live_sessions(other.id, t0).await.unwrap().len(), 1);
    let outcome = store
        .rotate(&request(first_token, random_hash(), t0))
        .await
        .unwrap();
    assert!(
        matches!(outcome, RotationOutcome::FamilyRevoked { .. }),
        "{outcome:?}"
    );

    // Again: the version moves on, no family is left to revoke, the other user is untouched.
    let again = store
        .revoke_user(
            user.id,
            false,
            RevocationReason::UserRevoked,
            deny_until,
            t0,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((again.token_version, again.sessions_revoked.len()), (2, 0));
    let untouched = store.user_by_id(other.id).await.unwrap().unwrap();
    assert_eq!(untouched.token_version, 0);
    assert!(store.live_sessions(other.id, t0).await.unwrap()[0].id == other_family.id);
    assert!(store
        .revoke_user(
            UserId::new(),
            false,
            RevocationReason::UserRevoked,
            deny_until,
            t0
        )
        .await
        .unwrap()
        .is_none());
}

pub async fn revocation_state_answers_all_three_checks(
    store: &(impl UserStore + SessionStore + RevocationStore + ?Sized),
) {
    let t0 = now();
    let (user, family, _) = login(store, t0).await;
    let jti = Uuid::new_v4();
    let probe = RevocationProbe {
        user: user.id,
        session: family.id,
        jti,
        kid: Uuid::new_v4(),
    };

    let clean = store.revocation_state(&probe, t0).await.unwrap();
    assert_eq!(clean, RevocationState::default());

    store.deny_jti(jti, t0 + secs(60)).await.unwrap();
    // An earlier `until` never shortens an existing entry.
    store.deny_jti(jti, t0 + secs(10)).await.unwrap();
    store
        .revoke_user(
            user.id,
            false,
            RevocationReason::UserRevoked,
            t0 + secs(900),
            t0,
        )
        .await
        .unwrap();
    let revoked = store.revocation_state(&probe, t0 + secs(30)).await.unwrap();
    assert_eq!(
        revoked,
        RevocationState {
            token_version: 1,
            session_revoked: true,
            jti_denied: true,
            key_retired: false,
        }
    );
    let lapsed = store.revocation_state(&probe, t0 + secs(60)).await.unwrap();
    assert!(!lapsed.jti_denied);

    let unknown = RevocationProbe {
        user: UserId::new(),
        session: SessionId::new(),
        jti,
        kid: Uuid::new_v4(),
    };
    let state = store
        .revocation_state(&unknown, t0 + secs(61))
        .await
        .unwrap();
    assert_eq!(
        state,
        RevocationState {
            token_version: -1,
            ..RevocationState::default()
        }
    );
}

pub async fn the_snapshot_lists_every_fact_still_in_force_and_nothing_else(
    store: &(impl UserStore + SessionStore + RevocationStore + ?Sized),
) {
    let t0 = now();
    let (bumped, bumped_family, _) = login(store, t0).await;
    let (_, revoked_family, revoked_token) = login(store, t0).await;
    let (_, lapsed_family, _) = login(store, t0).await;
    let _untouched = login(store, t0).await;
    let (live_jti, lapsed_jti) = (Uuid::new_v4(), Uuid::new_v4());

    store
        .revoke_user(
            bumped.id,
            false,
            RevocationReason::UserRevoked,
            t0 + secs(900),
            t0,
        )
        .await
        .unwrap();
    store
        .revoke_session_by_token(&revoked_token, RevocationReason::Logout, t0 + secs(600), t0)
        .await
        .unwrap();
    store
        .revoke_session(
            lapsed_family.id,
            None,
            RevocationReason::Logout,
            t0 + secs(5),
            t0,
        )
        .await
        .unwrap();
    store.deny_jti(live_jti, t0 + secs(600)).await.unwrap();
    store.deny_jti(lapsed_jti, t0 + secs(5)).await.unwrap();

    let mut snapshot = store.revocation_snapshot(t0 + secs(10)).await.unwrap();
    let mut expected = vec![
        RevocationChange::TokenVersion {
            user: bumped.id,
            version: 1,
        },
        // The bumped user's family went with the user.
        RevocationChange::SessionDenied {
            session: bumped_family.id,
            until: t0 + secs(900),
        },
        RevocationChange::SessionDenied {
            session: revoked_family.id,
            until: t0 + secs(600),
        },
        RevocationChange::JtiDenied {
            jti: live_jti,
            until: t0 + secs(600),
        },
    ];
    let key = |change: &RevocationChange| format!("{change:?}");
    snapshot.sort_by_key(key);
    expected.sort_by_key(key);
    assert_eq!(snapshot, expected);
}
