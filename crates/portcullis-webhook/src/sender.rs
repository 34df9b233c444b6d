//! One delivery attempt over HTTP: the signed POST, its body and headers, and the client it is
//! sent with. It knows nothing of the outbox: the worker decides what is attempted and what
//! becomes of the outcome. The secret, the signature and the URL's path and query are never
//! logged, nor put in a failure's text (which is stored for the operator).

use crate::settings::WebhookSettings;
use crate::signature::sign;
use aws_lc_rs::hmac;
use portcullis_core::SecurityEvent;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

/// Sends attempts to one receiver.
pub(crate) struct Sender {
    client: reqwest::Client,
    url: reqwest::Url,
    key: hmac::Key,
    timeout: Duration,
}

/// What one attempt sends: the same for every attempt of a delivery.
pub(crate) struct Payload<'a> {
    pub kind: &'a str,
    pub event_id: i64,
    pub delivery_id: Uuid,
    pub body: Vec<u8>,
}

impl<'a> Payload<'a> {
    pub fn new(event: &'a SecurityEvent, event_id: i64, delivery_id: Uuid) -> Self {
        Self {
            kind: event.kind.as_str(),
            event_id,
            delivery_id,
            body: body(event, event_id, delivery_id).to_string().into_bytes(),
        }
    }
}

impl Sender {
    pub fn new(settings: &WebhookSettings) -> Result<Self, SetupError> {
        let url =
            reqwest::Url::parse(&settings.url).map_err(|error| SetupError::Url(error.into()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SetupError::Scheme);
        }
        Ok(Self {
            client: client()?,
            url,
            key: hmac::Key::new(hmac::HMAC_SHA256, &settings.secret),
            timeout: settings.timeout,
        })
    }

    /// One POST. Re-signed each time, so the timestamp is fresh for the receiver's replay window.
    pub async fn attempt(&self, payload: &Payload<'_>) -> Result<(), Failure> {
        let timestamp = OffsetDateTime::now_utc().unix_timestamp().to_string();
        let signature = sign(&self.key, &timestamp, &payload.body);
        let response = self
            .client
            .post(self.url.clone())
            .timeout(self.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Portcullis-Event", payload.kind)
            .header("X-Portcullis-Event-Id", payload.event_id.to_string())
            .header("X-Portcullis-Delivery", payload.delivery_id.to_string())
            .header("X-Portcullis-Timestamp", &timestamp)
            .header("X-Portcullis-Signature", signature)
            .body(payload.body.clone())
            .send()
            .await
            // The error's text would otherwise include the URL.
            .map_err(|error| Failure::Transport(error.without_url()))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(Failure::Status(status))
        }
    }
}

/// Why delivery could not start; it is then off, and this is logged once.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SetupError {
    #[error("the webhook URL is not a URL")]
    Url(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the webhook URL is not http(s)")]
    Scheme,
    #[error("the webhook TLS configuration was refused")]
    Tls(#[source] rustls::Error),
    #[error("the webhook HTTP client could not be built")]
    Client(#[source] reqwest::Error),
}

/// Why one attempt failed, for the log and the row's `last_error`.
pub(crate) enum Failure {
    Transport(reqwest::Error),
    Status(reqwest::StatusCode),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport(error) if error.is_timeout() => f.write_str("timed out"),
            Self::Transport(error) if error.is_connect() => f.write_str("could not connect"),
            Self::Transport(error) => write!(f, "{error}"),
            Self::Status(status) => write!(f, "receiver answered {status}"),
        }
    }
}

/// The HTTP client: rustls on aws-lc-rs (this crate's crypto provider, not a process-wide
/// default), the Mozilla roots built in, no redirects (a 3xx is a failed attempt, and the signed
/// body is never re-sent somewhere else).
fn client() -> Result<reqwest::Client, SetupError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(SetupError::Tls)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(SetupError::Client)
}

/// The JSON body of one delivery. `event_id` repeats `X-Portcullis-Event-Id` inside what the
/// signature covers, so a receiver can deduplicate on a value nobody could have altered.
fn body(event: &SecurityEvent, event_id: i64, delivery: Uuid) -> serde_json::Value {
    // Details are stored as JSON object text; should one ever not parse, send it as a string
    // rather than lose it.
    let details = serde_json::from_str::<serde_json::Value>(&event.details)
        .unwrap_or_else(|_| serde_json::json!({ "unparsed": event.details }));
    serde_json::json!({
        "id": delivery,
        "event_id": event_id,
        "kind": event.kind.as_str(),
        // Only years outside 0..=9999 fail to format; no real event has one.
        "at": event.at.format(&Rfc3339).ok(),
        "user_id": event.user_id.map(|id| id.to_string()),
        "session_id": event.session_id.map(|id| id.to_string()),
        "ip": event.client.ip,
        "user_agent": event.client.user_agent,
        "actor": event.actor,
        "details": details,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::{ClientInfo, EventKind, SessionId, UserId};

    #[test]
    fn the_body_carries_every_field_with_absent_ones_null() {
        let delivery = Uuid::new_v4();
        let at = OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("in range");
        let bare = body(&SecurityEvent::new(EventKind::Logout, at), 42, delivery);
        assert_eq!(
            bare,
            serde_json::json!({
                "id": delivery.to_string(),
                "event_id": 42,
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
        let full = body(&full, 43, delivery);
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
            body(&event, 1, Uuid::new_v4())["details"],
            serde_json::json!({ "unparsed": "not json" })
        );
    }

    #[test]
    fn only_http_and_https_urls_make_a_sender() {
        let sender = |url: &str| Sender::new(&WebhookSettings::new(url, b"k".to_vec(), vec![]));
        assert!(sender("https://hooks.example.com/x").is_ok());
        assert!(sender("http://127.0.0.1:9/x").is_ok());
        assert!(sender("ftp://hooks.example.com/x").is_err());
        assert!(sender("hooks.example.com/x").is_err());
    }
}
