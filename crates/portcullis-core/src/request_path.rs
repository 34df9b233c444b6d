//! [`RequestPath`]: the one canonical reading of a request path that route policies judge and
//! the built-in proxy forwards.
//!
//! A policy is only as good as its agreement with the application about which resource a path
//! names. Attackers exploit every disagreement (`/public/../admin`, `/admin;x`, `/admin%2fx`,
//! `//admin`), so the path is read once, here, by strict rules, and anything ambiguous is
//! refused rather than guessed at:
//! - the query and fragment are dropped;
//! - each segment is percent-decoded; malformed escapes, and escapes that would change the
//!   path's structure or be decoded again downstream (`/`, `\`, `;`, `%`, control bytes), are
//!   refused, as are raw backslashes and control bytes;
//! - a `;params` suffix is ignored when reading a segment, as servlet containers do, so
//!   `/public/..;/admin` is read as `/admin` — the way such an application would read it;
//! - empty and `.` segments vanish, `..` removes the previous segment (never above the root);
//! - a segment that some server reads as another name is refused: one ending in a dot or a
//!   space, naming an NTFS stream (`:$`) or looking like an 8.3 short name (`ADMINI~1`), which
//!   Windows servers read through, so `/admin./x` and `/admin%20/x` would be `/admin/x`; and one
//!   with a character that Unicode compatibility normalisation turns into ASCII (`ª`, `ⓐ`,
//!   fullwidth `ａ` or `．`), which normalising stacks read as that ASCII.
//!
//! That reading serves the built-in proxy, which forwards the path it judged. A forward-auth
//! check is different: the proxy in front forwards the *original* target, and the application
//! may resolve it otherwise (Express leaves `..` alone, RFC 3986 lets `..` remove an empty
//! segment, only servlet containers drop `;params`). So [`RequestPath::parse_exact`] also
//! refuses every target that needed resolving at all: dot segments, empty segments, `;params`,
//! and percent escapes of unreserved characters (`%61`, `%2e`).
//!
//! Spelling is judged once more against configured prefixes ([`RequestPath::within`]): a path
//! that names a prefix only when case and look-alike characters are ignored (`/API/admin`,
//! `/ADMİN`) is refused too, because a case-insensitive application would serve that prefix's
//! resource although the rule for the prefix never matched.

use crate::spelling::same_name;
use std::fmt;
use unicode_normalization::UnicodeNormalization;

/// Why a request path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the request path must start with '/'")]
    NotAbsolute,
    #[error("the request path has a malformed percent escape")]
    MalformedEscape,
    #[error("the request path contains an ambiguous or forbidden character")]
    ForbiddenCharacter,
    #[error(
        "a request path segment names a file another way on Windows (a trailing dot or space, \
         an NTFS stream or an 8.3 short name)"
    )]
    WindowsAlias,
    #[error("a request path segment has a character that Unicode normalisation turns into ASCII")]
    CompatibilityCharacter,
    #[error(
        "the request path is not in canonical form (dot or empty segments, ;params, or escaped \
         letters): send it as the application should read it"
    )]
    NotCanonical,
    #[error(
        "the request path spells a configured prefix in another case or with look-alike characters"
    )]
    SpellingVariant,
}

/// A normalised, decoded request path: a list of segments, none empty, `.` or `..`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestPath {
    segments: Vec<String>,
}

impl RequestPath {
    /// Reads the path of a request target (`/a/b?query` — the query is ignored), resolving
    /// dot and empty segments and dropping `;params`: for a path the gateway forwards itself.
    pub fn parse(target: &str) -> Result<Self, PathError> {
        Self::read(target).map(|(path, _)| path)
    }

    /// Reads the path of a request target that is forwarded as it is, by another proxy: it must
    /// already be canonical, or the application might resolve it to another resource than the
    /// one judged. A trailing `/` and the query are fine.
    pub fn parse_exact(target: &str) -> Result<Self, PathError> {
        match Self::read(target)? {
            (path, Reading::Exact) => Ok(path),
            (_, Reading::Resolved) => Err(PathError::NotCanonical),
        }
    }

    fn read(target: &str) -> Result<(Self, Reading), PathError> {
        let path = target.split(['?', '#']).next().unwrap_or_default();
        let rest = path.strip_prefix('/').ok_or(PathError::NotAbsolute)?;
        let mut segments: Vec<String> = Vec::new();
        let mut reading = Reading::Exact;
        let mut raws = rest.split('/').peekable();
        while let Some(raw) = raws.next() {
            let (decoded, escaped_unreserved) = decode_segment(raw)?;
            // Servlet containers drop `;params` before resolving dot segments; do the same.
            let (segment, had_params) = match decoded.split_once(';') {
                Some((name, _params)) => (name.to_owned(), true),
                None => (decoded, false),
            };
            let trailing_slash = raw.is_empty() && raws.peek().is_none();
            let resolves = matches!(segment.as_str(), "." | "..")
                || (segment.is_empty() && !trailing_slash)
                || had_params
                || escaped_unreserved;
            if resolves {
                reading = Reading::Resolved;
            }
            match segment.as_str() {
                "" | "." => {}
                ".." => {
                    segments.pop();
                }
                _ => {
                    check_segment(&segment)?;
                    segments.push(segment);
                }
            }
        }
        Ok((Self { segments }, reading))
    }

