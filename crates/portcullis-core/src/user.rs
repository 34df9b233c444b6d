//! Users, and the rules for what a valid email, password and role name look like.

use crate::ids::UserId;
use time::OffsetDateTime;

/// A stored user account.
#[derive(Clone, Debug)]
pub struct User {
    pub id: UserId,
    /// Trimmed, lower-cased, ASCII (so it can travel in an `X-Auth-Email` header).
    pub email: String,
    /// A PHC-format argon2id hash.
    pub password_hash: String,
    pub roles: Vec<String>,
    /// Bumped to invalidate every access token issued before; compared with the `ver` claim.
    pub token_version: i64,
    pub locked: bool,
    pub created_at: OffsetDateTime,
}

/// Why a registration input was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("the email address is not valid")]
    InvalidEmail,
    #[error("the password must be between 8 and 128 characters")]
    WeakPassword,
    #[error("a role name may only contain a-z, 0-9, '_', '-', '.' and ':' (1 to 64 characters)")]
    InvalidRole,
    #[error("a key name may only contain letters, digits, '-', '_' and '.' (1 to 64 characters)")]
    InvalidKeyName,
}

pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_CHARS: usize = 128;

/// Trims and lower-cases an email and checks its shape.
///
/// Deliberately strict and simple: one `@`, a non-empty local part of at most 64 bytes, a domain
/// with a dot and no empty labels, printable ASCII only, 254 bytes at most.
pub fn normalize_email(raw: &str) -> Result<String, InputError> {
    let email = raw.trim().to_ascii_lowercase();
    let valid_char = |c: char| {
        c.is_ascii_graphic()
            && !matches!(
                c,
                '"' | '(' | ')' | ',' | ':' | ';' | '<' | '>' | '[' | '\\' | ']'
            )
    };
    let Some((local, domain)) = email.split_once('@') else {
        return Err(InputError::InvalidEmail);
    };
    let shape_ok = email.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && email.chars().all(valid_char)
        && !domain.contains('@');
    if shape_ok {
        Ok(email)
    } else {
        Err(InputError::InvalidEmail)
    }
}

/// Checks the password length policy (counted in characters, not bytes).
pub fn check_password(password: &str) -> Result<(), InputError> {
    let chars = password.chars().count();
    if (PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&chars) {
        Ok(())
    } else {
        Err(InputError::WeakPassword)
    }
}

/// Checks a role name; roles travel comma-separated in `X-Auth-Roles`, so no commas or spaces.
pub fn check_role(role: &str) -> Result<(), InputError> {
    let ok = !role.is_empty()
        && role.len() <= 64
        && role.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.' | ':')
        });
    if ok {
        Ok(())
    } else {
        Err(InputError::InvalidRole)
    }
}

/// Checks every role name and returns the set sorted, without duplicates (the stored form).
pub fn normalize_roles(roles: &[String]) -> Result<Vec<String>, InputError> {
    for role in roles {
        check_role(role)?;
    }
    let mut roles = roles.to_vec();
    roles.sort();
    roles.dedup();
    Ok(roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            normalize_email("  Alice@Example.COM ").as_deref(),
            Ok("alice@example.com")
        );
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "alice@@example.com",
            "alice@exa mple.com",
            "a b@example.com",
            "alice@.example.com",
            "alice@example..com",
            "ålice@example.com",
            "alice@exam\tple.com",
            "alice@ex_ample.com",
        ] {
            assert_eq!(
                normalize_email(bad),
                Err(InputError::InvalidEmail),
                "{bad:?}"
            );
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert_eq!(normalize_email(&long_local), Err(InputError::InvalidEmail));
    }

    #[test]
    fn password_length_is_counted_in_characters() {
        assert_eq!(check_password("1234567"), Err(InputError::WeakPassword));
        assert_eq!(check_password("12345678"), Ok(()));
        assert_eq!(check_password(&"é".repeat(128)), Ok(()));
        assert_eq!(
            check_password(&"x".repeat(129)),
            Err(InputError::WeakPassword)
        );
    }

    #[test]
    fn roles_are_stored_sorted_and_once() {
        let roles = ["ops".to_owned(), "admin".to_owned(), "ops".to_owned()];
        assert_eq!(
            normalize_roles(&roles),
            Ok(vec!["admin".to_owned(), "ops".to_owned()])
        );
        assert_eq!(
            normalize_roles(&["ok".to_owned(), "Not Ok".to_owned()]),
            Err(InputError::InvalidRole)
        );
    }

    #[test]
    fn role_names_cannot_smuggle_separators() {
        assert_eq!(check_role("admin"), Ok(()));
        assert_eq!(check_role("billing:read"), Ok(()));
        for bad in ["", "a,b", "a b", "Admin", &"r".repeat(65)] {
            assert_eq!(check_role(bad), Err(InputError::InvalidRole), "{bad:?}");
        }
    }
}
