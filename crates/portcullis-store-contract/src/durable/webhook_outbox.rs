//! The webhook outbox: a chosen event is stored with its delivery, rows are claimed by one
//! lease at a time, and the outcome of each attempt is kept.

use crate::fixtures::{now, secs, DAY};
use futures::future::join_all;
use portcullis_core::admin::EventQuery;
use portcullis_core::retention::{Cutoffs, Purged};
use portcullis_core::webhook_outbox::{Claim, ClaimedDelivery, DeliveryState, UndeliveredEntry};
use portcullis_core::{
    ClientInfo, Durable, EventKind, SecurityEvent, SessionId, UserId, WebhookOutbox,
};
use std::collections::HashSet;
use time::OffsetDateTime;
use uuid::Uuid;

/// A claim of up to `limit` rows at `at`, under a fresh lease of 30 s.
fn claim_at(at: OffsetDateTime, limit: u32) -> Claim {
    Claim {
        now: at,
        lease: Uuid::new_v4(),
        lease_until: at + secs(30),
        limit,
    }
}

async fn claim(
    store: &(impl WebhookOutbox + ?Sized),
    at: OffsetDateTime,
    limit: u32,
) -> Vec<ClaimedDelivery> {
    store.claim_deliveries(&claim_at(at, limit)).await.unwrap()
}

async fn undelivered(store: &(impl WebhookOutbox + ?Sized)) -> Vec<UndeliveredEntry> {
    store.undelivered(100).await.unwrap()
}

fn reuse(at: OffsetDateTime) -> SecurityEvent {
    SecurityEvent::new(EventKind::RefreshTokenReused, at)
        .user(UserId::new())
        .session(SessionId::new())
        .client(&ClientInfo {
            ip: Some("203.0.113.7".into()),
            user_agent: Some("replayer/1".into()),
        })
        .details(r#"{"replayer_ip":"203.0.113.7"}"#.into())
}

pub async fn a_chosen_event_is_stored_with_a_pending_delivery_and_others_without(
    store: &(impl Durable + ?Sized),
) {
    let t0 = now();
    let chosen = store.record_event(&reuse(t0), true).await.unwrap();
    let other = SecurityEvent::new(EventKind::LoginFailed, t0);
    let unchosen = store.record_event(&other, false).await.unwrap();

    let query = EventQuery {
        limit: 10,
        ..Default::default()
    };
    let ids: Vec<i64> = store
        .query_events(&query)
        .await
        .unwrap()
        .iter()
        .map(|stored| stored.id)
        .collect();
    assert_eq!(
        ids,
        [unchosen, chosen],
        "record_event returns the stored id"
    );
    assert_eq!(
        undelivered(store).await,
        [UndeliveredEntry {
            event_id: chosen,
            kind: EventKind::RefreshTokenReused,
            event_at: t0,
            state: DeliveryState::Pending,
            attempts: 0,
            next_attempt_at: t0,
            locked_until: None,
            last_error: None,
        }]
    );
}

pub async fn a_claim_leases_a_due_row_to_one_holder_until_the_lease_lapses(
    store: &(impl Durable + ?Sized),
) {
    let t0 = now();
    let sent = reuse(t0);
    let id = store.record_event(&sent, true).await.unwrap();

    assert!(
        claim(store, t0 - secs(1), 10).await.is_empty(),
        "not due yet"
    );
    let first = claim_at(t0, 10);
    let claimed = store.claim_deliveries(&first).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let row = &claimed[0];
    assert_eq!((row.event_id, row.attempt, row.lease), (id, 1, first.lease));
    assert_eq!(row.event.kind, sent.kind);
    assert_eq!(row.event.at, sent.at);
    assert_eq!(row.event.user_id, sent.user_id);
    assert_eq!(row.event.session_id, sent.session_id);
    assert_eq!(row.event.client, sent.client);
    let details: String = row.event.details.split_whitespace().collect();
    assert_eq!(details, sent.details);
    let listed = undelivered(store).await;
    assert_eq!(listed[0].attempts, 1, "the claim counts the attempt");
    assert_eq!(listed[0].locked_until, Some(first.lease_until));

    assert!(
        claim(store, t0 + secs(29), 10).await.is_empty(),
        "held while the lease lasts"
    );
    // The holder died: once its lease lapses the row is claimed again, as the same delivery.
    let again = claim(store, first.lease_until, 10).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].event_id, id);
    assert_eq!(again[0].attempt, 2);
    assert_eq!(again[0].delivery_id, row.delivery_id);
}

