//! Session and user revocation, the jti denylist, and the two answers a cache relies on.

use crate::fixtures::{login, now, open_session, random_hash, request, secs, DAY};
use portcullis_core::admin::SessionFilter;
use portcullis_core::{
    Family, RevocationChange, RevocationProbe, RevocationReason, RevocationState, RotationOutcome,
    SessionId, SessionStore, UserId, UserStore,
};
use uuid::Uuid;

pub async fn revoke_user_bumps_the_version_locks_and_revokes_every_live_family(
    store: &(impl UserStore + SessionStore + ?Sized),
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
        .insert_family(&second_family, &second_token)
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

pub async fn a_session_is_revoked_only_by_its_owner_or_by_its_token(
    store: &(impl UserStore + SessionStore + ?Sized),
) {
    let t0 = now();
    let (user, family, token) = login(store, t0).await;
    let deny_until = t0 + secs(900);

    let stranger = store
        .revoke_session(
            family.id,
            Some(UserId::new()),
            RevocationReason::SessionDeleted,
            deny_until,
            t0,
        )
        .await
        .unwrap();
    assert!(stranger.is_none());
    assert_eq!(store.live_sessions(user.id, t0).await.unwrap().len(), 1);

    let by_token = store
        .revoke_session_by_token(&token, RevocationReason::Logout, deny_until, t0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_token.revoked_reason, Some(RevocationReason::Logout));
    // Revoking again keeps the first reason and time.
    let owner = store
        .revoke_session(
            family.id,
            Some(user.id),
            RevocationReason::SessionDeleted,
            deny_until,
            t0 + secs(5),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(owner.revoked_reason, Some(RevocationReason::Logout));
    assert_eq!(owner.revoked_at, Some(t0));
    assert!(store
        .revoke_session_by_token(&random_hash(), RevocationReason::Logout, deny_until, t0)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .revoke_session(
            SessionId::new(),
            None,
            RevocationReason::Logout,
            deny_until,
            t0
        )
        .await
        .unwrap()
        .is_none());
}

pub async fn revocation_state_answers_all_three_checks(
    store: &(impl UserStore + SessionStore + ?Sized),
) {
    let t0 = now();
    let (user, family, _) = login(store, t0).await;
    let jti = Uuid::new_v4();
    let probe = RevocationProbe {
        user: user.id,
        session: family.id,
        jti,
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
            jti_denied: true
        }
    );
    let lapsed = store.revocation_state(&probe, t0 + secs(60)).await.unwrap();
    assert!(!lapsed.jti_denied);

    let unknown = RevocationProbe {
        user: UserId::new(),
        session: SessionId::new(),
        jti,
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
    store: &(impl UserStore + SessionStore + ?Sized),
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

pub async fn sessions_of_lists_live_and_recently_revoked_families_newest_first(
    store: &(impl UserStore + SessionStore + ?Sized),
) {
    let t0 = now();
    let (user, first, _) = login(store, t0).await;
    let (second, _) = open_session(store, user.id, t0 + secs(1)).await;
    let (third, _) = open_session(store, user.id, t0 + secs(2)).await;
    // Ended long ago, never revoked: neither live nor recently revoked.
    open_session(store, user.id, t0 - secs(2 * DAY)).await;
    let (_, stranger, _) = login(store, t0 + secs(3)).await;
    store
        .revoke_session(
            first.id,
            Some(user.id),
            RevocationReason::Logout,
            t0 + secs(900),
            t0 + secs(10),
        )
        .await
        .unwrap()
        .unwrap();

    let ids = |families: Vec<Family>| families.into_iter().map(|f| f.id).collect::<Vec<_>>();
    let listed = store
        .sessions_of(user.id, t0 + secs(5), t0 + secs(20))
        .await
        .unwrap();
    assert_eq!(ids(listed), vec![third.id, second.id, first.id]);
    let listed = store
        .sessions_of(user.id, t0 + secs(15), t0 + secs(20))
        .await
        .unwrap();
    assert_eq!(ids(listed), vec![third.id, second.id]);
    let mut live = ids(store.live_sessions(user.id, t0 + secs(20)).await.unwrap());
    live.sort();
    let mut expected = vec![second.id, third.id];
    expected.sort();
    assert_eq!(live, expected);
    assert!(!ids(store.sessions_of(user.id, t0, t0).await.unwrap()).contains(&stranger.id));
}

pub async fn mass_revocation_selects_by_creation_time_and_role_and_revokes_only_live_sessions(
    store: &(impl UserStore + SessionStore + ?Sized),
) {
    let t0 = now();
    let early = t0 - secs(100);
    // alice holds `admin` and `billing:read`; bob only `ops`.
    let (alice, alice_new, _) = login(store, t0).await;
    let (alice_old, alice_old_token) = open_session(store, alice.id, early).await;
    open_session(store, alice.id, t0 - secs(2 * DAY)).await; // ended: never selected
    let (bob, bob_old, _) = login(store, early).await;
    store.set_roles(bob.id, &["ops".to_owned()]).await.unwrap();
    let (bob_revoked, _) = open_session(store, bob.id, early).await;
    store
        .revoke_session(bob_revoked.id, None, RevocationReason::Logout, t0, early)
        .await
        .unwrap()
        .unwrap();
    // alice's old session was last used from 10.0.0.2.
    store
        .rotate(&request(alice_old_token, random_hash(), t0))
        .await
        .unwrap();

    let select = |filter: SessionFilter| async move {
        let mut ids: Vec<SessionId> = store
            .live_sessions_matching(&filter, t0)
            .await
            .unwrap()
            .into_iter()
            .filter(|family| filter.address_matches(family))
            .map(|family| family.id)
            .collect();
        ids.sort();
        ids
    };
    let sorted = |mut ids: Vec<SessionId>| {
        ids.sort();
        ids
    };
    let role = |name: &str| Some(name.to_owned());
    let cases = [
        (
            "no criterion: every live session",
            SessionFilter::default(),
            vec![alice_new.id, alice_old.id, bob_old.id],
        ),
        (
            "created before",
            SessionFilter {
                created_before: Some(t0 - secs(50)),
                ..SessionFilter::default()
            },
            vec![alice_old.id, bob_old.id],
        ),
        (
            "holding a role",
            SessionFilter {
                role: role("admin"),
                ..SessionFilter::default()
            },
            vec![alice_new.id, alice_old.id],
        ),
        (
            "a role matches whole names only",
            SessionFilter {
                role: role("billing"),
                ..SessionFilter::default()
            },
            vec![],
        ),
        (
            "every criterion must hold",
            SessionFilter {
                created_before: Some(t0 - secs(50)),
                role: role("ops"),
                ..SessionFilter::default()
            },
            vec![bob_old.id],
        ),
        (
            "last used from an address range",
            SessionFilter {
                last_ip_in: Some("10.0.0.2/32".parse().unwrap()),
                ..SessionFilter::default()
            },
            vec![alice_old.id],
        ),
    ];
    for (name, filter, expected) in cases {
        assert_eq!(select(filter).await, sorted(expected), "{name}");
    }

    let deny_until = t0 + secs(900);
    let at = t0 + secs(1);
    let revoked = store
        .revoke_sessions(
            &[alice_old.id, bob_old.id, bob_revoked.id, SessionId::new()],
            RevocationReason::AdminRevoked,
            deny_until,
            at,
        )
        .await
        .unwrap();
    assert_eq!(
        sorted(revoked.iter().map(|f| f.id).collect()),
        sorted(vec![alice_old.id, bob_old.id]),
        "only sessions still live are revoked"
    );
    for family in &revoked {
        assert_eq!(family.revoked_at, Some(at));
        assert_eq!(family.revoked_reason, Some(RevocationReason::AdminRevoked));
    }
    assert_eq!(
        select(SessionFilter::default()).await,
        vec![alice_new.id],
        "the revoked sessions are no longer live"
    );
    let state = store
        .revocation_state(
            &RevocationProbe {
                user: bob.id,
                session: bob_old.id,
                jti: Uuid::new_v4(),
            },
            at,
        )
        .await
        .unwrap();
    assert!(state.session_revoked);
    // The session revoked earlier keeps its first reason.
    let bobs = store
        .sessions_of(bob.id, early - secs(1), at)
        .await
        .unwrap();
    let earlier = bobs.iter().find(|f| f.id == bob_revoked.id).unwrap();
    assert_eq!(earlier.revoked_reason, Some(RevocationReason::Logout));
    assert!(store
        .revoke_sessions(
            &[alice_old.id],
            RevocationReason::AdminRevoked,
            deny_until,
            at
        )
        .await
        .unwrap()
        .is_empty());
}
