//! How the client's connection reached the gateway, as the server that accepted it says: a
//! request extension it sets on every request. A request without one came over plain HTTP.
//! It only reports; what follows from it (the scheme told to upstreams) is decided elsewhere.

use axum::http::Extensions;

/// The connection a request arrived on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Transport {
    #[default]
    Plain,
    /// TLS ended at the gateway itself.
    Tls,
}

impl Transport {
    /// The transport the server recorded in `extensions`; plain HTTP when it recorded none.
    pub fn of(extensions: &Extensions) -> Self {
        extensions.get::<Self>().copied().unwrap_or_default()
    }

    /// The URL scheme of a request that arrived this way.
    pub fn scheme(self) -> &'static str {
        match self {
            Self::Plain => "http",
            Self::Tls => "https",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_plain_http_unless_the_server_says_tls() {
        let mut extensions = Extensions::new();
        assert_eq!(Transport::of(&extensions).scheme(), "http");
        extensions.insert(Transport::Tls);
        assert_eq!(Transport::of(&extensions).scheme(), "https");
    }
}
