//! The refresh cookie: `HttpOnly; Secure; SameSite`, on `Path=/auth` (or host-only on `Path=/`
//! with the `__Host-` prefix), set, read and cleared with the same attributes, and removed from
//! requests relayed to applications.
//!
//! Reading never guesses. A request may carry several cookies of the name: an empty one is
//! nothing, but of two real ones the client's own cannot be told from one planted from a sibling
//! subdomain, so the reader says "ambiguous" and its callers refuse the request.

use axum::http::{header, HeaderMap, HeaderValue};
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

/// What a request's `Cookie` headers present as the refresh cookie.
#[derive(Clone, PartialEq, Eq)]
pub enum Presented {
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
    /// Empty values (a cleared or planted `name=`) are ignored; names compare exactly.
    pub fn read(&self, headers: &HeaderMap) -> Presented {
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
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NAME: &str = "__Secure-portcullis-refresh";

    fn settings() -> CookieSettings {
        CookieSettings::new(NAME, SameSite::Strict, false)
    }

    fn cookie_lines(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(header::COOKIE, HeaderValue::from_str(line).expect("header"));
        }
        headers
    }

    fn lines_of(headers: &HeaderMap) -> Vec<&str> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .map(|value| value.to_str().expect("ascii"))
            .collect()
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
    fn the_host_prefix_renames_the_cookie_and_makes_it_host_only_on_the_root_path() {
        for (configured, expected) in [
            ("__Secure-portcullis-refresh", "__Host-portcullis-refresh"),
            ("__secure-refresh", "__Host-refresh"),
            ("__Host-refresh", "__Host-refresh"),
            ("refresh", "__Host-refresh"),
        ] {
            let settings = CookieSettings::new(configured, SameSite::Lax, true);
            assert_eq!(settings.name(), expected, "{configured}");
            for rendered in [
                settings.set("abc", OffsetDateTime::now_utc() + time::Duration::hours(1)),
                settings.clear(),
            ] {
                let parsed = Cookie::parse(rendered.to_str().expect("ascii")).expect("cookie");
                assert_eq!(parsed.name(), expected);
                assert_eq!(parsed.path(), Some("/"));
                assert_eq!(parsed.domain(), None);
                assert_eq!(parsed.secure(), Some(true));
            }
        }
        assert_eq!(
            CookieSettings::new(NAME, SameSite::Lax, false).name(),
            NAME,
            "without the option the name is used as configured"
        );
    }

    #[test]
    fn the_cookie_is_read_among_others_and_never_guessed() {
        let token = |text: &str| Presented::One(text.to_owned());
        #[rustfmt::skip]
        let cases: [(&str, &[&str], Presented); 11] = [
            ("among others", &["a=1; __Secure-portcullis-refresh=tok; b=2"], token("tok")),
            ("absent", &["a=1; b=2"], Presented::Absent),
            ("no header", &[], Presented::Absent),
            ("only empty", &["__Secure-portcullis-refresh="], Presented::Absent),
            ("an empty one first", &["__Secure-portcullis-refresh=; __Secure-portcullis-refresh=tok"], token("tok")),
            ("an empty one on another line", &["__Secure-portcullis-refresh=tok", "__Secure-portcullis-refresh="], token("tok")),
            ("two values", &["__Secure-portcullis-refresh=evil; __Secure-portcullis-refresh=tok"], Presented::Ambiguous),
            ("two lines", &["__Secure-portcullis-refresh=tok", "a=1; __Secure-portcullis-refresh=evil"], Presented::Ambiguous),
            ("the same value twice", &["__Secure-portcullis-refresh=tok; __Secure-portcullis-refresh=tok"], Presented::Ambiguous),
            ("names compare exactly", &["__secure-portcullis-refresh=x; __Host-portcullis-refresh=y; __Secure-portcullis-refresh2=z"], Presented::Absent),
            ("spaces around the pair", &["  __Secure-portcullis-refresh = tok ;a=1"], token("tok")),
        ];
        for (name, lines, expected) in cases {
            assert_eq!(settings().read(&cookie_lines(lines)), expected, "{name}");
        }
    }

    #[test]
    fn presented_tokens_are_not_printed() {
        let printed = format!("{:?}", Presented::One("secret-token".into()));
        assert!(!printed.contains("secret"), "{printed}");
    }

    #[test]
    fn removing_the_cookie_keeps_every_other_cookie_as_it_was() {
        #[rustfmt::skip]
        let cases: [(&str, &[&str], &[&str]); 6] = [
            ("among others", &["a=1; __Secure-portcullis-refresh=tok; b=\"x y\""], &["a=1; b=\"x y\""]),
            ("every occurrence", &["__Secure-portcullis-refresh=; a=1; __Secure-portcullis-refresh=tok"], &["a=1"]),
            ("a line with only the cookie is dropped", &["__Secure-portcullis-refresh=tok", "b=2"], &["b=2"]),
            ("other lines untouched, spacing included", &["a=1;b=2", "__Secure-portcullis-refresh=tok"], &["a=1;b=2"]),
            ("names compare exactly", &["__secure-portcullis-refresh=x; __Secure-portcullis-refresh=tok"], &["__secure-portcullis-refresh=x"]),
            ("nothing left: no header", &["__Secure-portcullis-refresh=tok", " ; __Secure-portcullis-refresh="], &[]),
        ];
        for (name, lines, expected) in cases {
            let mut headers = cookie_lines(lines);
            headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
            settings().remove_from(&mut headers);
            assert_eq!(lines_of(&headers), expected, "{name}");
            assert_eq!(
                headers.contains_key(header::COOKIE),
                !expected.is_empty(),
                "{name}"
            );
            assert!(
                headers.contains_key(header::ACCEPT),
                "{name}: other headers stay"
            );
        }
        let host = CookieSettings::new(NAME, SameSite::Strict, true);
        let mut headers = cookie_lines(&["__Host-portcullis-refresh=tok; a=1"]);
        host.remove_from(&mut headers);
        assert_eq!(
            lines_of(&headers),
            ["a=1"],
            "the prefixed name is the one removed"
        );
    }

