//! The audit trail: security events newest first, filtered, paged by cursor.

use crate::fixtures::{now, secs};
use portcullis_core::{ClientInfo, EventKind, EventStore, SecurityEvent, SessionId, UserId};

pub async fn recent_events_come_newest_first_filtered_and_limited(
    store: &(impl EventStore + ?Sized),
) {
    let t0 = now();
    let (user, session) = (UserId::new(), SessionId::new());
    let client = ClientInfo {
        ip: Some("10.0.0.9".into()),
        user_agent: None,
    };
    let events = [
        SecurityEvent::new(EventKind::LoginSucceeded, t0)
            .user(user)
            .session(session)
            .client(&client),
        SecurityEvent::new(EventKind::LoginFailed, t0 + secs(1)),
        SecurityEvent::new(EventKind::RefreshTokenReused, t0 + secs(2))
            .user(user)
            .details(r#"{"replayer_ip": "10.9.9.9"}"#.into()),
        SecurityEvent::new(EventKind::LoginFailed, t0 + secs(3)),
    ];
    for event in &events {
        store.record_event(event, false).await.unwrap();
    }

    let recent = newest(store, None, 3).await;
    let kinds: Vec<EventKind> = recent.iter().map(|event| event.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::LoginFailed,
            EventKind::RefreshTokenReused,
            EventKind::LoginFailed
        ]
    );
    let reuse = &recent[1];
    assert_eq!(reuse.user_id, Some(user));
    assert_eq!(reuse.at, t0 + secs(2));
    let details: String = reuse.details.split_whitespace().collect();
    assert_eq!(details, r#"{"replayer_ip":"10.9.9.9"}"#);

    let failed = newest(store, Some(EventKind::LoginFailed), 10).await;
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0].at, t0 + secs(3));

    let login = newest(store, Some(EventKind::LoginSucceeded), 10).await;
    assert_eq!(login.len(), 1);
    assert_eq!(login[0].session_id, Some(session));
    assert_eq!(login[0].client, client);
    assert_eq!(login[0].details, "{}");
}

async fn newest(
    store: &(impl EventStore + ?Sized),
    kind: Option<EventKind>,
    limit: u32,
) -> Vec<SecurityEvent> {
    let query = portcullis_core::admin::EventQuery {
        kind,
        limit,
        ..Default::default()
    };
    let events = store
        .query_events(&query)
        .await
        .unwrap_or_else(|error| panic!("query_events: {error}"));
    events.into_iter().map(|stored| stored.event).collect()
}

pub async fn events_page_by_cursor_and_filter_by_user_time_and_actor(
    store: &(impl EventStore + ?Sized),
) {
    let t0 = now();
    let user = UserId::new();
    for i in 0..5 {
        let mut event = SecurityEvent::new(EventKind::UserRevoked, t0 + secs(i)).actor("ops-key");
        if i % 2 == 0 {
            event = event.user(user);
        }
        store.record_event(&event, false).await.unwrap();
    }
    let page = |before_id, limit| portcullis_core::admin::EventQuery {
        before_id,
        limit,
        ..Default::default()
    };
    let first = store.query_events(&page(None, 2)).await.unwrap();
    let second = store
        .query_events(&page(Some(first[1].id), 2))
        .await
        .unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(second.len(), 2);
    assert!(
        second[0].id < first[1].id,
        "the cursor continues where the page ended"
    );
    assert_eq!(first[0].event.actor.as_deref(), Some("ops-key"));
    let mine = portcullis_core::admin::EventQuery {
        user: Some(user),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(store.query_events(&mine).await.unwrap().len(), 3);
    let window = portcullis_core::admin::EventQuery {
        since: Some(t0 + secs(1)),
        until: Some(t0 + secs(3)),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(store.query_events(&window).await.unwrap().len(), 2);
}
