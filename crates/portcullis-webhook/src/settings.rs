//! [`WebhookSettings`]: where chosen events go, which ones, and how delivery is paced. Its
//! `Debug` never prints the secret, nor the URL's path and query (often a token).

use portcullis_core::webhook_outbox::RetryPolicy;
use portcullis_core::EventKind;
use std::fmt;
use std::time::Duration;

/// The longest pause between two attempts at one delivery.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Where and what to deliver.
#[derive(Clone)]
pub struct WebhookSettings {
    /// An http(s) URL.
    pub url: String,
    /// The HMAC key; never logged.
    pub secret: Vec<u8>,
    /// Only these kinds are sent.
    pub kinds: Vec<EventKind>,
    /// Per attempt; default 5 s. A claim holds a row this long plus a margin.
    pub timeout: Duration,
    /// Default 6.
    pub max_attempts: u32,
    /// The pause after the first failed attempt, doubling after each further one (capped at
    /// 30 s); default 200 ms. Tests set it small.
    pub initial_backoff: Duration,
}

impl WebhookSettings {
    /// Settings with the defaults: 5 s per attempt, 6 attempts, backoff from 200 ms.
    pub fn new(url: impl Into<String>, secret: impl Into<Vec<u8>>, kinds: Vec<EventKind>) -> Self {
        Self {
            url: url.into(),
            secret: secret.into(),
            kinds,
            timeout: Duration::from_secs(5),
            max_attempts: 6,
            initial_backoff: Duration::from_millis(200),
        }
    }

    pub(crate) fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts.max(1),
            initial_backoff: self.initial_backoff,
            max_backoff: MAX_BACKOFF,
        }
    }
}

impl fmt::Debug for WebhookSettings {
    // Hand-written so neither the secret nor a token in the URL's path or query can be printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("url", &origin(&self.url))
            .field("secret", &"..")
            .field("kinds", &self.kinds)
            .field("timeout", &self.timeout)
            .field("max_attempts", &self.max_attempts)
            .field("initial_backoff", &self.initial_backoff)
            .finish()
    }
}

/// `scheme://host[:port]` of a URL, for `Debug`; the path and query may carry a token.
fn origin(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(url) => url.origin().ascii_serialization(),
        Err(_) => "<not a URL>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_retry_policy_makes_at_least_one_attempt_and_caps_the_backoff() {
        let mut settings = WebhookSettings::new("https://h.example", b"k".to_vec(), vec![]);
        settings.max_attempts = 0;
        let policy = settings.retry_policy();
        assert_eq!(policy.max_attempts, 1);
        assert_eq!(policy.initial_backoff, Duration::from_millis(200));
        assert_eq!(policy.max_backoff, MAX_BACKOFF);
    }
}
