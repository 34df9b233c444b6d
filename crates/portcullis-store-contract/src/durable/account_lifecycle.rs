//! An account after registration: a password reset by an admin or changed by its owner (and the
//! sessions each ends), the listing of accounts, and erasing an account.

use crate::fixtures::{login, now, open_session, secs, user, PASSWORD_HASH};
use portcullis_core::account::{Erasure, PasswordReset, PasswordResetOutcome, UserQuery};
use portcullis_core::admin::EventQuery;
use portcullis_core::revocation::DELETED_USER_VERSION;
use portcullis_core::{
    Durable, EventKind, RevocationChange, RevocationProbe, RevocationReason, SecurityEvent, UserId,
    UserRevocation,
};
use uuid::Uuid;

pub async fn an_admin_password_reset_ends_every_session_and_bumps_the_version(
    store: &(impl Durable + ?Sized),
) {
    let t = now();
    let (alice, first, _) = login(store, t).await;
    let (second, _) = open_session(store, alice.id, t).await;
    let (bob, bobs, _) = login(store, t).await;
    let reset = PasswordReset {
        password_hash: "new-hash",
        keep_session: None,
        replaces: None,
        deny_until: t + secs(900),
        now: t,
    };

    let done = reset_done(store.reset_password(alice.id, &reset).await.unwrap());

    assert_eq!(done.token_version, 1);
    let mut ended = done.sessions_revoked.clone();
    ended.sort_by_key(|id| id.0);
    let mut expected = vec![first.id, second.id];
    expected.sort_by_key(|id| id.0);
    assert_eq!(ended, expected);
    let stored = store.user_by_id(alice.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.password_hash.as_str(), stored.token_version),
        ("new-hash", 1)
    );
    assert!(store.live_sessions(alice.id, t).await.unwrap().is_empty());
    let listed = store.sessions_of(alice.id, t - secs(60), t).await.unwrap();
    assert!(listed
        .iter()
        .all(|family| family.revoked_reason == Some(RevocationReason::PasswordChanged)));
    // Nobody else's sessions are touched, and nobody else's version.
    assert_eq!(store.live_sessions(bob.id, t).await.unwrap()[0].id, bobs.id);
    assert_eq!(
        store
            .user_by_id(bob.id)
            .await
            .unwrap()
            .unwrap()
            .token_version,
        0
    );
    assert_eq!(
        store.reset_password(UserId::new(), &reset).await.unwrap(),
        None
    );
}

pub async fn an_owner_password_change_keeps_only_the_session_it_came_from(
    store: &(impl Durable + ?Sized),
) {
    let t = now();
    let (alice, current, _) = login(store, t).await;
    let (other, _) = open_session(store, alice.id, t).await;
    let (third, _) = open_session(store, alice.id, t).await;
    let reset = PasswordReset {
        password_hash: "changed",
        keep_session: Some(current.id),
        replaces: Some(PASSWORD_HASH),
        deny_until: t + secs(900),
        now: t,
    };

    let done = reset_done(store.reset_password(alice.id, &reset).await.unwrap());

    // No version bump: the current session's access tokens go on; the others' are denied with
    // their sessions.
    assert_eq!(done.token_version, 0);
    let mut ended = done.sessions_revoked.clone();
    ended.sort_by_key(|id| id.0);
    let mut expected = vec![other.id, third.id];
    expected.sort_by_key(|id| id.0);
    assert_eq!(ended, expected);
    let live = store.live_sessions(alice.id, t).await.unwrap();
    assert_eq!(live.iter().map(|f| f.id).collect::<Vec<_>>(), [current.id]);
    let snapshot = store.revocation_snapshot(t).await.unwrap();
    for ended in [other.id, third.id] {
        assert!(snapshot.contains(&RevocationChange::SessionDenied {
            session: ended,
            until: t + secs(900),
        }));
    }
    assert_eq!(
        store
            .user_by_id(alice.id)
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "changed"
    );
}

/// The reset's outcome, which must be a reset.
fn reset_done(outcome: Option<PasswordResetOutcome>) -> UserRevocation {
    match outcome {
        Some(PasswordResetOutcome::Reset(revocation)) => revocation,
        other => panic!("expected a reset, got {other:?}"),
    }
}

