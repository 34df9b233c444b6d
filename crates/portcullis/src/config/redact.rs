//! Configuration as it may be shown: URLs without their passwords, webhook URLs without the
//! path and query that often carry a token, secrets as `[redacted]` (see [`super::Secret`]).

use super::Config;

/// `scheme://user:secret@host/...` → `scheme://user:***@host/...`.
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials
                .split_once(':')
                .map_or(credentials, |(user, _)| user);
            let hidden = if credentials.contains(':') {
                ":***"
            } else {
                ""
            };
            format!("{scheme}://{user}{hidden}@{host}{path}")
        }
        None => url.to_owned(),
    }
}

/// Only the scheme, host and port of a URL whose path or query may hold a token.
fn origin_only(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "[redacted]".to_owned();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}/[redacted]")
}

impl Config {
    /// A copy safe to print: no password, token or key in it.
    pub fn redacted(&self) -> Config {
        let mut shown = self.clone();
        shown.database_url = shown.database_url.as_deref().map(redacted_url);
        shown.redis_url = shown.redis_url.as_deref().map(redacted_url);
        shown.webhook_url = shown.webhook_url.as_deref().map(origin_only);
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_url_is_shown_as_its_origin() {
        assert_eq!(
            origin_only("https://u:p@hooks.example.com:8443/T0/secret?token=x"),
            "https://hooks.example.com:8443/[redacted]"
        );
    }

    #[test]
    fn a_printed_config_holds_no_secret() {
        let config = Config {
            database_url: Some("postgres://app:hunter2@db/auth".into()),
            redis_url: Some("redis://:hunter3@cache:6379".into()),
            webhook_url: Some("https://hooks.example.com/hunter4".into()),
            webhook_secret: Some("hunter5-webhook-secret".into()),
            key_encryption_key: Some("hunter6".into()),
            ..Config::default()
        };
        let printed = format!("{:#?}", config.redacted());
        for secret in ["hunter2", "hunter3", "hunter4", "hunter5", "hunter6"] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
        assert!(printed.contains("postgres://app:***@db/auth"), "{printed}");
    }

    #[test]
    fn a_database_url_is_shown_without_its_password() {
        assert_eq!(
            redacted_url("postgres://app:s3cret@db.internal:5432/auth?sslmode=require"),
            "postgres://app:***@db.internal:5432/auth?sslmode=require"
        );
        assert_eq!(
            redacted_url("postgres://app@db/auth"),
            "postgres://app@db/auth"
        );
        assert_eq!(redacted_url("postgres://db/auth"), "postgres://db/auth");
        assert_eq!(
            redacted_url("postgres://a:b@c@db/auth"),
            "postgres://a:***@db/auth"
        );
    }
}
