//! Header rules of the built-in proxy, as plain functions: what leaves for the upstream and
//! what comes back to the client.
//!
//! Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection and never cross the proxy,
//! except `Connection: upgrade` / `Upgrade: websocket` on a WebSocket handshake, which the proxy
//! carries on purpose. Every other upgrade (`h2c` above all, which would hand the client a raw
//! HTTP/2 connection to the application that the gateway never checks again) is dropped with
//! its `HTTP2-Settings`, and the request travels as the plain HTTP/1.1 request it also is.
//! Identity headers come only from the gateway; forwarding headers come from the client only
//! when it is a trusted proxy.

use crate::header_spelling::{is_canonical, reads_as, reads_as_prefixed};
use crate::identity::strip_identity_headers;
use crate::transport::Transport;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method};
use std::net::IpAddr;

const HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("http2-settings"),
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
];

/// Headers, besides every `X-Forwarded-*`, a client could use to lie about where a request came
/// from; believed only from a trusted proxy, and only in their canonical spelling.
const FORWARDING: [&str; 5] = [
    "forwarded",
    "x-real-ip",
    "x-client-ip",
    "true-client-ip",
    "x-cluster-client-ip",
];

/// Headers some frameworks route on instead of the request line (IIS and older Symfony and
/// Zend read `X-Original-URL` and `X-Rewrite-URL`), or that describe an original request to a
/// forward-auth endpoint: a client must never hand them to an application.
const ROUTING_OVERRIDES: [&str; 4] = [
    "x-original-url",
    "x-rewrite-url",
    "x-original-uri",
    "x-original-method",
];

/// Whether a client-sent header must not reach the upstream: a routing override in any
/// spelling, and a forwarding header unless the peer is a trusted proxy and the name is
/// spelled as such (a CGI-style server reads `X_Forwarded_Host` as `X-Forwarded-Host`, and a
/// trusted proxy in front passes such spellings on untouched).
fn is_spoofable(name: &HeaderName, peer_trusted: bool) -> bool {
    let name = name.as_str();
    let forwarding = reads_as_prefixed(name, "x-forwarded-")
        || FORWARDING.iter().any(|canonical| reads_as(name, canonical));
    ROUTING_OVERRIDES
        .iter()
        .any(|canonical| reads_as(name, canonical))
        || (forwarding && (!peer_trusted || !is_canonical(name)))
}

/// Whether a request is a WebSocket opening handshake (RFC 6455 §4.1): `GET`, `Connection:
/// upgrade`, exactly `Upgrade: websocket`, version 13 and a key. It is the only upgrade relayed.
pub fn is_websocket_handshake(method: &Method, headers: &HeaderMap) -> bool {
    let asks_upgrade =
        connection_tokens(headers).any(|token| token.eq_ignore_ascii_case("upgrade"));
    let mut upgrades = headers.get_all(header::UPGRADE).iter();
    let websocket_only = match (upgrades.next(), upgrades.next()) {
        (Some(value), None) => value.as_bytes().eq_ignore_ascii_case(b"websocket"),
        _ => false,
    };
    let version_13 = headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_some_and(|version| version.as_bytes() == b"13");
    // The key is 16 random bytes in base64: 24 characters.
    let has_key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .is_some_and(|key| key.len() == 24);
    method == Method::GET && asks_upgrade && websocket_only && version_13 && has_key
}

/// Whether an upstream's response completes a WebSocket handshake the proxy relayed.
pub fn is_websocket_acceptance(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

/// Where the request came from, as the proxy reports it to the upstream.
pub struct Forwarding {
    /// The TCP peer of this hop.
    pub peer: IpAddr,
    /// Whether the peer is a trusted proxy, whose forwarding headers are kept and extended.
    pub peer_trusted: bool,
    /// The connection the client used to reach the gateway.
    pub transport: Transport,
}

/// The headers sent upstream: the client's, minus hop-by-hop and spoofable ones, plus the
/// gateway's identity headers and forwarding headers; `Upgrade: websocket` only when
/// `websocket` says the request is a handshake the proxy will relay.
pub fn upstream_request_headers(
    incoming: &HeaderMap,
    identity: HeaderMap,
    forwarding: &Forwarding,
    websocket: bool,
) -> HeaderMap {
    let mut headers = incoming.clone();
    remove_hop_by_hop(&mut headers);
    strip_identity_headers(&mut headers);
    headers.extend(identity);
    let spoofable: Vec<HeaderName> = headers
        .keys()
        .filter(|name| is_spoofable(name, forwarding.peer_trusted))
        .cloned()
        .collect();
    for name in spoofable {
        headers.remove(name);
    }
    // Every line of a trusted chain, in order (a proxy may append a line of its own), then us.
    let mut chain: Vec<String> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .map(str::to_owned)
        .collect();
    chain.push(forwarding.peer.to_string());
    let forwarded_for = chain.join(", ");
    if let Ok(value) = HeaderValue::from_str(&forwarded_for) {
        headers.insert("x-forwarded-for", value);
    }
    if !headers.contains_key("x-forwarded-proto") {
        // Kept when a trusted proxy sent it (TLS ended there); otherwise this hop's scheme.
        let scheme = HeaderValue::from_static(forwarding.transport.scheme());
        headers.insert("x-forwarded-proto", scheme);
    }
    if !headers.contains_key("x-forwarded-host") {
        if let Some(host) = incoming.get(header::HOST) {
            headers.insert("x-forwarded-host", host.clone());
        }
    }
    // The upstream is named by its own URL; the client's Host travels as X-Forwarded-Host.
    headers.remove(header::HOST);
    if websocket {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    }
    headers
}

/// The upstream's response headers as passed to the client; `websocket` when the response
/// accepts a relayed WebSocket handshake.
pub fn client_response_headers(headers: &mut HeaderMap, websocket: bool) {
    remove_hop_by_hop(headers);
    if websocket {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    }
}

fn connection_tokens(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|token| !token.is_empty())
}

fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = connection_tokens(headers)
        .filter_map(|token| HeaderName::from_bytes(token.as_bytes()).ok())
        .collect();
    for name in named.iter().chain(&HOP_BY_HOP) {
        headers.remove(name);
    }
    headers.remove(header::UPGRADE);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
        headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn untrusted() -> Forwarding {
        Forwarding {
            peer: "192.0.2.7".parse().expect("ip"),
            peer_trusted: false,
            transport: Transport::Plain,
        }
    }

    #[test]
    fn a_client_cannot_claim_an_identity_or_an_origin() {
        let incoming = map(&[
            ("host", "app.example"),
            ("x-auth-user-id", "someone-else"),
            ("x-auth-admin", "true"),
            ("x-forwarded-for", "10.9.9.9"),
            ("x-real-ip", "10.9.9.9"),
            ("forwarded", "for=10.9.9.9"),
            ("authorization", "Bearer t"),
        ]);
        let identity = map(&[("x-auth-user-id", "the-caller")]);
        let out = upstream_request_headers(&incoming, identity, &untrusted(), false);
        assert_eq!(get(&out, "x-auth-user-id"), Some("the-caller"));
        assert_eq!(get(&out, "x-auth-admin"), None);
        assert_eq!(get(&out, "x-forwarded-for"), Some("192.0.2.7"));
        assert_eq!(get(&out, "x-real-ip"), None);
        assert_eq!(get(&out, "forwarded"), None);
        assert_eq!(get(&out, "x-forwarded-proto"), Some("http"));
        assert_eq!(get(&out, "x-forwarded-host"), Some("app.example"));
        assert_eq!(get(&out, "host"), None);
        assert_eq!(get(&out, "authorization"), Some("Bearer t"));
    }

    #[test]
    fn no_spelling_of_a_forwarding_or_routing_header_gets_through() {
        let incoming = map(&[
            ("x_forwarded_host", "evil.example"),
            ("x.forwarded.proto", "https"),
            ("x_real_ip", "6.6.6.6"),
            ("true-client-ip", "6.6.6.6"),
            ("x-forwarded-prefix", "/admin"),
            ("x-original-url", "/admin"),
            ("X_Rewrite_URL", "/admin"),
            ("x-kept", "yes"),
        ]);
        for peer_trusted in [false, true] {
            let forwarding = Forwarding {
                peer: "10.0.0.2".parse().expect("ip"),
                peer_trusted,
                transport: Transport::Plain,
            };
            let out = upstream_request_headers(&incoming, HeaderMap::new(), &forwarding, false);
            let mut names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
            names.sort_unstable();
            let expected = match peer_trusted {
                // A trusted proxy's canonical spellings stay; its passed-on aliases do not.
                true => vec![
                    "true-client-ip",
                    "x-forwarded-for",
                    "x-forwarded-prefix",
                    "x-forwarded-proto",
                    "x-kept",
                ],
                false => vec!["x-forwarded-for", "x-forwarded-proto", "x-kept"],
            };
            assert_eq!(names, expected, "peer trusted: {peer_trusted}");
            assert_eq!(get(&out, "x-forwarded-proto"), Some("http"));
        }
    }

    #[test]
    fn every_line_of_a_trusted_chain_is_kept_in_order() {
        let mut incoming = map(&[("x-forwarded-for", "198.51.100.1")]);
        incoming.append("x-forwarded-for", HeaderValue::from_static("203.0.113.9"));
        let forwarding = Forwarding {
            peer: "10.0.0.2".parse().expect("ip"),
            peer_trusted: true,
            transport: Transport::Plain,
        };
        let out = upstream_request_headers(&incoming, HeaderMap::new(), &forwarding, false);
        assert_eq!(
            out.get_all("x-forwarded-for").iter().count(),
            1,
            "one joined line"
        );
        assert_eq!(
            get(&out, "x-forwarded-for"),
            Some("198.51.100.1, 203.0.113.9, 10.0.0.2")
        );
    }

    #[test]
    fn a_trusted_proxy_chain_is_extended() {
        let incoming = map(&[
            ("x-forwarded-for", "203.0.113.5"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "public.example"),
        ]);
        let forwarding = Forwarding {
            peer: "10.0.0.2".parse().expect("ip"),
            peer_trusted: true,
            transport: Transport::Plain,
        };
        let out = upstream_request_headers(&incoming, HeaderMap::new(), &forwarding, false);
        assert_eq!(get(&out, "x-forwarded-for"), Some("203.0.113.5, 10.0.0.2"));
        assert_eq!(get(&out, "x-forwarded-proto"), Some("https"));
        assert_eq!(get(&out, "x-forwarded-host"), Some("public.example"));
    }

    #[test]
    fn over_tls_the_scheme_is_https_unless_a_trusted_proxy_said_otherwise() {
        let claims_http = map(&[("x-forwarded-proto", "http")]);
        for (peer_trusted, incoming, expected) in [
            (false, HeaderMap::new(), "https"),
            (false, claims_http.clone(), "https"),
            (true, HeaderMap::new(), "https"),
            (true, claims_http, "http"),
        ] {
            let forwarding = Forwarding {
                peer: "10.0.0.2".parse().expect("ip"),
                peer_trusted,
                transport: Transport::Tls,
            };
            let out = upstream_request_headers(&incoming, HeaderMap::new(), &forwarding, false);
            assert_eq!(
                get(&out, "x-forwarded-proto"),
                Some(expected),
                "trusted {peer_trusted}, {incoming:?}"
            );
        }
    }

    fn websocket_handshake() -> HeaderMap {
        map(&[
            ("connection", "keep-alive, Upgrade"),
            ("upgrade", "WebSocket"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ])
    }

    #[test]
    fn only_a_websocket_handshake_is_an_upgrade_worth_relaying() {
        assert!(is_websocket_handshake(&Method::GET, &websocket_handshake()));
        let mut cousins = Vec::new();
        for (name, value) in [
            ("upgrade", "h2c"),
            ("upgrade", "websocket, h2c"),
            ("upgrade", "h2c, websocket"),
            ("upgrade", "TLS/1.2"),
            ("connection", "keep-alive"),
            ("sec-websocket-version", "8"),
            ("sec-websocket-key", "short"),
        ] {
            let mut headers = websocket_handshake();
            headers.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
            cousins.push((format!("{name}: {value}"), headers));
        }
        let mut two_upgrades = websocket_handshake();
        two_upgrades.append(header::UPGRADE, HeaderValue::from_static("h2c"));
        cousins.push(("two Upgrade lines".to_owned(), two_upgrades));
        for (what, headers) in &cousins {
            assert!(!is_websocket_handshake(&Method::GET, headers), "{what}");
        }
        assert!(!is_websocket_handshake(
            &Method::POST,
            &websocket_handshake()
        ));
    }

    #[test]
    fn any_other_upgrade_is_forwarded_as_a_plain_request() {
        let h2c = map(&[
            ("connection", "Upgrade, HTTP2-Settings"),
            ("upgrade", "h2c"),
            ("http2-settings", "AAMAAABkAARAAAAAAAIAAAAA"),
            ("x-kept", "yes"),
        ]);
        let out = upstream_request_headers(&h2c, HeaderMap::new(), &untrusted(), false);
        for gone in ["connection", "upgrade", "http2-settings"] {
            assert_eq!(get(&out, gone), None, "{gone}");
        }
        assert_eq!(get(&out, "x-kept"), Some("yes"));
        let mut response = map(&[("connection", "upgrade"), ("upgrade", "h2c")]);
        client_response_headers(&mut response, false);
        assert_eq!(get(&response, "upgrade"), None);
    }

    #[test]
    fn hop_by_hop_headers_stop_here_but_upgrades_pass() {
        let incoming = map(&[
            ("connection", "keep-alive, x-private"),
            ("keep-alive", "timeout=5"),
            ("x-private", "secret"),
            ("te", "trailers"),
            ("proxy-authorization", "Basic abc"),
            ("x-kept", "yes"),
        ]);
        let out = upstream_request_headers(&incoming, HeaderMap::new(), &untrusted(), false);
        for gone in [
            "connection",
            "keep-alive",
            "x-private",
            "te",
            "proxy-authorization",
        ] {
            assert_eq!(get(&out, gone), None, "{gone}");
        }
        assert_eq!(get(&out, "x-kept"), Some("yes"));

        let upgrade = websocket_handshake();
        let out = upstream_request_headers(&upgrade, HeaderMap::new(), &untrusted(), true);
        assert_eq!(get(&out, "connection"), Some("upgrade"));
        assert_eq!(get(&out, "upgrade"), Some("websocket"));

        let mut response = map(&[("connection", "upgrade"), ("upgrade", "websocket")]);
        client_response_headers(&mut response, true);
        assert_eq!(get(&response, "upgrade"), Some("websocket"));
        let mut response = map(&[("connection", "close"), ("upgrade", "h2c"), ("x-app", "1")]);
        client_response_headers(&mut response, false);
        assert_eq!(get(&response, "upgrade"), None);
        assert_eq!(get(&response, "connection"), None);
        assert_eq!(get(&response, "x-app"), Some("1"));
    }
}