    // Property tests: a request is a set of `Cookie` lines built from pairs; the reader's
    // answer depends only on how many non-empty values of the name it carries.

    /// A pair in a request, before it is written into lines.
    #[derive(Clone, Debug)]
    enum Piece {
        /// A real value of the refresh cookie.
        Ours(String),
        /// `name=` with no value.
        OursEmpty,
        /// Any other cookie, including near-miss names.
        Other(String, String),
    }

    fn piece_text(piece: &Piece) -> String {
        match piece {
            Piece::Ours(value) => format!("{NAME}={value}"),
            Piece::OursEmpty => format!("{NAME}="),
            Piece::Other(name, value) => format!("{name}={value}"),
        }
    }

    fn token() -> impl Strategy<Value = String> {
        "[A-Za-z0-9_-]{1,12}"
    }

    fn other() -> impl Strategy<Value = Piece> {
        let name = prop_oneof![
            Just("__secure-portcullis-refresh".to_owned()),
            Just("__Host-portcullis-refresh".to_owned()),
            Just(format!("{NAME}x")),
            Just(format!("x{NAME}")),
            "[a-z]{1,6}",
        ];
        (name, "[A-Za-z0-9]{0,6}").prop_map(|(name, value)| Piece::Other(name, value))
    }

    /// Writes `pieces` into `Cookie` lines, starting a new line before the indices in `breaks`.
    fn request(pieces: &[Piece], breaks: &[usize]) -> HeaderMap {
        let mut lines: Vec<Vec<String>> = vec![Vec::new()];
        for (index, piece) in pieces.iter().enumerate() {
            if breaks.contains(&index) {
                lines.push(Vec::new());
            }
            if let Some(line) = lines.last_mut() {
                line.push(piece_text(piece));
            }
        }
        let lines: Vec<String> = lines
            .iter()
            .filter(|line| !line.is_empty())
            .map(|line| line.join("; "))
            .collect();
        cookie_lines(&lines.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// `base` with `extra` pieces inserted at the given positions (taken modulo the length).
    fn interleave(base: &[Piece], extra: &[(usize, Piece)]) -> Vec<Piece> {
        let mut pieces = base.to_vec();
        for (at, piece) in extra {
            let at = at % (pieces.len() + 1);
            pieces.insert(at, piece.clone());
        }
        pieces
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn empty_values_of_the_name_never_change_the_result(
            base in prop::collection::vec(prop_oneof![token().prop_map(Piece::Ours), other()], 0..5),
            empties in prop::collection::vec((any::<usize>(), Just(Piece::OursEmpty)), 1..4),
            breaks in prop::collection::vec(0usize..10, 0..3),
        ) {
            let with_empties = interleave(&base, &empties);
            prop_assert_eq!(
                settings().read(&request(&base, &breaks)),
                settings().read(&request(&with_empties, &breaks))
            );
        }

        #[test]
        fn other_cookies_never_change_the_result(
            base in prop::collection::vec(prop_oneof![token().prop_map(Piece::Ours), Just(Piece::OursEmpty)], 0..4),
            others in prop::collection::vec((any::<usize>(), other()), 1..6),
            breaks in prop::collection::vec(0usize..10, 0..3),
        ) {
            let with_others = interleave(&base, &others);
            prop_assert_eq!(
                settings().read(&request(&base, &breaks)),
                settings().read(&request(&with_others, &breaks))
            );
        }

        #[test]
        fn two_or_more_values_are_ambiguous_whatever_the_order(
            pieces in (
                prop::collection::vec(token().prop_map(Piece::Ours), 2..5),
                prop::collection::vec(prop_oneof![other(), Just(Piece::OursEmpty)], 0..5),
            )
                .prop_map(|(ours, noise)| ours.into_iter().chain(noise).collect::<Vec<_>>())
                .prop_shuffle(),
            breaks in prop::collection::vec(0usize..10, 0..3),
        ) {
            prop_assert_eq!(settings().read(&request(&pieces, &breaks)), Presented::Ambiguous);
        }

        #[test]
        fn removal_leaves_no_trace_of_the_cookie_and_every_other_cookie_in_order(
            pieces in prop::collection::vec(prop_oneof![token().prop_map(Piece::Ours), Just(Piece::OursEmpty), other()], 0..8),
            breaks in prop::collection::vec(0usize..10, 0..3),
        ) {
            let mut headers = request(&pieces, &breaks);
            settings().remove_from(&mut headers);
            prop_assert_eq!(settings().read(&headers), Presented::Absent);
            let left: Vec<String> = lines_of(&headers).iter().flat_map(|line| line.split("; ")).map(str::to_owned).collect();
            let others: Vec<String> = pieces.iter().filter(|p| matches!(p, Piece::Other(..))).map(piece_text).collect();
            prop_assert_eq!(left, others);
        }
    }
}