    /// Reads a configured prefix, which must already be in canonical form (a trailing `/`
    /// aside), so that what an operator wrote is what applies.
    pub fn parse_canonical(text: &str) -> Option<Self> {
        let path = Self::parse(text).ok()?;
        let canonical = text == "/" || path.to_uri_path() == text.trim_end_matches('/');
        canonical.then_some(path)
    }

    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// Whether this path is `prefix` or lies below it, segment by segment: `/api` covers
    /// `/api` and `/api/x`, never `/apix`.
    pub fn starts_with(&self, prefix: &RequestPath) -> bool {
        self.segments.starts_with(&prefix.segments)
    }

    /// Whether this path lies under `prefix` (see [`Self::starts_with`]), refusing a path that
    /// would lie under it only when case and look-alike characters are ignored: such a path
    /// gets no decision at all rather than a weaker one than its canonical spelling.
    pub fn within(&self, prefix: &RequestPath) -> Result<bool, PathError> {
        if self.starts_with(prefix) {
            return Ok(true);
        }
        let same_spelled_otherwise = self.segments.len() >= prefix.segments.len()
            && self
                .segments
                .iter()
                .zip(&prefix.segments)
                .all(|(segment, wanted)| same_name(segment, wanted));
        match same_spelled_otherwise {
            true => Err(PathError::SpellingVariant),
            false => Ok(false),
        }
    }

    /// The path percent-encoded again, as it is forwarded upstream.
    pub fn to_uri_path(&self) -> String {
        if self.segments.is_empty() {
            return "/".to_owned();
        }
        let mut out = String::new();
        for segment in &self.segments {
            out.push('/');
            for byte in segment.bytes() {
                if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,=:@".contains(&byte) {
                    out.push(char::from(byte));
                } else {
                    out.push_str(&format!("%{byte:02X}"));
                }
            }
        }
        out
    }
}

impl fmt::Display for RequestPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_uri_path())
    }
}

/// Whether a path needed resolving before it could be judged.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reading {
    Exact,
    Resolved,
}

/// Refuses a segment that some server reads as another name than it spells.
fn check_segment(segment: &str) -> Result<(), PathError> {
    // Windows drops trailing dots and spaces, reads `name::$DATA` or `name:$i30:$INDEX_ALLOCATION`
    // (NTFS streams) as `name`, and `ADMINI~1` as the 8.3 short name of `administration`.
    let windows_alias = segment.ends_with(|c: char| c == '.' || c.is_whitespace())
        || segment.contains(":$")
        || segment
            .as_bytes()
            .windows(2)
            .any(|pair| pair[0] == b'~' && pair[1].is_ascii_digit());
    if windows_alias {
        return Err(PathError::WindowsAlias);
    }
    let turns_ascii = |c: char| !c.is_ascii() && std::iter::once(c).nfkc().any(|n| n.is_ascii());
    if segment.chars().any(turns_ascii) {
        return Err(PathError::CompatibilityCharacter);
    }
    Ok(())
}

