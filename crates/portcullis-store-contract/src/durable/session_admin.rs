//! The security team's session queries ([`portcullis_core::SessionAdminStore`]): a user's
//! sessions with the recently revoked ones, and mass revocation by filter.

use crate::fixtures::{login, now, open_session, random_hash, request, secs, DAY};
use portcullis_core::admin::SessionFilter;
use portcullis_core::{
    Family, RevocationProbe, RevocationReason, RevocationStore, SessionAdminStore, SessionId,
    SessionStore, UserStore,
};
use uuid::Uuid;

pub async fn sessions_of_lists_live_and_recently_revoked_families_newest_first(
    store: &(impl UserStore + SessionStore + SessionAdminStore + RevocationStore + ?Sized),
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
    store: &(impl UserStore + SessionStore + SessionAdminStore + RevocationStore + ?Sized),
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
                kid: Uuid::new_v4(),
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
