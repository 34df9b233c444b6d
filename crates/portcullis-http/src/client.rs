//! Who is calling: the client address and user agent recorded with sessions and security
//! events, and counted by the login throttle.
//!
//! The address is the TCP peer's, unless the peer is a configured trusted proxy: then it is the
//! right-most `X-Forwarded-For` entry that is not itself a trusted proxy. Entries left of that
//! were written by the client and could say anything, so they are never believed.

use crate::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use ipnet::IpNet;
use portcullis_core::ClientInfo;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

/// The calling client's address and user agent.
pub struct Client(pub ClientInfo);

impl FromRequestParts<AppState> for Client {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let ip = peer
            .map(|peer| client_ip(peer, &parts.headers, &state.web.trusted_proxies).to_string());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Ok(Self(ClientInfo { ip, user_agent }))
    }
}

/// The client address, seen through any trusted proxies in front of the gateway.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|entry| entry.trim().parse::<IpAddr>())
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("198.51.100.7, 203.0.113.9, 10.0.0.5"),
        );
        let cases = [
            (
                "untrusted peer: the header is ignored",
                ip("192.0.2.1"),
                &headers,
                ip("192.0.2.1"),
            ),
            (
                "trusted peer: right-most untrusted entry",
                ip("10.0.0.2"),
                &headers,
                ip("203.0.113.9"),
            ),
            (
                "trusted peer without the header",
                ip("10.0.0.2"),
                &HeaderMap::new(),
                ip("10.0.0.2"),
            ),
        ];
        for (name, peer, headers, expected) in cases {
            assert_eq!(client_ip(peer, headers, &trusted), expected, "{name}");
        }
        let mut garbage = HeaderMap::new();
        garbage.insert(
            "x-forwarded-for",
            HeaderValue::from_static("not-an-ip, 203.0.113.9"),
        );
        assert_eq!(
            client_ip(ip("10.0.0.2"), &garbage, &trusted),
            ip("10.0.0.2"),
            "a malformed header is not trusted"
        );
    }
}
