//! The revocation log ([`portcullis_core::RevocationLog`]): every write that commits a
//! revocation fact logs it, once, after the head read before the write, and nothing else is
//! logged; a reader pages through by `through` and is told when what it needs was purged.

use crate::fixtures::{login, now, open_session, random_hash, request, secs, user, PASSWORD_HASH};
use portcullis_core::account::{Erasure, PasswordReset, PasswordResetOutcome};
use portcullis_core::retention::{Cutoffs, Purged};
use portcullis_core::revocation::DELETED_USER_VERSION;
use portcullis_core::{
    Durable, KeyRetirement, LogRead, RevocationChange, RevocationLog, RevocationReason,
    RotationOutcome, SessionId, StoreError, StoredSigningKey, User, UserId,
};
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// Reads everything after `from` in one read, which must reach the head; returns the changes
/// read and the head.
async fn logged_since(
    store: &(impl RevocationLog + ?Sized),
    from: i64,
) -> (Vec<RevocationChange>, i64) {
    let head = store.revocation_log_head().await.unwrap();
    match store.revocation_log_since(from, 1_000).await.unwrap() {
        LogRead::Entries { changes, through } => {
            assert_eq!(through, head, "one read reaches the head");
            (changes, through)
        }
        LogRead::Purged => panic!("the entries after {from} were purged"),
    }
}

/// What was logged since `at`, which then moves to the head; sorted, since the order of the
/// facts one transaction commits is not defined.
async fn step(store: &(impl RevocationLog + ?Sized), at: &mut i64) -> Vec<RevocationChange> {
    let (mut changes, head) = logged_since(store, *at).await;
    *at = head;
    changes.sort_by_key(|change| format!("{change:?}"));
    changes
}

/// What a write that revokes nothing logs.
const NOTHING: [RevocationChange; 0] = [];

fn sorted(mut changes: Vec<RevocationChange>) -> Vec<RevocationChange> {
    changes.sort_by_key(|change| format!("{change:?}"));
    changes
}

fn version(user: UserId, version: i64) -> RevocationChange {
    RevocationChange::TokenVersion { user, version }
}

fn session(session: SessionId, until: OffsetDateTime) -> RevocationChange {
    RevocationChange::SessionDenied { session, until }
}

fn jti(jti: Uuid, until: OffsetDateTime) -> RevocationChange {
    RevocationChange::JtiDenied { jti, until }
}

fn signing_key(kid: &str, at: OffsetDateTime) -> StoredSigningKey {
    StoredSigningKey {
        kid: kid.to_owned(),
        alg: "EdDSA".to_owned(),
        public_key: vec![4, 5, 6],
        encrypted_private_key: vec![7, 8, 9],
        created_at: at,
        activates_at: at,
        retired_at: None,
    }
}

fn reset(keep_session: Option<SessionId>, at: OffsetDateTime) -> PasswordReset<'static> {
    PasswordReset {
        // The same hash: the fixtures keep opening sessions against it.
        password_hash: PASSWORD_HASH,
        keep_session,
        replaces: None,
        deny_until: at + secs(900),
        now: at,
    }
}

pub async fn a_fresh_log_is_empty_and_reading_from_the_head_finds_nothing(
    store: &(impl Durable + ?Sized),
) {
    assert_eq!(store.revocation_log_head().await.unwrap(), 0);
    let empty = LogRead::Entries {
        changes: vec![],
        through: 0,
    };
    assert_eq!(store.revocation_log_since(0, 10).await.unwrap(), empty);

    store.deny_jti(Uuid::new_v4(), now()).await.unwrap();
    let head = store.revocation_log_head().await.unwrap();
    assert_eq!(head, 1);
    let at_head = LogRead::Entries {
        changes: vec![],
        through: head,
    };
    assert_eq!(store.revocation_log_since(head, 10).await.unwrap(), at_head);
    // A position the log never reached: the reader followed another database.
    assert_eq!(
        store.revocation_log_since(head + 1, 10).await.unwrap(),
        LogRead::Purged
    );
}

