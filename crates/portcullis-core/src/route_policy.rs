//! Route policies: who may make a request, decided from its method and [`RequestPath`].
//!
//! Rules are tried in order and the first whose prefix and methods match decides; a request no
//! rule matches needs an authenticated caller. Methods compare case-insensitively and a rule
//! naming `GET` also covers `HEAD`, because applications commonly answer both with one handler:
//! a rule that protects a resource must not be sidestepped by spelling its method differently.
//! A rule's `methods` list only says which requests the rule is about: a request with another
//! method falls through to the next rules (and finally to the default), it is not refused.
//!
//! The invariant every change here must keep (a property test below hunts for counterexamples):
//! no spelling of a path — case, escapes, dot segments, `;params`, look-alike characters,
//! trailing dots or spaces — gets a weaker decision than its canonical form.

use crate::request_path::{PathError, RequestPath};
use crate::user::check_role;

/// What a matching request needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone; the identity is still passed on when a valid token comes along.
    Public,
    /// Any caller with a valid, unrevoked access token.
    Authenticated,
    /// An authenticated caller holding at least one of these roles.
    AnyRole(Vec<String>),
}

impl Access {
    pub fn requires_identity(&self) -> bool {
        !matches!(self, Self::Public)
    }

    /// Whether a caller holding `roles` may pass (authentication is checked separately).
    pub fn permits(&self, roles: &[String]) -> bool {
        match self {
            Self::Public | Self::Authenticated => true,
            Self::AnyRole(needed) => needed.iter().any(|role| roles.contains(role)),
        }
    }
}

/// Why a rule was refused at configuration time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("route prefix {0:?} must be a plain absolute path such as /api/orders")]
    InvalidPrefix(String),
    #[error("method {0:?} is not an HTTP method name")]
    InvalidMethod(String),
    #[error("a roles rule needs at least one valid role name")]
    InvalidRoles,
}

/// One ordered rule: requests under `prefix` (with one of `methods`, if any) need `access`.
#[derive(Clone, Debug)]
pub struct RouteRule {
    prefix: RequestPath,
    /// Upper-cased; empty means every method.
    methods: Vec<String>,
    access: Access,
}

impl RouteRule {
    pub fn new(prefix: &str, methods: &[String], access: Access) -> Result<Self, RuleError> {
        let parsed = RequestPath::parse_canonical(prefix)
            .ok_or_else(|| RuleError::InvalidPrefix(prefix.to_owned()))?;
        let methods = methods
            .iter()
            .map(|method| {
                let valid = !method.is_empty() && method.bytes().all(|b| b.is_ascii_alphabetic());
                valid
                    .then(|| method.to_ascii_uppercase())
                    .ok_or_else(|| RuleError::InvalidMethod(method.clone()))
            })
            .collect::<Result<_, _>>()?;
        if let Access::AnyRole(roles) = &access {
            if roles.is_empty() || roles.iter().any(|role| check_role(role).is_err()) {
                return Err(RuleError::InvalidRoles);
            }
        }
        Ok(Self {
            prefix: parsed,
            methods,
            access,
        })
    }

    fn covers_method(&self, method: &str) -> bool {
        self.methods.is_empty()
            || self.methods.iter().any(|allowed| {
                allowed.eq_ignore_ascii_case(method)
                    || (allowed == "GET" && method.eq_ignore_ascii_case("HEAD"))
            })
    }
}

/// The ordered rules of a deployment.
#[derive(Clone, Debug, Default)]
pub struct RoutePolicy {
    rules: Vec<RouteRule>,
}

impl RoutePolicy {
    pub fn new(rules: Vec<RouteRule>) -> Self {
        Self { rules }
    }

