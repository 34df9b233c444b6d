//! Tests of `lib.rs`: the delivery body, the URL checks and what `Debug` may print; delivery
//! itself is tested against a real receiver in `tests/delivery.rs`.

use super::*;
use portcullis_core::{ClientInfo, SessionId, UserId};

#[test]
fn the_body_carries_every_field_with_absent_ones_null() {
    let delivery = Uuid::new_v4();
    let at = OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("in range");
    let bare = body(&SecurityEvent::new(EventKind::Logout, at), delivery);
    assert_eq!(
        bare,
        serde_json::json!({
            "id": delivery.to_string(),
            "kind": "logout",
            "at": "2023-11-14T22:13:20Z",
            "user_id": null,
            "session_id": null,
            "ip": null,
            "user_agent": null,
            "actor": null,
            "details": {},
        })
    );

    let (user, session) = (UserId::new(), SessionId::new());
    let client = ClientInfo {
        ip: Some("203.0.113.9".to_owned()),
        user_agent: Some("curl/8".to_owned()),
    };
    let full = SecurityEvent::new(EventKind::UserLocked, at)
        .user(user)
        .session(session)
        .client(&client)
        .actor("ops-key")
        .details(r#"{"reason":"abuse"}"#.to_owned());
    let full = body(&full, delivery);
    assert_eq!(full["user_id"], user.to_string());
    assert_eq!(full["session_id"], session.to_string());
    assert_eq!(full["ip"], "203.0.113.9");
    assert_eq!(full["user_agent"], "curl/8");
    assert_eq!(full["actor"], "ops-key");
    assert_eq!(full["details"], serde_json::json!({ "reason": "abuse" }));
}

#[test]
fn details_that_do_not_parse_are_sent_as_text() {
    let event = SecurityEvent::new(EventKind::Logout, OffsetDateTime::UNIX_EPOCH)
        .details("not json".to_owned());
    assert_eq!(
        body(&event, Uuid::new_v4())["details"],
        serde_json::json!({ "unparsed": "not json" })
    );
}

#[test]
fn only_http_and_https_urls_make_a_delivery() {
    let delivery = |url: &str| {
        let settings = WebhookSettings::new(url, b"k".to_vec(), vec![]);
        Delivery::new(settings, Metrics::new())
    };
    assert!(delivery("https://hooks.example.com/x").is_ok());
    assert!(delivery("http://127.0.0.1:9/x").is_ok());
    assert!(delivery("ftp://hooks.example.com/x").is_err());
    assert!(delivery("hooks.example.com/x").is_err());
}

#[test]
fn debug_prints_neither_the_secret_nor_the_url_path() {
    let settings = WebhookSettings::new(
        "https://hooks.example.com/T0/secret-token?x=1",
        b"hunter2".to_vec(),
        vec![EventKind::Logout],
    );
    let printed = format!("{settings:?}");
    assert!(printed.contains("https://hooks.example.com"), "{printed}");
    assert!(!printed.contains("secret-token"), "{printed}");
    assert!(!printed.contains("104, 117"), "{printed}"); // the bytes of "hu..."
}