pub async fn user_wide_revocations_are_logged_with_the_new_version(
    store: &(impl Durable + ?Sized),
) {
    let t0 = now();
    let until = t0 + secs(900);
    let mut at = store.revocation_log_head().await.unwrap();

    // A user stored with a version other than 0 is in the snapshot, so in the log.
    let raised = User {
        token_version: 4,
        ..user(&format!("{}@example.com", Uuid::new_v4()), t0)
    };
    store.insert_user(&raised).await.unwrap();
    assert_eq!(step(store, &mut at).await, [version(raised.id, 4)]);

    let (user, kept, _) = login(store, t0).await;
    let (other, _) = open_session(store, user.id, t0).await;
    assert_eq!(
        step(store, &mut at).await,
        NOTHING,
        "logging in revokes nothing"
    );

    // The owner changes the password from `kept`: the other session ends, the version stays.
    let changed = store
        .reset_password(user.id, &reset(Some(kept.id), t0))
        .await
        .unwrap();
    assert!(matches!(changed, Some(PasswordResetOutcome::Reset(_))));
    assert_eq!(step(store, &mut at).await, [session(other.id, until)]);

    // An admin sets it: every session ends and the version rises.
    store
        .reset_password(user.id, &reset(None, t0))
        .await
        .unwrap();
    assert_eq!(
        step(store, &mut at).await,
        sorted(vec![version(user.id, 1), session(kept.id, until)])
    );

    let (third, _) = open_session(store, user.id, t0).await;
    store
        .revoke_user(user.id, false, RevocationReason::UserRevoked, until, t0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        step(store, &mut at).await,
        sorted(vec![version(user.id, 2), session(third.id, until)])
    );

    store
        .set_roles(user.id, &["auditor".to_owned()])
        .await
        .unwrap();
    assert_eq!(step(store, &mut at).await, [version(user.id, 3)]);

    let erasure = Erasure {
        deny_until: until,
        now: t0,
    };
    store.erase_user(user.id, &erasure).await.unwrap().unwrap();
    assert_eq!(
        step(store, &mut at).await,
        [version(user.id, DELETED_USER_VERSION)]
    );
}