pub async fn an_owner_password_change_whose_proof_no_longer_holds_changes_nothing(
    store: &(impl Durable + ?Sized),
) {
    let t = now();
    let (alice, current, _) = login(store, t).await;
    let (other, _) = open_session(store, alice.id, t).await;
    let change = |replaces, keep| PasswordReset {
        password_hash: "attacker's",
        keep_session: Some(keep),
        replaces: Some(replaces),
        deny_until: t + secs(900),
        now: t,
    };

    // The password was reset after the owner's current password was checked.
    let stale = store
        .reset_password(alice.id, &change("the hash before a reset", current.id))
        .await
        .unwrap();
    assert_eq!(stale, Some(PasswordResetOutcome::Stale));
    // The session it would keep has ended (another change, or the reset, ended it).
    store
        .revoke_session(
            current.id,
            None,
            RevocationReason::PasswordChanged,
            t + secs(900),
            t,
        )
        .await
        .unwrap();
    let ended = store
        .reset_password(alice.id, &change(PASSWORD_HASH, current.id))
        .await
        .unwrap();
    assert_eq!(ended, Some(PasswordResetOutcome::Stale));
    // Nothing was changed either time.
    let stored = store.user_by_id(alice.id).await.unwrap().unwrap();
    assert_eq!(stored.password_hash, PASSWORD_HASH);
    let live = store.live_sessions(alice.id, t).await.unwrap();
    assert_eq!(live.iter().map(|f| f.id).collect::<Vec<_>>(), [other.id]);
}

pub async fn accounts_are_listed_by_email_filtered_and_paged(store: &(impl Durable + ?Sized)) {
    let t = now();
    let mut emails = Vec::new();
    for (name, roles, locked) in [
        ("carol", vec!["ops".to_owned()], false),
        ("alice", vec!["admin".to_owned(), "ops".to_owned()], false),
        ("bob", vec![], true),
        ("dave_100%", vec![], false),
    ] {
        let mut account = user(&format!("{name}@example.com"), t);
        account.roles = roles;
        account.locked = locked;
        store.insert_user(&account).await.unwrap();
        emails.push((account.email.clone(), account.id));
    }
    let alice = emails[1].1;
    // A session opened later is the last login; the earlier one does not win it back.
    open_session(store, alice, t + secs(60)).await;
    open_session(store, alice, t + secs(30)).await;

    let list = |query: UserQuery| async move {
        store
            .list_users(&query)
            .await
            .unwrap()
            .into_iter()
            .map(|account| account.email)
            .collect::<Vec<_>>()
    };
    let everyone = UserQuery {
        limit: 10,
        ..UserQuery::default()
    };
    assert_eq!(
        list(everyone.clone()).await,
        [
            "alice@example.com",
            "bob@example.com",
            "carol@example.com",
            "dave_100%@example.com"
        ]
    );
    let first = store.list_users(&everyone).await.unwrap();
    assert_eq!(first[0].id, alice);
    assert_eq!(first[0].roles, ["admin", "ops"]);
    assert_eq!(first[0].created_at, t);
    assert_eq!(first[0].last_login_at, Some(t + secs(60)));
    assert_eq!(first[1].last_login_at, None);
    assert!(first[1].locked);

    let by = |query: UserQuery| UserQuery { limit: 10, ..query };
    assert_eq!(
        list(by(UserQuery {
            role: Some("ops".into()),
            ..UserQuery::default()
        }))
        .await,
        ["alice@example.com", "carol@example.com"]
    );
    assert_eq!(
        list(by(UserQuery {
            locked: Some(true),
            ..UserQuery::default()
        }))
        .await,
        ["bob@example.com"]
    );
    // The text is matched as it is: '%' and '_' are not wildcards.
    assert_eq!(
        list(by(UserQuery {
            email_contains: Some("_100%".into()),
            ..UserQuery::default()
        }))
        .await,
        ["dave_100%@example.com"]
    );
    assert!(list(by(UserQuery {
        email_contains: Some("%".into()),
        role: Some("ops".into()),
        ..UserQuery::default()
    }))
    .await
    .is_empty());
    // Pages of two, each after the last email of the one before.
    let page = |after: Option<&str>| UserQuery {
        after_email: after.map(str::to_owned),
        limit: 2,
        ..UserQuery::default()
    };
    assert_eq!(
        list(page(None)).await,
        ["alice@example.com", "bob@example.com"]
    );
    assert_eq!(
        list(page(Some("bob@example.com"))).await,
        ["carol@example.com", "dave_100%@example.com"]
    );
    assert!(list(page(Some("dave_100%@example.com"))).await.is_empty());
}

