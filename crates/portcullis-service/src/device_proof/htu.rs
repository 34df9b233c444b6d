//! [`ProofUri`]: the one canonical reading of a DPoP `htu` and of the URI the server expected,
//! so that comparing the two is plain equality.
//!
//! RFC 9449 §4.3 compares the URIs "without query and fragment", after the normalisation of
//! RFC 3986 §6.2.2–6.2.3. Exactly this is normalised:
//! - the query and the fragment are dropped;
//! - the scheme and the host are lowercased; only `http` and `https` are accepted;
//! - the default port (80 for http, 443 for https) and an empty port (`host:`) are the same as
//!   no port; a port's leading zeros are dropped with it (`:0443` is `:443`);
//! - an empty path is `/`;
//! - hex digits in a percent escape are uppercased (`%2f` is `%2F`).
//!
//! Nothing else is: escapes are not decoded, dot segments are not resolved, a trailing dot on
//! the host is kept. Every spelling this leaves distinct can only make a proof fail to match,
//! never match a URI it did not name. Refused outright: anything but printable ASCII, userinfo
//! (`user@host`), a percent-encoded or empty host, a malformed escape, a port that is not a
//! number below 65536.

use std::fmt;

/// Why a URI could not be read as an `htu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofUriError {
    #[error("the URI is not an absolute URI of printable ASCII")]
    Malformed,
    #[error("the URI's scheme is not http or https")]
    UnsupportedScheme,
    #[error("the URI carries userinfo")]
    UserInfo,
    #[error("the URI's host is empty or has characters a host name cannot have")]
    BadHost,
    #[error("the URI's port is not a number below 65536")]
    BadPort,
    #[error("the URI's path has a malformed percent escape")]
    BadEscape,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }
}

/// A URI as RFC 9449 compares it: scheme, host, port and path, each in one spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofUri {
    scheme: Scheme,
    host: String,
    /// `None` for the scheme's default port.
    port: Option<u16>,
    path: String,
}

impl ProofUri {
    pub fn parse(uri: &str) -> Result<Self, ProofUriError> {
        if !uri.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(ProofUriError::Malformed);
        }
        let without_fragment = uri.split('#').next().unwrap_or_default();
        let without_query = without_fragment.split('?').next().unwrap_or_default();
        let (scheme, rest) = without_query
            .split_once("://")
            .ok_or(ProofUriError::Malformed)?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => return Err(ProofUriError::UnsupportedScheme),
        };
        let (authority, path) = match rest.find('/') {
            Some(slash) => rest.split_at(slash),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(ProofUriError::UserInfo);
        }
        let (host, port) = split_host_port(authority)?;
        let port = port.filter(|&port| port != scheme.default_port());
        Ok(Self {
            scheme,
            host,
            port,
            path: normalised_path(path)?,
        })
    }
}

impl fmt::Display for ProofUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme.as_str(), self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        f.write_str(&self.path)
    }
}

/// The lowercased host, and the port if one was written (an empty port is none).
fn split_host_port(authority: &str) -> Result<(String, Option<u16>), ProofUriError> {
    let (host, port) = if authority.starts_with('[') {
        // An IP literal: `[` hex digits, `:` and `.` `]`.
        let close = authority.find(']').ok_or(ProofUriError::BadHost)?;
        let (literal, after) = authority.split_at(close + 1);
        let inner = &literal[1..literal.len() - 1];
        if inner.is_empty()
            || !inner
                .bytes()
                .all(|byte| byte.is_ascii_hexdigit() || byte == b':' || byte == b'.')
        {
            return Err(ProofUriError::BadHost);
        }
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or(ProofUriError::BadPort)?),
        };
        (literal, port)
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let host_is_name = host.starts_with('[')
        || (!host.is_empty()
            && host
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"-._~".contains(&byte)));
    if !host_is_name {
        return Err(ProofUriError::BadHost);
    }
    let port = match port {
        None | Some("") => None,
        // `u16::from_str` would also take a leading `+`.
        Some(digits) if digits.bytes().all(|byte| byte.is_ascii_digit()) => {
            Some(digits.parse::<u16>().map_err(|_| ProofUriError::BadPort)?)
        }
        Some(_) => return Err(ProofUriError::BadPort),
    };
    Ok((host.to_ascii_lowercase(), port))
}

