//! The retention purge: exactly the rows the cut-offs let go, and nothing a decision still needs.

use crate::fixtures::{login, now, open_session, random_hash, request, secs, DAY};
use portcullis_core::account::Erasure;
use portcullis_core::retention::{Cutoffs, Purged};
use portcullis_core::revocation::DELETED_USER_VERSION;
use portcullis_core::{
    Durable, EventKind, RevocationChange, RevocationProbe, RevocationReason, RevocationStore,
    SecurityEvent, SessionId, SessionStore, UserId,
};
use time::OffsetDateTime;
use uuid::Uuid;

/// What [`seed`] stored, by what the cut-offs of [`cutoffs_at`] should do with it.
struct Seeded {
    user: UserId,
    gone: Vec<SessionId>,
    kept: Vec<SessionId>,
    jti_gone: Uuid,
    jti_kept: Vec<Uuid>,
    erased_gone: UserId,
    erased_kept: UserId,
}

/// Families end more than a day ago, revocations are 30 days old, denials lapsed 10s ago.
fn cutoffs_at(t: OffsetDateTime) -> Cutoffs {
    Cutoffs {
        family_ended_before: t - secs(DAY),
        revoked_before: t - secs(30 * DAY),
        denial_lapsed_before: t - secs(10),
        jti_lapsed_before: t - secs(10),
        events_before: Some(t - secs(90 * DAY)),
        // Everything the seed logged was logged just now.
        revocation_log_before: t - secs(3600),
    }
}

/// Three refresh tokens in two families, one jti and one event that [`cutoffs_at`] lets go, and
/// one of each kind of row it must keep.
async fn seed(store: &(impl Durable + ?Sized), t: OffsetDateTime) -> Seeded {
    let long_ago = t - secs(40 * DAY);
    let (user, ended, ended_token) = login(store, long_ago).await;
    // A rotated family keeps its rotated-away token; both go with it.
    store
        .rotate(&request(ended_token, random_hash(), long_ago + secs(60)))
        .await
        .unwrap();
    let revoke = |id: SessionId, deny_until: OffsetDateTime, at: OffsetDateTime| async move {
        store
            .revoke_session(id, None, RevocationReason::Logout, deny_until, at)
            .await
            .unwrap()
            .unwrap();
    };
    let (revoked_long_ago, _) = open_session(store, user.id, long_ago).await;
    revoke(
        revoked_long_ago.id,
        t - secs(35 * DAY) + secs(900),
        t - secs(35 * DAY),
    )
    .await;

    let (revoked_recently, _) = open_session(store, user.id, long_ago).await;
    revoke(
        revoked_recently.id,
        t - secs(20 * DAY) + secs(900),
        t - secs(20 * DAY),
    )
    .await;
    let (still_denied, _) = open_session(store, user.id, long_ago).await;
    revoke(still_denied.id, t + secs(60), t - secs(35 * DAY)).await;
    // Idle-expired 22.5 hours ago: its access tokens may still be around.
    let (just_ended, _) = open_session(store, user.id, t - secs(DAY) + secs(1800)).await;
    let (live, _) = open_session(store, user.id, t).await;

    let (jti_gone, lapsing, live_jti) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    store.deny_jti(jti_gone, t - secs(60)).await.unwrap();
    store.deny_jti(lapsing, t - secs(5)).await.unwrap();
    store.deny_jti(live_jti, t + secs(600)).await.unwrap();

    // Erased accounts: one whose tokens have all expired, one whose may still be around.
    let erase = |deny_until: OffsetDateTime| async move {
        let (erased, _, _) = login(store, long_ago).await;
        let erasure = Erasure {
            deny_until,
            now: deny_until - secs(900),
        };
        store
            .erase_user(erased.id, &erasure)
            .await
            .unwrap()
            .unwrap();
        erased.id
    };
    let erased_gone = erase(t - secs(60)).await;
    let erased_kept = erase(t + secs(600)).await;

    for days in [91, 89, 0] {
        let event = SecurityEvent::new(EventKind::LoginFailed, t - secs(days * DAY));
        store.record_event(&event, false).await.unwrap();
    }
    Seeded {
        user: user.id,
        gone: vec![ended.id, revoked_long_ago.id],
        kept: vec![revoked_recently.id, still_denied.id, just_ended.id, live.id],
        jti_gone,
        jti_kept: vec![lapsing, live_jti],
        erased_gone,
        erased_kept,
    }
}