/// The segment percent-decoded, and whether an escape stood for an unreserved character
/// (RFC 3986 §2.3), which no client needs to escape.
fn decode_segment(raw: &str) -> Result<(String, bool), PathError> {
    let forbidden_raw = |c: char| c == '\\' || c.is_control();
    if raw.chars().any(forbidden_raw) {
        return Err(PathError::ForbiddenCharacter);
    }
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut escaped_unreserved = false;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(PathError::MalformedEscape)?;
            let hex = std::str::from_utf8(hex).map_err(|_| PathError::MalformedEscape)?;
            let byte = u8::from_str_radix(hex, 16).map_err(|_| PathError::MalformedEscape)?;
            if matches!(byte, b'/' | b'\\' | b';' | b'%') || byte.is_ascii_control() {
                return Err(PathError::ForbiddenCharacter);
            }
            escaped_unreserved |= byte.is_ascii_alphanumeric() || b"-._~".contains(&byte);
            decoded.push(byte);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    let decoded = String::from_utf8(decoded).map_err(|_| PathError::MalformedEscape)?;
    Ok((decoded, escaped_unreserved))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(target: &str) -> Result<String, PathError> {
        RequestPath::parse(target).map(|path| path.to_uri_path())
    }

    #[test]
    fn paths_are_read_one_canonical_way() {
        let cases = [
            ("/", "/"),
            ("/api/orders", "/api/orders"),
            ("/api/orders/", "/api/orders"),
            ("/api/orders?admin=1#x", "/api/orders"),
            ("//api///orders", "/api/orders"),
            ("/api/./orders", "/api/orders"),
            ("/public/../admin", "/admin"),
            ("/public/%2e%2e/admin", "/admin"),
            ("/public/%2E./admin", "/admin"),
            ("/public/..;/admin", "/admin"),
            ("/admin;jsessionid=1/users", "/admin/users"),
            ("/../../etc/passwd", "/etc/passwd"),
            ("/caf%C3%A9", "/caf%C3%A9"),
            ("/a%20b", "/a%20b"),
            ("/%61pi", "/api"),
        ];
        for (target, expected) in cases {
            assert_eq!(read(target).as_deref(), Ok(expected), "{target}");
        }
    }

    #[test]
    fn ambiguous_paths_are_refused() {
        let cases = [
            ("api", PathError::NotAbsolute),
            ("", PathError::NotAbsolute),
            ("http://evil/admin", PathError::NotAbsolute),
            ("/api%2fadmin", PathError::ForbiddenCharacter),
            ("/api%5cadmin", PathError::ForbiddenCharacter),
            ("/api\\admin", PathError::ForbiddenCharacter),
            ("/admin%3bx", PathError::ForbiddenCharacter),
            ("/%252e%252e/admin", PathError::ForbiddenCharacter),
            ("/api%00", PathError::ForbiddenCharacter),
            ("/api\u{7f}", PathError::ForbiddenCharacter),
            ("/api%2", PathError::MalformedEscape),
            ("/api%zz", PathError::MalformedEscape),
            ("/%C3", PathError::MalformedEscape),
        ];
        for (target, expected) in cases {
            assert_eq!(read(target), Err(expected), "{target}");
        }
    }

    #[test]
    fn prefixes_match_whole_segments() {
        let api = RequestPath::parse("/api").expect("path");
        let root = RequestPath::parse("/").expect("path");
        for (target, expected) in [
            ("/api", true),
            ("/api/x", true),
            ("/apix", false),
            ("/", false),
        ] {
            let path = RequestPath::parse(target).expect("path");
            assert_eq!(path.starts_with(&api), expected, "{target}");
            assert!(path.starts_with(&root), "{target} is under /");
        }
    }

    #[test]
    fn a_forwarded_as_is_target_must_already_be_canonical() {
        for target in [
            "/",
            "/api/orders",
            "/api/orders/",
            "/api/orders?a=1",
            "/caf%C3%A9/a%20b",
        ] {
            assert!(RequestPath::parse_exact(target).is_ok(), "{target}");
        }
        for target in [
            "/api/admin/settings/../../public/x",
            "/api/admin/settings/%2e%2e/%2e%2e/public/x",
            "/api/admin/settings/..;/..;/public/x",
            "/api/admin//../public/x",
            "/api/./x",
            "//api/x",
            "/api//x",
            "/api/admin;jsessionid=1/x",
            "/%61pi/x",
            "/api/%7Euser",
        ] {
            assert_eq!(
                RequestPath::parse_exact(target),
                Err(PathError::NotCanonical),
                "{target}"
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]

        /// What forward-auth accepts is read the same by every resolver: segment for segment,
        /// the target decodes to exactly the path judged, so no application resolves it to
        /// another resource.
        #[test]
        fn an_exact_target_is_its_own_canonical_path(target in "(/[a-zA-Z0-9._;%~-]{0,6}){0,6}/?") {
            if let Ok(path) = RequestPath::parse_exact(&target) {
                let raw = target.strip_prefix('/').unwrap_or_default();
                let raw = raw.strip_suffix('/').unwrap_or(raw);
                let decoded: Vec<String> = raw
                    .split('/')
                    .filter(|_| !raw.is_empty())
                    .map(|segment| decode_segment(segment).map(|(text, _)| text))
                    .collect::<Result<_, _>>()
                    .expect("accepted, so decodable");
                proptest::prop_assert_eq!(decoded.as_slice(), path.segments());
            }
        }

        /// Reading is idempotent: what is forwarded reads back as the same path, so the
        /// application sees exactly what the policy judged.
        #[test]
        fn a_forwarded_path_reads_back_unchanged(target in "(/[a-zA-Z0-9._;%~-]{0,6}){0,6}") {
            if let Ok(path) = RequestPath::parse(&target) {
                let again = RequestPath::parse(&path.to_uri_path());
                proptest::prop_assert_eq!(again, Ok(path));
            }
        }
    }
}