/// The path with `/` for empty and uppercase hex in escapes; a `%` not followed by two hex
/// digits is refused.
fn normalised_path(path: &str) -> Result<String, ProofUriError> {
    if path.is_empty() {
        return Ok("/".to_owned());
    }
    let bytes = path.as_bytes();
    let mut normalised = String::with_capacity(path.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte == b'%' {
            let escape = bytes
                .get(index + 1..index + 3)
                .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))
                .ok_or(ProofUriError::BadEscape)?;
            normalised.push('%');
            normalised.extend(
                escape
                    .iter()
                    .map(|hex| char::from(hex.to_ascii_uppercase())),
            );
            index += 3;
        } else {
            normalised.push(char::from(byte));
            index += 1;
        }
    }
    Ok(normalised)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(uri: &str) -> ProofUri {
        ProofUri::parse(uri).unwrap_or_else(|error| panic!("{uri}: {error}"))
    }

    #[test]
    fn equivalent_spellings_read_as_the_same_uri() {
        let canonical = "https://auth.example.com/session/refresh";
        for spelling in [
            "https://auth.example.com/session/refresh",
            "HTTPS://Auth.Example.COM/session/refresh",
            "https://auth.example.com:443/session/refresh",
            "https://auth.example.com:/session/refresh",
            "https://auth.example.com:0443/session/refresh",
            "https://auth.example.com/session/refresh?x=1",
            "https://auth.example.com/session/refresh#frag",
            "https://auth.example.com/session/refresh?x=1#frag?y",
            "https://auth.example.com/session/refresh#frag?y",
        ] {
            assert_eq!(read(spelling).to_string(), canonical, "{spelling}");
        }
        assert_eq!(read("http://h:80").to_string(), "http://h/");
        assert_eq!(read("http://h").to_string(), "http://h/");
        assert_eq!(read("http://h?q").to_string(), "http://h/");
        assert_eq!(
            read("http://h/a%2fb%c3%A9").to_string(),
            "http://h/a%2Fb%C3%A9"
        );
        assert_eq!(
            read("http://[::1]:8080/x").to_string(),
            "http://[::1]:8080/x"
        );
        assert_eq!(
            read("https://[FE80::1]:443/").to_string(),
            "https://[fe80::1]/"
        );
    }

    #[test]
    fn different_uris_stay_different() {
        let base = read("https://auth.example.com/session/refresh");
        for other in [
            "http://auth.example.com/session/refresh",
            "https://auth.example.com:8443/session/refresh",
            "https://auth.example.com:80/session/refresh",
            "https://auth.example.org/session/refresh",
            "https://auth.example.com./session/refresh",
            "https://auth.example.com/session/refresh/",
            "https://auth.example.com/Session/refresh",
            "https://auth.example.com/session/./refresh",
            "https://auth.example.com/session/%72efresh",
            "https://auth.example.com/session//refresh",
        ] {
            assert_ne!(read(other), base, "{other}");
        }
    }

    #[test]
    fn what_cannot_be_an_htu_is_refused() {
        use ProofUriError::*;
        for (uri, error) in [
            ("", Malformed),
            ("/session/refresh", Malformed),
            ("auth.example.com/x", Malformed),
            ("https://auth.example.com/a b", Malformed),
            ("https://auth.example.com/é", Malformed),
            ("https://auth.example.com/\t", Malformed),
            ("ftp://auth.example.com/", UnsupportedScheme),
            ("javascript://x/", UnsupportedScheme),
            ("https://user@auth.example.com/", UserInfo),
            ("https://user:pw@auth.example.com/", UserInfo),
            ("https:///path", BadHost),
            ("https://:443/path", BadHost),
            ("https://auth%2eexample.com/", BadHost),
            ("https://[]/", BadHost),
            ("https://[::1/", BadHost),
            ("https://[zz]/", BadHost),
            ("https://a:b:c/", BadPort),
            ("https://h:65536/", BadPort),
            ("https://h:-1/", BadPort),
            ("https://h:+443/", BadPort),
            ("https://[::1]x/", BadPort),
            ("https://h/%", BadEscape),
            ("https://h/%4", BadEscape),
            ("https://h/%zz", BadEscape),
        ] {
            assert_eq!(ProofUri::parse(uri), Err(error), "{uri:?}");
        }
    }

    #[test]
    fn a_port_of_zeros_is_port_zero() {
        assert_eq!(read("http://h:000/").to_string(), "http://h:0/");
    }
}
