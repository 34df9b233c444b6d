//! Route policies: who may make a request, decided from its method and [`RequestPath`].
//!
//! Rules are tried in order and the first whose prefix and methods match decides; a request no
//! rule matches needs an authenticated caller. Methods compare case-insensitively and a rule
//! naming `GET` also covers `HEAD`, because applications commonly answer both with one handler:
//! a rule that protects a resource must not be sidestepped by spelling its method differently.

use crate::request_path::RequestPath;
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

    fn matches(&self, method: &str, path: &RequestPath) -> bool {
        path.starts_with(&self.prefix)
            && (self.methods.is_empty()
                || self.methods.iter().any(|allowed| {
                    allowed.eq_ignore_ascii_case(method)
                        || (allowed == "GET" && method.eq_ignore_ascii_case("HEAD"))
                }))
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
    /// `Authenticated` when none matches.
    pub fn access_for(&self, method: &str, path: &RequestPath) -> &Access {
        const DEFAULT: &Access = &Access::Authenticated;
        self.rules
            .iter()
            .find(|rule| rule.matches(method, path))
            .map_or(DEFAULT, |rule| &rule.access)
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
                &expected,
                "{method} {target}"
            );
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
