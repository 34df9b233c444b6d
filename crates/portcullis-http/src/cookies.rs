//! The refresh cookie: `HttpOnly; Secure; SameSite`, on `Path=/auth` (or host-only on `Path=/`
//! with the `__Host-` prefix), set, read and cleared with the same attributes, and removed from
//! requests relayed to applications.
//!
//! Reading never guesses. A request may carry several cookies of the name: an empty one is
//! nothing, but of two real ones the client's own cannot be told from one planted from a sibling
//! subdomain, so the reader says "ambiguous" and the request is refused.
//!
//! A handler gets the refresh token only through the [`RefreshCookie`] extractor, which runs the
//! cross-site checks (`csrf`) first: the reader itself is private to this module, so no
//! cookie-authenticated route can forget them.

use crate::error::ApiError;
use crate::{csrf, AppState};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use cookie::{Cookie, SameSite};
use std::fmt;
use time::OffsetDateTime;

const HOST_PREFIX: &str = "__Host-";
const SECURE_PREFIX: &str = "__Secure-";

/// Only the gateway's own `/auth/*` endpoints receive the refresh cookie, unless it is a
/// `__Host-` cookie: browsers require those to be on `/`.
const AUTH_PATH: &str = "/auth";
const ROOT_PATH: &str = "/";

/// Name, scope and SameSite policy of the refresh cookie.
#[derive(Clone, Debug)]
pub struct CookieSettings {
    name: String,
    same_site: SameSite,
    host_only: bool,
}

/// The refresh token of a cookie-authenticated request (`None`: no cookie was sent), once the
/// request has passed the CSRF and origin checks. Those come first, before the cookie is even
/// read. Two refresh cookies are refused before the gateway sees either: one may have been
/// planted from a sibling subdomain, and acting on it must not rotate, revoke or clear the other.
pub struct RefreshCookie(pub Option<String>);

impl FromRequestParts<AppState> for RefreshCookie {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        csrf::guard(&parts.headers, &state.web.allowed_origins)?;
        match state.web.cookie.read(&parts.headers) {
            Presented::Absent => Ok(Self(None)),
            Presented::One(token) => Ok(Self(Some(token))),
            Presented::Ambiguous => {
                tracing::warn!("a request carried two refresh cookies; refused");
                Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "the request carries more than one refresh cookie, so none is used; clear \
                     this site's cookies and log in again",
                ))
            }
        }
    }
}

/// What a request's `Cookie` headers present as the refresh cookie.
#[derive(Clone, PartialEq, Eq)]
enum Presented {
    /// No non-empty value of the name.
    Absent,
    /// Exactly one non-empty value: the refresh token.
    One(String),
    /// Two or more non-empty values: which one is the client's own cannot be told.
    Ambiguous,
}

impl fmt::Debug for Presented {
    // The token is a secret: `Debug` must not print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Absent => f.write_str("Absent"),
            Self::One(_) => f.write_str("One(..)"),
            Self::Ambiguous => f.write_str("Ambiguous"),
        }
    }
}

impl CookieSettings {
    /// The cookie named `cookie_name`; with `host_prefix` it is named with the `__Host-` prefix
    /// instead (replacing a leading `__Secure-`), lives on `Path=/` and never has a `Domain`, so
    /// no sibling subdomain can set or overwrite it.
    pub fn new(cookie_name: &str, same_site: SameSite, host_prefix: bool) -> Self {
        let name = match host_prefix {
            true => host_prefixed(cookie_name),
            false => cookie_name.to_owned(),
        };
        Self {
            name,
            same_site,
            host_only: host_prefix,
        }
    }

    /// The name the cookie is set and read under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cookie carrying `token`, living until `expires_at`.
    pub fn set(&self, token: &str, expires_at: OffsetDateTime) -> HeaderValue {
        // Round up: a cookie must not be dropped by the browser while its token still works.
        let left = expires_at - OffsetDateTime::now_utc();
        let seconds = left.whole_seconds() + i64::from(left.subsec_nanoseconds() > 0);
        self.render(token, time::Duration::seconds(seconds.max(0)))
    }

    /// A cookie that deletes the refresh cookie.
    pub fn clear(&self) -> HeaderValue {
        self.render("", time::Duration::ZERO)
    }