pub async fn erasing_an_account_keeps_its_events_without_the_email_and_its_tokens_refused(
    store: &(impl Durable + ?Sized),
) {
    let t = now();
    let (alice, live, _) = login(store, t).await;
    let (ended, _) = open_session(store, alice.id, t).await;
    store
        .revoke_session(ended.id, None, RevocationReason::Logout, t + secs(900), t)
        .await
        .unwrap();
    let (bob, bobs, _) = login(store, t).await;
    let attempt = |user: Option<UserId>, email: &str| {
        let event = SecurityEvent::new(EventKind::LoginFailed, t)
            .details(format!(r#"{{"email":"{email}","email_known":true}}"#));
        match user {
            Some(user) => event.user(user),
            None => event,
        }
    };
    // About alice: one naming her, one made on her address before it was registered, one
    // without an email; and one about bob.
    for event in [
        attempt(Some(alice.id), &alice.email),
        attempt(None, &alice.email),
        SecurityEvent::new(EventKind::UserLocked, t)
            .user(alice.id)
            .details(r#"{"sessions_revoked":1}"#.into()),
        attempt(Some(bob.id), &bob.email),
    ] {
        store.record_event(&event, false).await.unwrap();
    }
    let erasure = Erasure {
        deny_until: t + secs(900),
        now: t,
    };

    let erased = store.erase_user(alice.id, &erasure).await.unwrap().unwrap();

    assert_eq!(erased.email, alice.email);
    assert_eq!(erased.sessions_ended, [live.id]);
    assert!(store.user_by_id(alice.id).await.unwrap().is_none());
    assert!(store.user_by_email(&alice.email).await.unwrap().is_none());
    let listed = store
        .list_users(&UserQuery {
            limit: 10,
            ..UserQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.iter().map(|u| u.id).collect::<Vec<_>>(), [bob.id]);
    assert!(store
        .sessions_of(alice.id, t - secs(60), t)
        .await
        .unwrap()
        .is_empty());

    // The trail stays whole; alice's address is nowhere in it.
    let events = store
        .query_events(&EventQuery {
            limit: 10,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 4);
    let all_details: String = events.iter().map(|e| e.event.details.clone()).collect();
    assert!(!all_details.contains(&alice.email), "{all_details}");
    let id = alice.id.to_string();
    let replaced = events
        .iter()
        .filter(|e| {
            e.event
                .details
                .replace(' ', "")
                .contains(&format!(r#""email":"{id}""#))
        })
        .count();
    assert_eq!(replaced, 2, "{all_details}");
    assert!(
        all_details.contains(&bob.email),
        "bob's events are untouched"
    );

    // Every token alice holds stays refused: by the fallback, and by a cache refilled from
    // the snapshot, until the tombstone lapses.
    let probe = RevocationProbe {
        user: alice.id,
        session: live.id,
        jti: Uuid::new_v4(),
        kid: Uuid::new_v4(),
    };
    let state = store.revocation_state(&probe, t).await.unwrap();
    assert_ne!(state.token_version, 0);
    let tombstone = RevocationChange::TokenVersion {
        user: alice.id,
        version: DELETED_USER_VERSION,
    };
    assert!(store
        .revocation_snapshot(t)
        .await
        .unwrap()
        .contains(&tombstone));
    assert!(!store
        .revocation_snapshot(t + secs(901))
        .await
        .unwrap()
        .contains(&tombstone));
    // Bob is untouched, and an unknown user is not found.
    assert_eq!(store.live_sessions(bob.id, t).await.unwrap()[0].id, bobs.id);
    assert_eq!(store.erase_user(alice.id, &erasure).await.unwrap(), None);
}
