//! One session's life outside rotation ([`portcullis_core::SessionStore`]): who may revoke it.

use crate::fixtures::{login, now, random_hash, secs};
use portcullis_core::{RevocationReason, SessionId, SessionStore, UserId, UserStore};

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