pub async fn a_failed_attempt_is_retried_when_due_and_only_its_lease_may_record_it(
    store: &(impl Durable + ?Sized),
) {
    let t0 = now();
    let id = store.record_event(&reuse(t0), true).await.unwrap();
    let claimed = claim(store, t0, 1).await;
    let lease = claimed[0].lease;

    let stranger = Uuid::new_v4();
    let retry_at = Some(t0 + secs(10));
    assert!(!store
        .mark_failed_attempt(id, stranger, "not mine", retry_at)
        .await
        .unwrap());
    assert!(store
        .mark_failed_attempt(id, lease, "receiver answered 503", retry_at)
        .await
        .unwrap());
    assert!(
        !store
            .mark_failed_attempt(id, lease, "twice", retry_at)
            .await
            .unwrap(),
        "recording releases the lease"
    );
    let listed = undelivered(store).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, DeliveryState::Pending);
    assert_eq!(listed[0].attempts, 1);
    assert_eq!(listed[0].next_attempt_at, t0 + secs(10));
    assert_eq!(listed[0].locked_until, None);
    assert_eq!(
        listed[0].last_error.as_deref(),
        Some("receiver answered 503")
    );

    assert!(
        claim(store, t0 + secs(9), 1).await.is_empty(),
        "backing off"
    );
    let retried = claim(store, t0 + secs(10), 1).await;
    assert_eq!((retried[0].event_id, retried[0].attempt), (id, 2));
    assert!(store
        .mark_failed_attempt(id, retried[0].lease, "timed out", None)
        .await
        .unwrap());
    let listed = undelivered(store).await;
    assert_eq!(
        listed[0].state,
        DeliveryState::Failed,
        "kept for the operator"
    );
    assert_eq!(listed[0].attempts, 2);
    assert_eq!(listed[0].last_error.as_deref(), Some("timed out"));
    assert!(claim(store, t0 + secs(DAY), 1).await.is_empty());
    assert!(!store.mark_delivered(id, t0 + secs(DAY)).await.unwrap());
}

pub async fn a_delivered_row_is_neither_claimed_nor_listed_again(store: &(impl Durable + ?Sized)) {
    let t0 = now();
    let id = store.record_event(&reuse(t0), true).await.unwrap();
    let claimed = claim(store, t0, 1).await;

    assert!(store.mark_delivered(id, t0 + secs(1)).await.unwrap());
    assert!(!store.mark_delivered(id, t0 + secs(2)).await.unwrap());
    assert!(!store
        .mark_failed_attempt(id, claimed[0].lease, "late", None)
        .await
        .unwrap());
    assert!(undelivered(store).await.is_empty());
    assert!(claim(store, t0 + secs(DAY), 10).await.is_empty());
}

pub async fn concurrent_claims_never_get_the_same_row(store: &(impl Durable + ?Sized)) {
    let t0 = now();
    let mut recorded = HashSet::new();
    for i in 0..24 {
        let id = store
            .record_event(&reuse(t0 + secs(i)), true)
            .await
            .unwrap();
        recorded.insert(id);
    }
    let at = t0 + secs(60);
    let mut seen = Vec::new();
    // Rounds of eight claims at once, each for up to five rows, until the rows run out.
    for _ in 0..10 {
        let claims = (0..8).map(|_| claim(store, at, 5));
        let round: Vec<i64> = join_all(claims)
            .await
            .into_iter()
            .flatten()
            .map(|claimed| claimed.event_id)
            .collect();
        if round.is_empty() {
            break;
        }
        seen.extend(round);
    }
    let unique: HashSet<i64> = seen.iter().copied().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "a row was claimed twice: {seen:?}"
    );
    assert_eq!(unique, recorded, "every row was claimed");
}

pub async fn the_purge_takes_a_deleted_events_delivery_with_it(store: &(impl Durable + ?Sized)) {
    let t = now();
    let old = store
        .record_event(&reuse(t - secs(91 * DAY)), true)
        .await
        .unwrap();
    let kept = store
        .record_event(&reuse(t - secs(89 * DAY)), true)
        .await
        .unwrap();
    let long_ago = OffsetDateTime::UNIX_EPOCH;
    let cutoffs = Cutoffs {
        family_ended_before: long_ago,
        revoked_before: long_ago,
        denial_lapsed_before: long_ago,
        jti_lapsed_before: long_ago,
        events_before: Some(t - secs(90 * DAY)),
        revocation_log_before: long_ago,
    };

    let purged = store.purge(&cutoffs, 10).await.unwrap();

    assert_eq!(
        purged,
        Some(Purged {
            events: 1,
            ..Purged::default()
        })
    );
    let left: Vec<i64> = undelivered(store)
        .await
        .iter()
        .map(|entry| entry.event_id)
        .collect();
    assert_eq!(left, [kept]);
    // The deleted event's delivery went with it: nothing can claim or settle it any more.
    assert!(!store.mark_delivered(old, t).await.unwrap());
}
