//! Who is calling: the client address and user agent recorded with sessions and security
//! events, and counted by the login throttle.
//!
//! The address is the TCP peer's, unless the peer is a configured trusted proxy: then the
//! `X-Forwarded-For` chain is walked from the right, past trusted proxies, to the first entry
//! that is not one. Entries left of that were written by the client and could say anything, so
//! they are never read. Every address is canonical (`::ffff:a.b.c.d` is `a.b.c.d`), so a
//! dual-stack listener and a proxy writing mapped addresses meet the same rules as plain IPv4.

use crate::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use ipnet::IpNet;
use portcullis_core::ClientInfo;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};

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
            .map(|ConnectInfo(addr)| peer_ip(*addr));
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

/// The address of a request's TCP peer, canonical: on a dual-stack listener an IPv4 client
/// arrives as `::ffff:a.b.c.d`, which must meet the same rules as `a.b.c.d`.
pub fn peer_ip(peer: SocketAddr) -> IpAddr {
    peer.ip().to_canonical()
}

/// Whether `ip` is one of the trusted proxies, whose forwarding headers are believed.
pub fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    let ip = ip.to_canonical();
    trusted.iter().any(|net| net.contains(&ip))
}

/// The client address, seen through any trusted proxies in front of the gateway.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let mut nearest = peer.to_canonical();
    if !is_trusted(nearest, trusted) {
        return nearest;
    }
    for entry in forwarded_entries(headers).rev() {
        match parse_entry(entry) {
            Some(ip) if is_trusted(ip, trusted) => nearest = ip,
            Some(ip) => return ip,
            None => {
                // The hop that wrote this entry is trusted but did not name an address; the
                // client is behind it, so that hop is the best address known.
                note_unparsable(nearest, entry);
                return nearest;
            }
        }
    }
    // Every hop is trusted: the left-most one is where the request came from.
    nearest
}

/// The `X-Forwarded-For` entries of every header line, in order, left to right. Empty list
/// elements are ignored, as RFC 9110 §5.6.1 asks of recipients.
fn forwarded_entries(headers: &HeaderMap) -> impl DoubleEndedIterator<Item = &[u8]> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|line| line.as_bytes().split(|byte| *byte == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|entry| !entry.is_empty())
}

/// One entry: `ip`, `a.b.c.d:port`, `[v6]` or `[v6]:port`, canonical; `None` for anything
/// else (`unknown`, obfuscated identifiers, garbage).
fn parse_entry(entry: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(entry).ok()?;
    let ip = match text.parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => match text.parse::<SocketAddr>() {
            Ok(socket) => socket.ip(),
            Err(_) => text
                .strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|inner| inner.parse::<Ipv6Addr>().ok())
                .map(IpAddr::V6)?,
        },
    };
    Some(ip.to_canonical())
}

/// Whether an unparsable entry from a trusted proxy has been reported. A misconfigured proxy
/// sends one with every request, so the warning comes once per process and the rest at debug
/// level. Process-wide on purpose: it only quiets a log line, nothing depends on it.
static UNPARSABLE_REPORTED: AtomicBool = AtomicBool::new(false);

