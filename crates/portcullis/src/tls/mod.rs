//! Serving HTTPS on the gateway's own listener (`tls_cert_file` and `tls_key_file`): the rustls
//! configuration, the certificate it presents (re-read from the same files on SIGHUP), and the
//! `Strict-Transport-Security` header every response then carries. It owns no socket: the
//! server's accept loop runs each handshake under the connection's deadlines (`crate::server`).
//! Key material never reaches a log line or an error message.

mod certificate;
mod current;
mod hangup;

pub use certificate::CertificateFiles;
pub use current::CurrentCertificate;
pub use hangup::reload_on_hangup;

use axum::http::{header, HeaderMap, HeaderValue};
use rustls::crypto::CryptoProvider;
use rustls::ServerConfig;
use std::sync::Arc;

/// One year, the value the HSTS preload list asks for and the one most sites send. Without
/// `includeSubDomains` or `preload`: those commit every other host of the domain to HTTPS, a
/// choice for the domain's owner (set them on the proxy in front), not for one service on it.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// The only application protocol offered: the server speaks HTTP/1.1 alone.
const HTTP_1_1: &[u8] = b"http/1.1";

/// The crypto provider of every TLS object here: rustls's aws-lc-rs, passed explicitly rather
/// than installed as the process default.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The server configuration: TLS 1.3 and 1.2 (rustls's safe defaults), no client
/// certificates, ALPN `http/1.1`, and `certificate` for every handshake.
pub fn server_config(
    provider: Arc<CryptoProvider>,
    certificate: Arc<CurrentCertificate>,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(certificate);
    config.alpn_protocols = vec![HTTP_1_1.to_vec()];
    Ok(Arc::new(config))
}

/// Marks a response sent over TLS with HSTS, unless it already carries a policy of its own (an
/// upstream's, which may well be stricter).
pub fn add_strict_transport_security(headers: &mut HeaderMap) {
    headers
        .entry(header::STRICT_TRANSPORT_SECURITY)
        .or_insert(HeaderValue::from_static(STRICT_TRANSPORT_SECURITY));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsts_is_added_once_and_an_upstream_policy_is_kept() {
        let mut plain = HeaderMap::new();
        add_strict_transport_security(&mut plain);
        add_strict_transport_security(&mut plain);
        let sent: Vec<_> = plain
            .get_all(header::STRICT_TRANSPORT_SECURITY)
            .iter()
            .collect();
        assert_eq!(sent, ["max-age=31536000"]);

        let upstream = "max-age=63072000; includeSubDomains";
        let mut own = HeaderMap::new();
        own.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(upstream),
        );
        add_strict_transport_security(&mut own);
        assert_eq!(own[header::STRICT_TRANSPORT_SECURITY], upstream);
    }
}
