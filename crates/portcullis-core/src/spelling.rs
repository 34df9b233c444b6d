//! Which spellings of a path segment the applications behind the gateway may read as the same
//! name, so that a prefix check can tell "another name" from "the same name, spelled otherwise".
//!
//! Case-insensitive routers (Express by default, IIS, many Java stacks) compare names after
//! case mapping, and Unicode case mapping reaches ASCII from outside it: `ı` and `ſ` upper-case
//! to `I` and `S`, the Kelvin sign `K` lower-cases to `k`, `İ` lower-cases to `i` plus a
//! combining dot that char-wise comparisons drop. [`same_name`] folds all of these. (Characters
//! that compatibility normalisation turns into ASCII, such as fullwidth `ａ`, never get this
//! far: `RequestPath` refuses them.)

/// Whether some case-insensitive or normalising server could read `a` and `b` as one name.
pub fn same_name(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(fold_char)
        .eq(b.chars().flat_map(fold_char))
}

/// One character as such servers compare it: its ASCII look-alike if it has one, lower-cased.
fn fold_char(c: char) -> std::char::ToLowercase {
    ascii_look_alike(c).unwrap_or(c).to_lowercase()
}

/// The ASCII character a non-ASCII `c` turns into under case mapping, if any.
fn ascii_look_alike(c: char) -> Option<char> {
    if c.is_ascii() {
        return None;
    }
    let mut upper = c.to_uppercase();
    if let (Some(single), None) = (upper.next(), upper.next()) {
        if single.is_ascii() {
            return Some(single);
        }
    }
    c.to_lowercase().next().filter(char::is_ascii)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_look_alikes_fold_to_the_same_name() {
        for (a, b) in [
            ("admin", "ADMIN"),
            ("admin", "AdMiN"),
            ("admin", "adm\u{131}n"),     // dotless i
            ("admin", "ADM\u{130}N"),     // capital I with dot
            ("session", "\u{17f}ession"), // long s
            ("keys", "\u{212a}eys"),      // Kelvin sign
            ("café", "CAFÉ"),
        ] {
            assert!(same_name(a, b), "{a} ~ {b}");
        }
        for (a, b) in [
            ("admin", "admins"),
            ("admin", "admln"),
            ("admin", "adm1n"),
            ("a", ""),
        ] {
            assert!(!same_name(a, b), "{a} !~ {b}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Folding never tells a name from its own ASCII case variants.
        #[test]
        fn every_ascii_case_variant_is_the_same_name(
            name in "[a-zA-Z0-9._~-]{0,12}",
            flips in proptest::collection::vec(proptest::bool::ANY, 12),
        ) {
            let variant: String = name
                .chars()
                .zip(flips.iter().chain(std::iter::repeat(&false)))
                .map(|(c, flip)| if *flip { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
                .collect();
            proptest::prop_assert!(same_name(&name, &variant));
        }
    }
}
