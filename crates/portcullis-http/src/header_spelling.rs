//! How the servers behind the gateway read a header's name, so that a header is judged or
//! stripped by the name the application will see, not by how the client spelled it.

/// Header `name` as some server behind the gateway may read it. CGI, WSGI, PHP and others map
/// `-`, `_` (and some `.`) to one character and ignore case, so `X_Auth_User_Id` and
/// `x.auth.roles` reach the application as `X-Auth-User-Id` and `X-Auth-Roles` do.
pub fn header_name_as_read(name: &str) -> String {
    name.bytes()
        .map(|byte| match byte {
            b'_' | b'.' => '-',
            other => char::from(other.to_ascii_lowercase()),
        })
        .collect()
}