fn note_unparsable(hop: IpAddr, entry: &[u8]) {
    // The entry is client-influenced text: bounded, and quoted by `?` formatting.
    let entry = String::from_utf8_lossy(&entry[..entry.len().min(64)]);
    if UNPARSABLE_REPORTED.swap(true, Ordering::Relaxed) {
        tracing::debug!(%hop, ?entry, "unparsable X-Forwarded-For entry; using the trusted hop's address");
    } else {
        tracing::warn!(
            %hop,
            ?entry,
            "a trusted proxy forwarded an X-Forwarded-For entry that is not an address; the \
             client is recorded as that proxy (reported once, then at debug level)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    fn nets(texts: &[&str]) -> Vec<IpNet> {
        texts
            .iter()
            .map(|text| text.parse().expect("net"))
            .collect()
    }

    fn forwarded(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(
                "x-forwarded-for",
                HeaderValue::from_str(line).expect("header"),
            );
        }
        headers
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let trusted = nets(&["10.0.0.0/8", "2001:db8:ffff::/48"]);
        #[rustfmt::skip]
        let cases: [(&str, &str, &[&str], &str); 19] = [
            ("untrusted peer: the header is ignored", "192.0.2.1", &["198.51.100.7, 203.0.113.9, 10.0.0.5"], "192.0.2.1"),
            ("trusted peer: right-most untrusted entry", "10.0.0.2", &["198.51.100.7, 203.0.113.9, 10.0.0.5"], "203.0.113.9"),
            ("trusted peer without the header", "10.0.0.2", &[], "10.0.0.2"),
            ("junk left of the client is never read", "10.0.0.2", &["unknown, 203.0.113.9"], "203.0.113.9"),
            ("junk at the client's position: the peer", "10.0.0.2", &["203.0.113.9, unknown"], "10.0.0.2"),
            ("junk behind a trusted hop: that hop", "10.0.0.2", &["203.0.113.9, unknown, 10.0.0.5"], "10.0.0.5"),
            ("an IPv4 entry with a port", "10.0.0.2", &["203.0.113.9:4711"], "203.0.113.9"),
            ("a bracketed IPv6 entry", "10.0.0.2", &["[2001:db8::9]"], "2001:db8::9"),
            ("a bracketed IPv6 entry with a port", "10.0.0.2", &["[2001:db8::9]:4711"], "2001:db8::9"),
            ("a bare IPv6 entry", "10.0.0.2", &["2001:db8::9"], "2001:db8::9"),
            ("an IPv6 entry with a port needs brackets", "10.0.0.2", &["2001:db8::9:4711"], "2001:db8::9:4711"),
            ("a mapped peer is trusted as IPv4", "::ffff:10.0.0.2", &["203.0.113.9"], "203.0.113.9"),
            ("a mapped untrusted peer is reported as IPv4", "::ffff:192.0.2.1", &["203.0.113.9"], "192.0.2.1"),
            ("a mapped trusted hop is skipped", "10.0.0.2", &["203.0.113.9, ::ffff:10.0.0.5"], "203.0.113.9"),
            ("a mapped client is reported as IPv4", "10.0.0.2", &["[::ffff:203.0.113.9]:80"], "203.0.113.9"),
            ("every header line, in order", "10.0.0.2", &["198.51.100.7", "203.0.113.9, 10.0.0.5", "10.0.0.6"], "203.0.113.9"),
            ("empty list elements are ignored", "10.0.0.2", &["203.0.113.9, , 10.0.0.5,"], "203.0.113.9"),
            ("all hops trusted: the left-most", "10.0.0.2", &["10.0.0.7, 10.0.0.5"], "10.0.0.7"),
            ("an out-of-range port is not an address", "10.0.0.2", &["203.0.113.9:99999"], "10.0.0.2"),
        ];
        for (name, peer, lines, expected) in cases {
            assert_eq!(
                client_ip(ip(peer), &forwarded(lines), &trusted),
                ip(expected),
                "{name}"
            );
        }
    }

    #[test]
    fn a_line_that_is_not_text_is_unparsable_only_where_it_stands() {
        let trusted = nets(&["10.0.0.0/8"]);
        let mut headers = forwarded(&["203.0.113.9"]);
        headers.append(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"\xff\xfe, 10.0.0.5").expect("obs-text is allowed"),
        );
        assert_eq!(
            client_ip(ip("10.0.0.2"), &headers, &trusted),
            ip("10.0.0.5")
        );
    }

    #[test]
    fn the_peer_address_is_canonical() {
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:8080".parse().expect("addr");
        assert_eq!(peer_ip(mapped), ip("127.0.0.1"));
        let v6: SocketAddr = "[2001:db8::1]:8080".parse().expect("addr");
        assert_eq!(peer_ip(v6), ip("2001:db8::1"));
    }

    // Property tests over a small pool of addresses, so chains mix trusted and untrusted hops.

    /// How an address is written: the ways proxies spell the same client.
    #[derive(Clone, Copy, Debug)]
    enum Spelling {
        Plain,
        WithPort,
        Mapped,
        MappedBracketed,
        MappedBracketedWithPort,
    }

    /// One `X-Forwarded-For` entry as a model: an address in some spelling, or text that is
    /// not an address; `new_line` starts another header line before it.
    #[derive(Clone, Debug)]
    struct Written {
        entry: Entry,
        new_line: bool,
    }

    #[derive(Clone, Debug)]
    enum Entry {
        Addr(IpAddr, Spelling),
        Junk(&'static str),
    }

    const POOL: [&str; 8] = [
        "10.0.0.1",
        "10.0.0.2",
        "10.0.0.3",
        "203.0.113.1",
        "203.0.113.2",
        "198.51.100.1",
        "2001:db8::1",
        "2001:db8::2",
    ];

    fn spell(ip: IpAddr, spelling: Spelling) -> String {
        let mapped = match ip {
            IpAddr::V4(v4) => v4.to_ipv6_mapped(),
            IpAddr::V6(v6) => v6,
        };
        match (spelling, ip) {
            (Spelling::Plain, _) => ip.to_string(),
            (Spelling::WithPort, IpAddr::V4(_)) => format!("{ip}:4711"),
            (Spelling::WithPort, IpAddr::V6(_)) => format!("[{ip}]:4711"),
            (Spelling::Mapped, _) => mapped.to_string(),
            (Spelling::MappedBracketed, _) => format!("[{mapped}]"),
            (Spelling::MappedBracketedWithPort, _) => format!("[{mapped}]:4711"),
        }
    }

    fn render(chain: &[Written]) -> HeaderMap {
        let mut lines: Vec<Vec<String>> = Vec::new();
        for written in chain {
            let text = match &written.entry {
                Entry::Addr(ip, spelling) => spell(*ip, *spelling),
                Entry::Junk(junk) => (*junk).to_owned(),
            };
            match lines.last_mut() {
                Some(line) if !written.new_line => line.push(text),
                _ => lines.push(vec![text]),
            }
        }
        let lines: Vec<String> = lines.iter().map(|line| line.join(", ")).collect();
        forwarded(&lines.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn address() -> impl Strategy<Value = IpAddr> {
        prop::sample::select(&POOL[..]).prop_map(ip)
    }

    fn spelling() -> impl Strategy<Value = Spelling> {
        prop::sample::select(
            &[
                Spelling::Plain,
                Spelling::WithPort,
                Spelling::Mapped,
                Spelling::MappedBracketed,
                Spelling::MappedBracketedWithPort,
            ][..],
        )
    }

    fn written() -> impl Strategy<Value = Written> {
        let entry = prop_oneof![
            4 => (address(), spelling()).prop_map(|(ip, spelling)| Entry::Addr(ip, spelling)),
            1 => prop::sample::select(&["unknown", "_hidden", "1.2.3", "[::1", "[10.0.0.1]"][..])
                .prop_map(Entry::Junk),
        ];
        (entry, prop::bool::weighted(0.2)).prop_map(|(entry, new_line)| Written { entry, new_line })
    }

    fn chain(max: usize) -> impl Strategy<Value = Vec<Written>> {
        prop::collection::vec(written(), 0..max)
    }

    /// Some pool addresses as single-address networks, written plainly as operators do.
    fn trusted_set() -> impl Strategy<Value = Vec<IpNet>> {
        prop::sample::subsequence(&POOL[..], 0..=POOL.len()).prop_map(|picked| {
            picked
                .into_iter()
                .map(|text| IpNet::from(ip(text)))
                .collect()
        })
    }

    /// The peer, plain or as a dual-stack listener reports an IPv4 client.
    fn peer() -> impl Strategy<Value = IpAddr> {
        (address(), any::<bool>()).prop_map(|(ip, mapped)| match (ip, mapped) {
            (IpAddr::V4(v4), true) => IpAddr::V6(v4.to_ipv6_mapped()),
            _ => ip,
        })
    }

    fn trusted_addr(written: &Written, trusted: &[IpNet]) -> bool {
        matches!(written.entry, Entry::Addr(ip, _) if is_trusted(ip, trusted))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn entries_left_of_the_first_untrusted_one_are_never_read(
            trusted in trusted_set(),
            peer in peer(),
            chain in chain(8),
            other_prefix in chain(6),
        ) {
            // Without an untrusted entry the whole chain is read; there is no prefix to vary.
            let first_untrusted = chain.iter().rposition(|w| !trusted_addr(w, &trusted));
            prop_assume!(first_untrusted.is_some());
            let kept = &chain[first_untrusted.unwrap_or_default()..];
            let varied: Vec<Written> = other_prefix.iter().chain(kept).cloned().collect();
            prop_assert_eq!(
                client_ip(peer, &render(&chain), &trusted),
                client_ip(peer, &render(&varied), &trusted)
            );
        }

        #[test]
        fn mapped_and_plain_spellings_of_every_address_give_the_same_result(
            trusted in trusted_set(),
            peer in peer(),
            chain in chain(8),
            respellings in prop::collection::vec(spelling(), 8),
        ) {
            let respelled: Vec<Written> = chain
                .iter()
                .zip(&respellings)
                .map(|(written, spelling)| match written.entry {
                    Entry::Addr(ip, _) => Written { entry: Entry::Addr(ip, *spelling), ..written.clone() },
                    Entry::Junk(_) => written.clone(),
                })
                .collect();
            let result = client_ip(peer, &render(&chain), &trusted);
            prop_assert_eq!(result, client_ip(peer.to_canonical(), &render(&respelled), &trusted));
            prop_assert_eq!(result, result.to_canonical(), "results are canonical");
        }

        #[test]
        fn the_result_is_the_peer_a_trusted_hop_or_the_first_untrusted_entry(
            trusted in trusted_set(),
            peer in peer(),
            chain in chain(8),
        ) {
            let result = client_ip(peer, &render(&chain), &trusted);
            let peer = peer.to_canonical();
            if !is_trusted(peer, &trusted) {
                prop_assert_eq!(result, peer);
                return Ok(());
            }
            let hop = chain.iter().any(|w| matches!(w.entry, Entry::Addr(ip, _) if ip == result))
                && is_trusted(result, &trusted);
            let first_untrusted = chain
                .iter()
                .rev()
                .find(|w| !trusted_addr(w, &trusted))
                .and_then(|w| match w.entry {
                    Entry::Addr(ip, _) => Some(ip),
                    Entry::Junk(_) => None,
                });
            prop_assert!(
                result == peer || hop || Some(result) == first_untrusted,
                "{result} is neither the peer {peer}, a trusted hop, nor {first_untrusted:?}"
            );
        }
    }
}