    fn render(&self, value: &str, max_age: time::Duration) -> HeaderValue {
        let path = match self.host_only {
            true => ROOT_PATH,
            false => AUTH_PATH,
        };
        // No `Domain`, ever: the cookie stays with the host that set it.
        let mut cookie = Cookie::build((self.name.as_str(), value))
            .http_only(true)
            .secure(true)
            .same_site(self.same_site)
            .path(path)
            .max_age(max_age)
            .build();
        if max_age.is_zero() {
            cookie.set_expires(OffsetDateTime::UNIX_EPOCH);
        }
        // Token text is base64url and names are validated at start, so this cannot fail.
        HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The refresh cookie as the request presents it, across every `Cookie` header line.
    /// Empty values (a cleared or planted `name=`) are ignored; names compare exactly. Private:
    /// handlers read the cookie through [`RefreshCookie`], after the cross-site checks.
    fn read(&self, headers: &HeaderMap) -> Presented {
        let mut values = headers
            .get_all(header::COOKIE)
            .iter()
            .flat_map(|line| pairs(line.as_bytes()))
            .filter(|pair| pair.name == self.name.as_bytes() && !pair.value.is_empty())
            .map(|pair| pair.value);
        match (values.next(), values.next()) {
            (None, _) => Presented::Absent,
            (Some(value), None) => Presented::One(String::from_utf8_lossy(value).into_owned()),
            (Some(_), Some(_)) => Presented::Ambiguous,
        }
    }

    /// Removes every cookie of this name from every `Cookie` header line, for requests relayed
    /// to an application: the refresh token is the gateway's alone. Other cookies are kept
    /// byte for byte and in order; a line left empty is dropped, and so is the header.
    pub fn remove_from(&self, headers: &mut HeaderMap) {
        let ours = |pair: &Pair<'_>| pair.name == self.name.as_bytes();
        let lines: Vec<HeaderValue> = headers.get_all(header::COOKIE).iter().cloned().collect();
        if !lines
            .iter()
            .any(|line| pairs(line.as_bytes()).any(|pair| ours(&pair)))
        {
            return;
        }
        headers.remove(header::COOKIE);
        for line in lines {
            if !pairs(line.as_bytes()).any(|pair| ours(&pair)) {
                headers.append(header::COOKIE, line);
                continue;
            }
            let kept: Vec<&[u8]> = pairs(line.as_bytes())
                .filter(|pair| !ours(pair))
                .map(|pair| pair.text)
                .collect();
            if kept.is_empty() {
                continue;
            }
            // The kept bytes come from a valid header value, so they form one too.
            if let Ok(mut value) = HeaderValue::from_bytes(&kept.join(&b"; "[..])) {
                value.set_sensitive(line.is_sensitive());
                headers.append(header::COOKIE, value);
            }
        }
    }
}

/// `cookie_name` with the `__Host-` prefix: a leading `__Secure-` (or `__Host-`) is replaced,
/// any other name is prefixed. Browsers match prefixes case-insensitively, so this does too.
fn host_prefixed(cookie_name: &str) -> String {
    let bare = [SECURE_PREFIX, HOST_PREFIX]
        .iter()
        .find_map(|prefix| {
            cookie_name
                .get(..prefix.len())
                .filter(|head| head.eq_ignore_ascii_case(prefix))
                .map(|_| &cookie_name[prefix.len()..])
        })
        .unwrap_or(cookie_name);
    format!("{HOST_PREFIX}{bare}")
}

/// One `name=value` of a `Cookie` line, as raw bytes: `text` is the whole pair without the
/// surrounding whitespace, the form it is forwarded in.
struct Pair<'a> {
    text: &'a [u8],
    name: &'a [u8],
    value: &'a [u8],
}

/// The pairs of one `Cookie` line (`a=1; b=2`), empty list elements skipped. A pair without
/// `=` has an empty name, as browsers treat it (RFC 6265bis §5.6).
fn pairs(line: &[u8]) -> impl Iterator<Item = Pair<'_>> {
    line.split(|byte| *byte == b';')
        .map(<[u8]>::trim_ascii)
        .filter(|text| !text.is_empty())
        .map(|text| {
            let (name, value) = match text.iter().position(|byte| *byte == b'=') {
                Some(at) => (&text[..at], &text[at + 1..]),
                None => (&b""[..], text),
            };
            Pair {
                text,
                name: name.trim_ascii(),
                value: value.trim_ascii(),
            }
        })
}

#[cfg(test)]
mod tests;
