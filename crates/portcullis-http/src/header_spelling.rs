//! How the servers behind the gateway read a header's name, so that a header is judged or
//! stripped by the name the application will see, not by how the client spelled it.
//!
//! CGI, WSGI, PHP and others map `-`, `_` (and some `.`) to one character and ignore case, so
//! `X_Auth_User_Id` and `x.auth.roles` reach the application as `X-Auth-User-Id` and
//! `X-Auth-Roles` do. The comparisons run on every proxied or checked request's headers, so
//! they read bytes in place rather than building the normalised name.

/// Header `name`'s bytes as such a server reads them: lower-case, `_` and `.` as `-`.
fn read_as(name: &str) -> impl Iterator<Item = u8> + '_ {
    name.bytes().map(|byte| match byte {
        b'_' | b'.' => b'-',
        other => other.to_ascii_lowercase(),
    })
}

/// Whether some server reads header `name` as `canonical` (lower-case, dashes).
pub fn reads_as(name: &str, canonical: &str) -> bool {
    name.len() == canonical.len() && read_as(name).eq(canonical.bytes())
}

/// Whether some server reads header `name` as a name starting with `prefix` (lower-case).
pub fn reads_as_prefixed(name: &str, prefix: &str) -> bool {
    name.len() >= prefix.len() && read_as(name).take(prefix.len()).eq(prefix.bytes())
}

/// Whether `name` is spelled as such servers read it (no `_`, no `.`; header names in a
/// `HeaderMap` are lower-case already).
pub fn is_canonical(name: &str) -> bool {
    !name.bytes().any(|byte| byte == b'_' || byte == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_are_read_the_way_cgi_style_servers_read_them() {
        assert!(reads_as("X_Auth_User_Id", "x-auth-user-id"));
        assert!(reads_as("x.auth.user.id", "x-auth-user-id"));
        assert!(!reads_as("x-auth-user-idx", "x-auth-user-id"));
        assert!(reads_as_prefixed("X_AUTH_anything", "x-auth-"));
        assert!(!reads_as_prefixed("x-aut", "x-auth-"));
        assert!(is_canonical("x-forwarded-host"));
        assert!(!is_canonical("x_forwarded_host"));
    }
}
