//! A fully read HTTP response, with accessors for what tests assert on.

use crate::COOKIE_NAME;
use reqwest::header::{HeaderMap, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::Value;

/// A fully read HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub async fn read(response: reqwest::Response) -> Self {
        Self::try_read(response).await.expect("response body")
    }

    /// `None` when the body cannot be read to its end (the server went away mid-response).
    pub async fn try_read(response: reqwest::Response) -> Option<Self> {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.ok()?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Some(Self {
            status,
            headers,
            body,
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The `error` code of a JSON error body.
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("<no error code>")
    }

    pub fn access_token(&self) -> String {
        self.body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token in {:?}", self.body))
            .to_owned()
    }

    /// Asserts the response deletes the refresh cookie with the attributes it was set with.
    pub fn assert_refresh_cookie_cleared(&self) {
        let set_cookie = self
            .refresh_set_cookie()
            .expect("the refresh cookie is cleared");
        for attribute in [
            "Max-Age=0",
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/auth",
        ] {
            assert!(
                set_cookie.contains(attribute),
                "{set_cookie} lacks {attribute}"
            );
        }
    }

    /// The refresh cookie this response sets, as its full `Set-Cookie` text.
    pub fn refresh_set_cookie(&self) -> Option<&str> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find(|value| value.starts_with(&format!("{COOKIE_NAME}=")))
    }
}

/// How a burst of login attempts was answered: (passwords evaluated, i.e. 401
/// `invalid_credentials`; attempts refused unevaluated, i.e. 429). Any other answer fails.
pub fn login_burst_tally(replies: &[Reply]) -> (usize, usize) {
    let evaluated = replies
        .iter()
        .filter(|reply| reply.error() == "invalid_credentials")
        .count();
    let refused = replies
        .iter()
        .filter(|reply| reply.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(evaluated + refused, replies.len(), "unexpected answers");
    (evaluated, refused)
}
