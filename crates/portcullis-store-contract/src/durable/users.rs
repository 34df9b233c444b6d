//! Accounts: insert, lookup, the email constraint, locking, roles; and opening a session.

use crate::fixtures::{family_of, now, user, PASSWORD_HASH};
use portcullis_core::{Durable, FamilyOpening, SessionStore, StoreError, UserId, UserStore};

pub async fn an_inserted_user_is_found_by_email_and_by_id(store: &(impl Durable + ?Sized)) {
    let alice = user("alice@example.com", now());
    store.insert_user(&alice).await.unwrap();

    for found in [
        store.user_by_email("alice@example.com").await.unwrap(),
        store.user_by_id(alice.id).await.unwrap(),
    ] {
        let found = found.unwrap();
        assert_eq!(found.id, alice.id);
        assert_eq!(found.email, alice.email);
        assert_eq!(found.password_hash, alice.password_hash);
        assert_eq!(found.roles, alice.roles);
        assert_eq!(found.token_version, 0);
        assert!(!found.locked);
        assert_eq!(found.created_at, alice.created_at);
    }
    assert!(store
        .user_by_email("bob@example.com")
        .await
        .unwrap()
        .is_none());
    assert!(store.user_by_id(UserId::new()).await.unwrap().is_none());
    store.ping().await.unwrap();
}

pub async fn a_second_account_with_the_same_email_is_email_taken(
    store: &(impl UserStore + ?Sized),
) {
    store
        .insert_user(&user("alice@example.com", now()))
        .await
        .unwrap();
    let error = store
        .insert_user(&user("alice@example.com", now()))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::EmailTaken), "{error:?}");
}

/// Not stamped by [`crate::durable_contract!`] yet: the SQLite store answers `EmailTaken` to any
/// unique violation, so it fails this case; each backend's binary runs it on its own until then.
pub async fn a_duplicate_user_id_is_a_backend_error_not_email_taken(
    store: &(impl UserStore + ?Sized),
) {
    // A duplicate id is a bug, not a client error.
    let bob = user("bob@example.com", now());
    store.insert_user(&bob).await.unwrap();
    let clash = portcullis_core::User {
        email: "carol@example.com".into(),
        ..bob
    };
    let error = store.insert_user(&clash).await.unwrap_err();
    assert!(matches!(error, StoreError::Backend(_)), "{error:?}");
}

pub async fn locking_and_password_changes_apply_to_existing_users_only(
    store: &(impl UserStore + ?Sized),
) {
    let alice = user("alice@example.com", now());
    store.insert_user(&alice).await.unwrap();

    assert!(store.set_locked(alice.id, true).await.unwrap());
    assert!(!store.set_locked(UserId::new(), true).await.unwrap());
    // A rehash replaces only the hash it was made from: a password changed meanwhile stays.
    assert!(store
        .replace_password_hash(alice.id, PASSWORD_HASH, "new-hash")
        .await
        .unwrap());
    assert!(!store
        .replace_password_hash(alice.id, PASSWORD_HASH, "old-again")
        .await
        .unwrap());
    assert!(!store
        .replace_password_hash(UserId::new(), "new-hash", "x")
        .await
        .unwrap());

    let found = store.user_by_id(alice.id).await.unwrap().unwrap();
    assert!(found.locked);
    assert_eq!(found.password_hash, "new-hash");

    assert!(store.set_locked(alice.id, false).await.unwrap());
    assert!(!store.user_by_id(alice.id).await.unwrap().unwrap().locked);
}

pub async fn new_roles_bump_the_token_version(store: &(impl UserStore + ?Sized)) {
    let alice = user("alice@example.com", now());
    store.insert_user(&alice).await.unwrap();

    let roles = vec!["ops".to_owned()];
    assert_eq!(store.set_roles(alice.id, &roles).await.unwrap(), Some(1));
    assert_eq!(store.set_roles(alice.id, &[]).await.unwrap(), Some(2));
    let found = store.user_by_id(alice.id).await.unwrap().unwrap();
    assert_eq!((found.roles, found.token_version), (vec![], 2));
    assert_eq!(store.set_roles(UserId::new(), &roles).await.unwrap(), None);
}

pub async fn a_session_opens_only_for_an_existing_unlocked_user(
    store: &(impl UserStore + SessionStore + ?Sized),
) {
    let t0 = now();
    let alice = user("alice@example.com", t0);
    store.insert_user(&alice).await.unwrap();

    let (family, first) = family_of(alice.id, t0);
    let opened = store
        .insert_family(&family, &first, PASSWORD_HASH)
        .await
        .unwrap();
    assert!(
        matches!(&opened, FamilyOpening::Opened(found) if found.id == alice.id && found.token_version == 0),
        "{opened:?}"
    );

    // A login whose password check was made against another hash than the stored one (the
    // password changed in between) opens nothing.
    let (stale, first) = family_of(alice.id, t0);
    let changed = store
        .insert_family(&stale, &first, "the hash before a change")
        .await
        .unwrap();
    assert!(
        matches!(changed, FamilyOpening::PasswordChanged),
        "{changed:?}"
    );

    store.set_locked(alice.id, true).await.unwrap();
    let (refused, first) = family_of(alice.id, t0);
    let locked = store
        .insert_family(&refused, &first, PASSWORD_HASH)
        .await
        .unwrap();
    assert!(matches!(locked, FamilyOpening::Locked), "{locked:?}");

    let (orphan, first) = family_of(UserId::new(), t0);
    let gone = store
        .insert_family(&orphan, &first, PASSWORD_HASH)
        .await
        .unwrap();
    assert!(matches!(gone, FamilyOpening::UserGone), "{gone:?}");

    // Only the first family was stored.
    store.set_locked(alice.id, false).await.unwrap();
    let live = store.live_sessions(alice.id, t0).await.unwrap();
    assert_eq!(
        live.iter().map(|f| f.id).collect::<Vec<_>>(),
        vec![family.id]
    );
}
