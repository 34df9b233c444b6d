//! Tests of `cookies.rs`, kept beside it so the rules read without them.

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