    /// What a `method` request for `path` needs: the first matching rule's access, or
    /// `Authenticated` when none matches. A path that spells any rule's prefix otherwise
    /// (another case, look-alike characters) is refused: see [`RequestPath::within`].
    pub fn access_for(&self, method: &str, path: &RequestPath) -> Result<&Access, PathError> {
        const DEFAULT: &Access = &Access::Authenticated;
        let mut decided = None;
        // Every prefix is checked for spelling variants, not only those before the first match.
        for rule in &self.rules {
            if path.within(&rule.prefix)? && rule.covers_method(method) && decided.is_none() {
                decided = Some(&rule.access);
            }
        }
        Ok(decided.unwrap_or(DEFAULT))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(prefix: &str, methods: &[&str], access: Access) -> RouteRule {
        let methods: Vec<String> = methods.iter().map(|m| (*m).to_owned()).collect();
        RouteRule::new(prefix, &methods, access).expect("valid rule")
    }

    fn roles(names: &[&str]) -> Access {
        Access::AnyRole(names.iter().map(|n| (*n).to_owned()).collect())
    }

    #[test]
    fn the_first_matching_rule_decides_and_the_default_is_authenticated() {
        let policy = RoutePolicy::new(vec![
            rule("/api/admin", &["post", "DELETE"], roles(&["admin"])),
            rule("/api/admin", &["GET"], roles(&["admin", "auditor"])),
            rule("/api/public", &[], Access::Public),
            rule("/api/catalog", &["GET"], Access::Public),
            rule("/", &["OPTIONS"], Access::Public),
        ]);
        let cases = [
            ("DELETE", "/api/admin/users/1", roles(&["admin"])),
            ("delete", "/api/admin/users/1", roles(&["admin"])),
            ("GET", "/api/admin", roles(&["admin", "auditor"])),
            ("HEAD", "/api/admin", roles(&["admin", "auditor"])),
            ("PUT", "/api/admin", Access::Authenticated),
            ("POST", "/api/public/feedback", Access::Public),
            ("GET", "/api/publicity", Access::Authenticated),
            ("GET", "/api/catalog/items", Access::Public),
            ("POST", "/api/catalog/items", Access::Authenticated),
            ("GET", "/api/public/../admin", roles(&["admin", "auditor"])),
            ("DELETE", "/api/public/..;/admin/x", roles(&["admin"])),
            ("POST", "/api/admin;x/users", roles(&["admin"])),
            ("OPTIONS", "/anything", Access::Public),
            ("GET", "/", Access::Authenticated),
        ];
        for (method, target, expected) in cases {
            let path = RequestPath::parse(target).expect("path");
            assert_eq!(
                policy.access_for(method, &path),
                Ok(&expected),
                "{method} {target}"
            );
        }
    }

    #[test]
    fn a_prefix_spelled_otherwise_is_refused_not_judged_as_another_path() {
        let policy = RoutePolicy::new(vec![
            rule("/api/public", &[], Access::Public),
            rule("/api/admin", &[], roles(&["admin"])),
        ]);
        for target in [
            "/API/admin/users",
            "/api/ADMIN/users",
            "/api/Admin",
            "/api/adm%C4%B1n/users",
            "/Api/public/x",
        ] {
            let path = RequestPath::parse(target).expect("path");
            assert_eq!(
                policy.access_for("GET", &path),
                Err(PathError::SpellingVariant),
                "{target}"
            );
        }
        for target in [
            "/api/admin./users",
            "/api/admin%2e/users",
            "/api/admin%20/x",
            "/api/admin:$i30:$INDEX_ALLOCATION/x",
            "/api/ADMINI~1/x",
        ] {
            assert_eq!(
                RequestPath::parse(target),
                Err(PathError::WindowsAlias),
                "{target}"
            );
        }
        for target in [
            "/api/%EF%BD%81dmin/users",
            "/api/%E2%93%90dmin/x",
            "/api/adm%E2%85%B0n/x",
            "/api/%C2%AAdmin/x",
            "/api%EF%BC%8Fadmin/x",
            "/api/public/%EF%BC%8E%EF%BC%8E/admin",
            "/api/public/%E2%80%A5/admin",
            "/api/\u{17f}ession",
        ] {
            assert_eq!(
                RequestPath::parse(target),
                Err(PathError::CompatibilityCharacter),
                "{target}"
            );
        }
        // Case below a prefix is the application's business: the prefix itself is exact.
        let path = RequestPath::parse("/api/admin/USERS").expect("path");
        assert_eq!(policy.access_for("GET", &path), Ok(&roles(&["admin"])));
        let path = RequestPath::parse("/API/orders").expect("path");
        assert_eq!(policy.access_for("GET", &path), Ok(&Access::Authenticated));
    }

    mod spelling_variants {
        use super::*;
        use proptest::prelude::*;

        const SEGMENTS: [&str; 8] = [
            "api", "admin", "public", "catalog", "users", "keys", "session", "item",
        ];

        fn policy() -> RoutePolicy {
            RoutePolicy::new(vec![
                rule("/api/public", &[], Access::Public),
                rule("/api/admin", &["GET"], roles(&["admin", "auditor"])),
                rule("/api/admin", &[], roles(&["admin"])),
                rule("/api/catalog", &["GET"], Access::Public),
                rule("/session/keys", &[], roles(&["ops"])),
                rule("/", &["OPTIONS"], Access::Public),
            ])
        }

        fn percent(c: char) -> String {
            let mut utf8 = [0u8; 4];
            c.encode_utf8(&mut utf8)
                .bytes()
                .map(|b| format!("%{b:02X}"))
                .collect()
        }

        /// A character some server reads as `c` under case mapping or normalisation.
        fn look_alike(c: char) -> Option<char> {
            match c {
                'i' => Some('\u{131}'),
                's' => Some('\u{17f}'),
                'k' => Some('\u{212a}'),
                'a'..='z' => char::from_u32(u32::from(c) + 0xFEE0),
                _ => None,
            }
        }

        /// `segment` spelled another way, chosen by `how`; `bits` picks characters.
        fn respell(segment: &str, how: u8, bits: u64) -> String {
            let picked = |i: usize| (bits >> (i % 64)) & 1 == 1;
            let each = |f: &dyn Fn(char) -> String| -> String {
                segment
                    .chars()
                    .enumerate()
                    .map(|(i, c)| if picked(i) { f(c) } else { c.to_string() })
                    .collect()
            };
            match how % 12 {
                0 => segment.to_owned(),
                1 => each(&|c| c.to_ascii_uppercase().to_string()),
                2 => each(&|c| percent(c)),
                3 => each(&|c| look_alike(c).map_or(c.to_string(), String::from)),
                4 => each(&|c| look_alike(c).map_or(c.to_string(), percent)),
                5 => format!("{segment}."),
                6 => format!("{segment}%20"),
                7 => format!("./{segment}"),
                8 => format!("zz/../{segment}"),
                9 => format!("{segment};v=1"),
                10 => format!("/{segment}"),
                // Circled letters, which compatibility normalisation turns into ASCII.
                _ => each(&|c| match c {
                    'a'..='z' => char::from_u32(0x24D0 + u32::from(c) - u32::from('a'))
                        .map_or(c.to_string(), percent),
                    _ => c.to_string(),
                }),
            }
        }

        fn decide(method: &str, target: &str) -> Result<Access, PathError> {
            let path = RequestPath::parse(target)?;
            policy().access_for(method, &path).cloned()
        }

        /// As forward-auth decides: the target must already be canonical.
        fn decide_exact(method: &str, target: &str) -> Result<Access, PathError> {
            let path = RequestPath::parse_exact(target)?;
            policy().access_for(method, &path).cloned()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2048))]

