//! Each view's JSON, byte for byte: the shapes clients and scripts read.

use super::*;
use portcullis_core::{ClientInfo, EventKind, RevocationReason, SecurityEvent};

const USER: &str = "00000000-0000-0000-0000-000000000001";
const SESSION: &str = "00000000-0000-0000-0000-000000000002";

fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).expect("a valid time")
}

fn user() -> UserId {
    UserId(Uuid::from_u128(1))
}

fn session() -> SessionId {
    SessionId(Uuid::from_u128(2))
}

fn for_user<T>(outcome: T) -> ForUser<T> {
    ForUser {
        outcome,
        user_id: user(),
    }
}

fn json(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("serialises")
}

fn family(revoked: bool) -> Family {
    Family {
        id: session(),
        user_id: user(),
        created_at: at(1_700_000_000),
        last_used_at: at(1_700_000_060),
        idle_expires_at: at(1_700_086_400),
        absolute_expires_at: at(1_702_592_000),
        current_generation: 3,
        last_client: ClientInfo {
            ip: Some("203.0.113.9".into()),
            user_agent: None,
        },
        revoked_at: revoked.then(|| at(1_700_000_120)),
        revoked_reason: revoked.then_some(RevocationReason::AdminRevoked),
    }
}

#[test]
fn a_session_lists_its_fields_alphabetically_with_nulls_kept() {
    let revoked = family(true);
    assert_eq!(
        json(&SessionView::new(&revoked)),
        format!(
            r#"{{"created_at":"2023-11-14T22:13:20Z","id":"{SESSION}","ip":"203.0.113.9","last_used_at":"2023-11-14T22:14:20Z","live":false,"revoked_at":"2023-11-14T22:15:20Z","revoked_reason":"admin_revoked","user_agent":null,"user_id":"{USER}"}}"#
        )
    );
    let live = family(false);
    assert_eq!(
        json(&SessionView::at(&live, at(1_700_000_100))),
        format!(
            r#"{{"created_at":"2023-11-14T22:13:20Z","id":"{SESSION}","ip":"203.0.113.9","last_used_at":"2023-11-14T22:14:20Z","live":true,"revoked_at":null,"revoked_reason":null,"user_agent":null,"user_id":"{USER}"}}"#
        )
    );
}

#[test]
fn an_event_passes_its_details_on_as_json_and_junk_details_as_null() {
    let client = ClientInfo {
        ip: Some("127.0.0.1".into()),
        user_agent: Some("curl/8".into()),
    };
    let event = SecurityEvent::new(EventKind::SessionRevoked, at(1_700_000_000))
        .user(user())
        .session(session())
        .client(&client)
        .actor("ops-key")
        .details(r#"{"reason":"admin_revoked","a":[1,2]}"#.to_owned());
    let stored = StoredEvent { id: 42, event };
    assert_eq!(
        json(&EventView::new(&stored)),
        format!(
            r#"{{"actor":"ops-key","at":"2023-11-14T22:13:20Z","details":{{"a":[1,2],"reason":"admin_revoked"}},"id":42,"ip":"127.0.0.1","kind":"session_revoked","session_id":"{SESSION}","user_agent":"curl/8","user_id":"{USER}"}}"#
        )
    );
    let bare = StoredEvent {
        id: 7,
        event: SecurityEvent::new(EventKind::LoginFailed, at(1_700_000_000))
            .details("not json".to_owned()),
    };
    let page = EventsPage {
        events: vec![EventView::new(&bare)],
        next_cursor: Some("7".to_owned()),
    };
    assert_eq!(
        json(&page),
        r#"{"events":[{"actor":null,"at":"2023-11-14T22:13:20Z","details":null,"id":7,"ip":null,"kind":"login_failed","session_id":null,"user_agent":null,"user_id":null}],"next_cursor":"7"}"#
    );
}

#[test]
fn user_outcomes_read_the_same_in_the_api_and_with_the_user_on_the_command_line() {
    let revocation = UserRevocation {
        token_version: 4,
        sessions_revoked: vec![session(), SessionId(Uuid::from_u128(3))],
    };
    let cases: [(String, &str); 3] = [
        (
            json(&UserRevoked::from(&revocation)),
            r#"{"sessions_revoked":2,"token_version":4}"#,
        ),
        (
            json(&LockState::locked(&revocation)),
            r#"{"locked":true,"sessions_revoked":2,"token_version":4}"#,
        ),
        (json(&LockState::unlocked()), r#"{"locked":false}"#),
    ];
    for (got, expected) in cases {
        assert_eq!(got, expected);
    }
    assert_eq!(
        json(&for_user(UserRevoked::from(&revocation))),
        format!(r#"{{"sessions_revoked":2,"token_version":4,"user_id":"{USER}"}}"#)
    );
    assert_eq!(
        json(&for_user(LockState::locked(&revocation))),
        format!(r#"{{"locked":true,"sessions_revoked":2,"token_version":4,"user_id":"{USER}"}}"#)
    );
    assert_eq!(
        json(&for_user(LockState::unlocked())),
        format!(r#"{{"locked":false,"user_id":"{USER}"}}"#)
    );
}

#[test]
fn the_small_admin_bodies_keep_their_keys() {
    let roles = ["admin".to_owned(), "support".to_owned()];
    let cases = [
        (
            json(&UserCreated { user_id: user() }),
            format!(r#"{{"user_id":"{USER}"}}"#),
        ),
        (
            json(&RolesChanged {
                roles: &roles,
                token_version: 2,
                user_id: user(),
            }),
            format!(r#"{{"roles":["admin","support"],"token_version":2,"user_id":"{USER}"}}"#),
        ),
        (
            json(&TokenRevoked {
                jti: Uuid::from_u128(2),
            }),
            format!(r#"{{"jti":"{SESSION}"}}"#),
        ),
        (
            json(&MassRevoked {
                dry_run: true,
                sessions: 3,
                users: 1,
            }),
            r#"{"dry_run":true,"sessions":3,"users":1}"#.to_owned(),
        ),
        (
            json(&UserErased {
                deleted: true,
                sessions_revoked: 2,
                user_id: user(),
            }),
            format!(r#"{{"deleted":true,"sessions_revoked":2,"user_id":"{USER}"}}"#),
        ),
        (
            json(&PasswordChanged {
                sessions_revoked: 1,
            }),
            r#"{"sessions_revoked":1}"#.to_owned(),
        ),
    ];
    for (got, expected) in cases {
        assert_eq!(got, expected);
    }
}

#[test]
fn an_account_lists_its_fields_alphabetically_and_a_page_names_its_cursor() {
    let roles = ["admin".to_owned()];
    let summary = UserSummary {
        id: user(),
        email: "alice@example.com".into(),
        roles: roles.to_vec(),
        locked: false,
        created_at: at(1_700_000_000),
        last_login_at: None,
    };
    let page = UsersPage {
        next_cursor: Some("alice@example.com".into()),
        users: vec![UserSummaryView::new(&summary)],
    };
    assert_eq!(
        json(&page),
        format!(
            r#"{{"next_cursor":"alice@example.com","users":[{{"created_at":"2023-11-14T22:13:20Z","email":"alice@example.com","id":"{USER}","last_login_at":null,"locked":false,"roles":["admin"]}}]}}"#
        )
    );
}