/// Whether a cache filled at a moment before any seeded tombstone lapsed would refuse `user`.
async fn tombstoned(
    store: &(impl RevocationStore + ?Sized),
    user: UserId,
    t: OffsetDateTime,
) -> bool {
    let tombstone = RevocationChange::TokenVersion {
        user,
        version: DELETED_USER_VERSION,
    };
    store
        .revocation_snapshot(t - secs(120))
        .await
        .unwrap()
        .contains(&tombstone)
}

/// Whether the family is stored, by revoking it (a stored family answers, even if revoked).
async fn stored(store: &(impl SessionStore + ?Sized), id: SessionId, t: OffsetDateTime) -> bool {
    store
        .revoke_session(id, None, RevocationReason::AdminRevoked, t, t)
        .await
        .unwrap()
        .is_some()
}

/// Whether the jti is still denied at a moment before any of the seeded entries lapsed.
async fn denied(store: &(impl RevocationStore + ?Sized), jti: Uuid, t: OffsetDateTime) -> bool {
    let probe = RevocationProbe {
        user: UserId::new(),
        session: SessionId::new(),
        jti,
        kid: Uuid::new_v4(),
    };
    store
        .revocation_state(&probe, t - secs(70))
        .await
        .unwrap()
        .jti_denied
}

pub async fn the_purge_deletes_exactly_what_the_cutoffs_let_go(store: &(impl Durable + ?Sized)) {
    let t = now();
    let seeded = seed(store, t).await;

    // A batch of one: every delete loops until its rows are gone.
    let purged = store.purge(&cutoffs_at(t), 1).await.unwrap();
    assert_eq!(
        purged,
        Some(Purged {
            refresh_tokens: 3,
            families: 2,
            denied_jtis: 1,
            erased_users: 1,
            events: 1,
            revocation_log: 0,
            single_uses: 0,
        })
    );
    // A second pass finds nothing left to delete.
    assert_eq!(
        store.purge(&cutoffs_at(t), 100).await.unwrap(),
        Some(Purged::default())
    );

    assert!(!denied(store, seeded.jti_gone, t).await);
    assert!(!tombstoned(store, seeded.erased_gone, t).await);
    assert!(tombstoned(store, seeded.erased_kept, t).await);
    for jti in seeded.jti_kept {
        assert!(denied(store, jti, t).await, "{jti} was kept");
    }
    let query = portcullis_core::admin::EventQuery {
        limit: 10,
        ..Default::default()
    };
    let events = store.query_events(&query).await.unwrap();
    let ages: Vec<OffsetDateTime> = events.iter().map(|stored| stored.event.at).collect();
    assert_eq!(ages, vec![t, t - secs(89 * DAY)]);
    // The listing still shows the recently revoked families.
    let listed = store
        .sessions_of(seeded.user, t - secs(60 * DAY), t)
        .await
        .unwrap();
    assert_eq!(listed.len(), 3, "{listed:?}");

    for id in seeded.gone {
        assert!(!stored(store, id, t).await, "{id:?} should have gone");
    }
    for id in seeded.kept {
        assert!(stored(store, id, t).await, "{id:?} should have stayed");
    }
}

pub async fn a_purge_with_cutoffs_in_the_past_deletes_nothing(store: &(impl Durable + ?Sized)) {
    let t = now();
    let seeded = seed(store, t).await;
    let nothing = Cutoffs {
        family_ended_before: OffsetDateTime::UNIX_EPOCH,
        revoked_before: OffsetDateTime::UNIX_EPOCH,
        denial_lapsed_before: OffsetDateTime::UNIX_EPOCH,
        jti_lapsed_before: OffsetDateTime::UNIX_EPOCH,
        // No event retention keeps even the oldest event.
        events_before: None,
        revocation_log_before: OffsetDateTime::UNIX_EPOCH,
    };
    assert_eq!(
        store.purge(&nothing, 10).await.unwrap(),
        Some(Purged::default())
    );
    assert!(denied(store, seeded.jti_gone, t).await);
    assert!(tombstoned(store, seeded.erased_gone, t).await);
    for id in seeded.gone.into_iter().chain(seeded.kept) {
        assert!(stored(store, id, t).await, "{id:?} should have stayed");
    }
}