            /// For every path and every spelling of it: the same decision, or a refusal.
            #[test]
            fn no_spelling_gets_a_weaker_decision_than_the_canonical_path(
                picks in proptest::collection::vec(0..SEGMENTS.len(), 0..5),
                spellings in proptest::collection::vec((any::<u8>(), any::<u64>()), 5),
                method in prop_oneof![Just("GET"), Just("HEAD"), Just("POST"), Just("DELETE"), Just("OPTIONS")],
                method_bits in any::<u64>(),
            ) {
                let segments: Vec<&str> = picks.iter().map(|&i| SEGMENTS[i]).collect();
                let canonical = format!("/{}", segments.join("/"));
                let variant: Vec<String> = segments
                    .iter()
                    .zip(&spellings)
                    .map(|(segment, (how, bits))| respell(segment, *how, *bits))
                    .collect();
                let variant = format!("/{}", variant.join("/"));
                let method_variant: String = method
                    .chars()
                    .enumerate()
                    .map(|(i, c)| match (method_bits >> i) & 1 {
                        1 => c.to_ascii_lowercase(),
                        _ => c,
                    })
                    .collect();
                let expected = decide(method, &canonical);
                prop_assert!(expected.is_ok(), "{canonical} is canonical");
                for (how, decided) in [
                    ("proxy", decide(&method_variant, &variant)),
                    ("forward-auth", decide_exact(&method_variant, &variant)),
                ] {
                    prop_assert!(
                        decided.is_err() || decided == expected,
                        "{how}: {method_variant} {variant} -> {decided:?}, but {method} {canonical} -> {expected:?}"
                    );
                }
                prop_assert_eq!(decide_exact(method, &canonical), expected);
            }
        }
    }

    #[test]
    fn roles_are_any_of() {
        let access = roles(&["admin", "support"]);
        assert!(access.permits(&["support".to_owned()]));
        assert!(access.permits(&["user".to_owned(), "admin".to_owned()]));
        assert!(!access.permits(&["user".to_owned()]));
        assert!(!access.permits(&[]));
        assert!(Access::Authenticated.permits(&[]));
        assert!(!Access::Public.requires_identity());
        assert!(access.requires_identity());
    }

    #[test]
    fn rules_that_would_not_mean_what_they_say_are_refused() {
        let bad = [
            ("api", vec![], Access::Public),
            ("/api/../admin", vec![], Access::Public),
            ("/api//x", vec![], Access::Public),
            ("/api%2fx", vec![], Access::Public),
            ("/api", vec!["G ET".to_owned()], Access::Public),
            ("/api", vec![String::new()], Access::Public),
            ("/api", vec![], Access::AnyRole(vec![])),
            ("/api", vec![], Access::AnyRole(vec!["Bad Role".to_owned()])),
        ];
        for (prefix, methods, access) in bad {
            assert!(
                RouteRule::new(prefix, &methods, access.clone()).is_err(),
                "{prefix} {methods:?} {access:?}"
            );
        }
        assert!(RouteRule::new("/api/", &[], Access::Public).is_ok());
        assert!(RouteRule::new("/", &[], Access::Public).is_ok());
    }
}
