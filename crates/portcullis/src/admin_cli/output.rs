//! What `portcullis admin` commands print: the text for people, and the JSON for scripts,
//! rendered from the shared view types of `portcullis_http::views` or, for the admin keys and
//! the webhook outbox (which have no API), from the types here.

use portcullis_core::webhook_outbox::{DeliveryState, UndeliveredEntry};
use portcullis_http::views::rfc3339;
use serde::Serialize;

/// What a command prints, for people and for scripts (the JSON already rendered).
pub(crate) struct Output {
    pub text: String,
    pub json: String,
}

impl Output {
    pub fn new(text: String, json: &impl Serialize) -> anyhow::Result<Self> {
        let json = serde_json::to_string_pretty(json)?;
        Ok(Self { text, json })
    }
}

// The admin keys and the outbox have no API: these shapes are the command line's own. Fields in alphabetical
// order, the order they have always been printed in (see `portcullis_http::views`).

/// A key just created: the only time its text is shown.
#[derive(Serialize)]
pub(super) struct KeyCreated {
    pub key: String,
    pub name: String,
}

/// A key as listed: names and dates, never the key.
#[derive(Serialize)]
pub(super) struct KeyListed<'a> {
    pub created_at: String,
    pub name: &'a str,
    pub revoked_at: Option<String>,
}

#[derive(Serialize)]
pub(super) struct KeyRevoked {
    pub name: String,
    pub revoked: bool,
}

/// A webhook delivery not yet made. `next_attempt_at` is null once it has failed for good;
/// `locked_until` is set while a server is attempting it (or until a dead one's claim lapses).
#[derive(Serialize)]
pub(super) struct WebhookListed {
    pub attempts: u32,
    pub event_at: String,
    pub event_id: i64,
    pub kind: &'static str,
    pub last_error: Option<String>,
    pub locked_until: Option<String>,
    pub next_attempt_at: Option<String>,
    pub state: &'static str,
}

impl WebhookListed {
    pub fn new(entry: &UndeliveredEntry) -> Self {
        Self {
            attempts: entry.attempts,
            event_at: rfc3339(entry.event_at),
            event_id: entry.event_id,
            kind: entry.kind.as_str(),
            last_error: entry.last_error.clone(),
            locked_until: entry.locked_until.map(rfc3339),
            next_attempt_at: (entry.state == DeliveryState::Pending)
                .then(|| rfc3339(entry.next_attempt_at)),
            state: entry.state.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_key_outputs_keep_their_shapes() {
        let created = KeyCreated {
            key: "pk_abc".into(),
            name: "ops".into(),
        };
        assert_eq!(
            Output::new(String::new(), &created).expect("renders").json,
            "{\n  \"key\": \"pk_abc\",\n  \"name\": \"ops\"\n}"
        );
        let listed = [KeyListed {
            created_at: "2023-11-14T22:13:20Z".into(),
            name: "ops",
            revoked_at: None,
        }];
        assert_eq!(
            serde_json::to_string(&listed).expect("serialises"),
            r#"[{"created_at":"2023-11-14T22:13:20Z","name":"ops","revoked_at":null}]"#
        );
        let revoked = KeyRevoked {
            name: "ops".into(),
            revoked: true,
        };
        assert_eq!(
            serde_json::to_string(&revoked).expect("serialises"),
            r#"{"name":"ops","revoked":true}"#
        );
    }

    #[test]
    fn a_listed_webhook_shows_its_next_attempt_only_while_pending() {
        let at = time::OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("in range");
        let mut entry = UndeliveredEntry {
            event_id: 7,
            kind: portcullis_core::EventKind::RefreshTokenReused,
            event_at: at,
            state: DeliveryState::Pending,
            attempts: 2,
            next_attempt_at: at,
            locked_until: None,
            last_error: Some("receiver answered 503 Service Unavailable".into()),
        };
        assert_eq!(
            serde_json::to_value(WebhookListed::new(&entry)).expect("serialises"),
            serde_json::json!({
                "attempts": 2,
                "event_at": "2023-11-14T22:13:20Z",
                "event_id": 7,
                "kind": "refresh_token_reused",
                "last_error": "receiver answered 503 Service Unavailable",
                "locked_until": null,
                "next_attempt_at": "2023-11-14T22:13:20Z",
                "state": "pending",
            })
        );
        entry.state = DeliveryState::Failed;
        let failed = WebhookListed::new(&entry);
        assert_eq!(failed.state, "failed");
        assert_eq!(failed.next_attempt_at, None);
    }
}
