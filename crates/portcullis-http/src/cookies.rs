//! The refresh cookie: `HttpOnly; Secure; SameSite; Path=/auth`, set, read and cleared with the
//! same attributes.

use axum::http::{header, HeaderMap, HeaderValue};
use cookie::{Cookie, SameSite};
use time::OffsetDateTime;

/// Name and SameSite policy of the refresh cookie.
#[derive(Clone, Debug)]
pub struct CookieSettings {
    pub name: String,
    pub same_site: SameSite,
}

/// Only the gateway's own `/auth/*` endpoints ever receive the refresh cookie.
const COOKIE_PATH: &str = "/auth";

impl CookieSettings {
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
        let mut cookie = Cookie::build((self.name.as_str(), value))
            .http_only(true)
            .secure(true)
            .same_site(self.same_site)
            .path(COOKIE_PATH)
            .max_age(max_age)
            .build();
        if max_age.is_zero() {
            cookie.set_expires(OffsetDateTime::UNIX_EPOCH);
        }
        // Token text is base64url and names are validated at start, so this cannot fail.
        HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The refresh cookie's value from the request, if present and non-empty.
    pub fn read(&self, headers: &HeaderMap) -> Option<String> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|cookie| cookie.name() == self.name)
            .map(|cookie| cookie.value().to_owned())
            .filter(|value| !value.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> CookieSettings {
        CookieSettings {
            name: "__Secure-portcullis-refresh".into(),
            same_site: SameSite::Strict,
        }
    }

    #[test]
    fn set_and_clear_carry_the_same_attributes() {
        let set = settings().set("abc", OffsetDateTime::now_utc() + time::Duration::hours(1));
        let set = set.to_str().expect("ascii");
        for attribute in [
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/auth",
            "Max-Age=3600",
        ] {
            assert!(set.contains(attribute), "{set} lacks {attribute}");
        }
        let clear = settings().clear();
        let clear = clear.to_str().expect("ascii");
        for attribute in [
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/auth",
            "Max-Age=0",
        ] {
            assert!(clear.contains(attribute), "{clear} lacks {attribute}");
        }
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; __Secure-portcullis-refresh=tok; b=2"),
        );
        assert_eq!(settings().read(&headers).as_deref(), Some("tok"));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("__Secure-portcullis-refresh="),
        );
        assert_eq!(settings().read(&headers), None);
    }
}