pub async fn session_revocations_are_logged_with_their_denial(store: &(impl Durable + ?Sized)) {
    let t0 = now();
    let until = t0 + secs(600);
    let mut at = store.revocation_log_head().await.unwrap();
    let (user, by_token, token) = login(store, t0).await;

    store
        .revoke_session_by_token(&token, RevocationReason::Logout, until, t0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(step(store, &mut at).await, [session(by_token.id, until)]);

    let (one, _) = open_session(store, user.id, t0).await;
    store
        .revoke_session(
            one.id,
            Some(user.id),
            RevocationReason::SessionDeleted,
            until,
            t0,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(step(store, &mut at).await, [session(one.id, until)]);

    let (first, _) = open_session(store, user.id, t0).await;
    let (second, _) = open_session(store, user.id, t0).await;
    let revoked = store
        .revoke_sessions(
            &[first.id, second.id, by_token.id],
            RevocationReason::AdminRevoked,
            until,
            t0,
        )
        .await
        .unwrap();
    assert_eq!(revoked.len(), 2, "the revoked one is left as it was");
    assert_eq!(
        step(store, &mut at).await,
        sorted(vec![session(first.id, until), session(second.id, until)])
    );

    // Reuse detection: the family is denied for the replay's `session_deny_until`.
    let (reused, first_token) = open_session(store, user.id, t0).await;
    let successor = random_hash();
    store
        .rotate(&request(first_token, successor, t0))
        .await
        .unwrap();
    assert_eq!(
        step(store, &mut at).await,
        NOTHING,
        "a rotation revokes nothing"
    );
    let late = request(first_token, successor, t0 + secs(60));
    let outcome = store.rotate(&late).await.unwrap();
    assert!(
        matches!(outcome, RotationOutcome::ReuseDetected { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        step(store, &mut at).await,
        [session(reused.id, late.session_deny_until)]
    );

    // A locked user's refresh ends its family.
    let (locked, locked_token) = open_session(store, user.id, t0).await;
    assert!(store.set_locked(user.id, true).await.unwrap());
    assert_eq!(
        step(store, &mut at).await,
        NOTHING,
        "locking alone revokes nothing"
    );
    let presented = request(locked_token, random_hash(), t0 + secs(1));
    let outcome = store.rotate(&presented).await.unwrap();
    assert!(
        matches!(outcome, RotationOutcome::UserLocked { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        step(store, &mut at).await,
        [session(locked.id, presented.session_deny_until)]
    );
}

pub async fn jti_denials_and_key_retirements_are_logged_when_they_deny_longer(
    store: &(impl Durable + ?Sized),
) {
    let t0 = now();
    let mut at = store.revocation_log_head().await.unwrap();
    let denied = Uuid::new_v4();

    store.deny_jti(denied, t0 + secs(60)).await.unwrap();
    assert_eq!(step(store, &mut at).await, [jti(denied, t0 + secs(60))]);
    store.deny_jti(denied, t0 + secs(30)).await.unwrap();
    assert_eq!(
        step(store, &mut at).await,
        NOTHING,
        "a shorter denial changes nothing"
    );
    store.deny_jti(denied, t0 + secs(90)).await.unwrap();
    assert_eq!(step(store, &mut at).await, [jti(denied, t0 + secs(90))]);

    let (old, current) = (Uuid::new_v4(), Uuid::new_v4());
    let old_kid = old.simple().to_string();
    store
        .ensure_signing_key(&signing_key(&old_kid, t0))
        .await
        .unwrap();
    let current_key = signing_key(&current.simple().to_string(), t0 + secs(1));
    assert!(store.add_signing_key(&current_key, None).await.unwrap());
    assert_eq!(
        step(store, &mut at).await,
        NOTHING,
        "a new key revokes nothing"
    );
    let retirement = KeyRetirement {
        now: t0 + secs(2),
        token_lifetime: Duration::from_secs(900),
        deny_until: t0 + secs(902),
    };
    store
        .retire_signing_key(&old_kid, &retirement)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        step(store, &mut at).await,
        [RevocationChange::KeyRetired {
            kid: old,
            until: retirement.deny_until,
        }]
    );
    // Refused retirements (already retired, still active) write nothing.
    for kid in [&old_kid, &current_key.kid] {
        let refused = store.retire_signing_key(kid, &retirement).await.unwrap();
        assert!(refused.is_err(), "{kid}");
    }
    assert_eq!(step(store, &mut at).await, NOTHING);
}

pub async fn writes_that_revoke_nothing_log_nothing(store: &(impl Durable + ?Sized)) {
    let t0 = now();
    let (user, family, token) = login(store, t0).await;
    let head = store.revocation_log_head().await.unwrap();

    store
        .rotate(&request(token, random_hash(), t0 + secs(1)))
        .await
        .unwrap();
    assert!(store.set_locked(user.id, true).await.unwrap());
    assert!(store.set_locked(user.id, false).await.unwrap());
    assert!(store
        .replace_password_hash(user.id, PASSWORD_HASH, "$argon2id$rehashed")
        .await
        .unwrap());
    // A revocation of what does not exist, or is revoked already.
    let nobody = UserId::new();
    let until = t0 + secs(900);
    let revoked = store
        .revoke_user(nobody, true, RevocationReason::UserRevoked, until, t0)
        .await
        .unwrap();
    assert!(revoked.is_none());
    assert_eq!(store.set_roles(nobody, &[]).await.unwrap(), None);
    let elsewhere = store
        .revoke_session(family.id, Some(nobody), RevocationReason::Logout, until, t0)
        .await
        .unwrap();
    assert!(elsewhere.is_none(), "not the owner's");
    // A user refused for its email is not stored, whatever version it carries.
    let refused = store
        .insert_user(&User {
            id: UserId::new(),
            token_version: 9,
            ..user.clone()
        })
        .await;
    assert!(
        matches!(refused, Err(StoreError::EmailTaken)),
        "{refused:?}"
    );

    assert_eq!(store.revocation_log_head().await.unwrap(), head);
    assert_eq!(
        store.revocation_log_since(head, 10).await.unwrap(),
        LogRead::Entries {
            changes: vec![],
            through: head
        }
    );
}

pub async fn the_log_holds_every_fact_the_snapshot_lists(store: &(impl Durable + ?Sized)) {
    let t0 = now();
    let until = t0 + secs(900);
    let (revoked, _, _) = login(store, t0).await;
    let (owner, family, _) = login(store, t0).await;
    let (erased, _, _) = login(store, t0).await;
    store
        .revoke_user(revoked.id, false, RevocationReason::UserRevoked, until, t0)
        .await
        .unwrap();
    store
        .revoke_session(
            family.id,
            Some(owner.id),
            RevocationReason::Logout,
            until,
            t0,
        )
        .await
        .unwrap();
    store.deny_jti(Uuid::new_v4(), until).await.unwrap();
    let old = Uuid::new_v4().simple().to_string();
    store
        .ensure_signing_key(&signing_key(&old, t0))
        .await
        .unwrap();
    let current = signing_key(&Uuid::new_v4().simple().to_string(), t0 + secs(1));
    store.add_signing_key(&current, None).await.unwrap();
    let retirement = KeyRetirement {
        now: t0 + secs(2),
        token_lifetime: Duration::from_secs(900),
        deny_until: until,
    };
    store
        .retire_signing_key(&old, &retirement)
        .await
        .unwrap()
        .unwrap();
    let erasure = Erasure {
        deny_until: until,
        now: t0,
    };
    store.erase_user(erased.id, &erasure).await.unwrap();

    let (logged, _) = logged_since(store, 0).await;
    let snapshot = store.revocation_snapshot(t0).await.unwrap();
    assert_eq!(snapshot.len(), 6, "{snapshot:?}");
    for fact in &snapshot {
        assert!(logged.contains(fact), "{fact:?} is not in {logged:?}");
    }
}

pub async fn a_reader_pages_through_the_log_by_through(store: &(impl Durable + ?Sized)) {
    let t0 = now();
    let start = store.revocation_log_head().await.unwrap();
    let denied: Vec<(Uuid, OffsetDateTime)> =
        (1..=5).map(|n| (Uuid::new_v4(), t0 + secs(n))).collect();
    for &(id, until) in &denied {
        store.deny_jti(id, until).await.unwrap();
    }
    let expected: Vec<RevocationChange> =
        denied.iter().map(|&(id, until)| jti(id, until)).collect();

    // A limit of 0 reads as 1.
    assert_eq!(
        store.revocation_log_since(start, 0).await.unwrap(),
        LogRead::Entries {
            changes: expected[..1].to_vec(),
            through: start + 1
        }
    );
    let (mut position, mut pages, mut read) = (start, Vec::new(), Vec::new());
    loop {
        let LogRead::Entries { changes, through } =
            store.revocation_log_since(position, 2).await.unwrap()
        else {
            panic!("nothing was purged");
        };
        pages.push(changes.len());
        read.extend(changes);
        if through == position {
            break;
        }
        position = through;
    }
    assert_eq!(pages, [2, 2, 1, 0]);
    assert_eq!(read, expected, "in commit order");
    assert_eq!(position, store.revocation_log_head().await.unwrap());
    assert_eq!(position, start + 5);
}

/// Cut-offs that let only revocation log entries written before `before` go.
fn log_cutoff(before: OffsetDateTime) -> Cutoffs {
    let never = OffsetDateTime::UNIX_EPOCH;
    Cutoffs {
        family_ended_before: never,
        revoked_before: never,
        denial_lapsed_before: never,
        jti_lapsed_before: never,
        events_before: None,
        revocation_log_before: before,
    }
}

pub async fn purged_entries_read_as_purged_and_the_log_goes_on(store: &(impl Durable + ?Sized)) {
    let t0 = now();
    let start = store.revocation_log_head().await.unwrap();
    let (older, newer, later) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    store.deny_jti(older, t0 + secs(60)).await.unwrap();
    // The log is stamped by the database's clock, the cut-off by this one: well apart.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let between = OffsetDateTime::now_utc();
    tokio::time::sleep(Duration::from_millis(600)).await;
    store.deny_jti(newer, t0 + secs(60)).await.unwrap();

    let purged = store.purge(&log_cutoff(between), 1).await.unwrap();
    assert_eq!(
        purged,
        Some(Purged {
            revocation_log: 1,
            ..Purged::default()
        })
    );
    assert_eq!(
        store.revocation_log_since(start, 10).await.unwrap(),
        LogRead::Purged
    );
    assert_eq!(
        store.revocation_log_since(start + 1, 10).await.unwrap(),
        LogRead::Entries {
            changes: vec![jti(newer, t0 + secs(60))],
            through: start + 2
        },
        "what follows the purged entry is still read"
    );

    // Everything goes: the numbering stays, and goes on.
    let purged = store
        .purge(&log_cutoff(OffsetDateTime::now_utc() + secs(3600)), 1)
        .await
        .unwrap();
    assert_eq!(purged.map(|purged| purged.revocation_log), Some(1));
    assert_eq!(store.revocation_log_head().await.unwrap(), start + 2);
    assert_eq!(
        store.revocation_log_since(start + 1, 10).await.unwrap(),
        LogRead::Purged
    );
    assert_eq!(
        store.revocation_log_since(start + 2, 10).await.unwrap(),
        LogRead::Entries {
            changes: vec![],
            through: start + 2
        }
    );
    store.deny_jti(later, t0 + secs(60)).await.unwrap();
    assert_eq!(
        store.revocation_log_since(start + 2, 10).await.unwrap(),
        LogRead::Entries {
            changes: vec![jti(later, t0 + secs(60))],
            through: start + 3
        }
    );
}
