//! Certificates for the TLS listener's tests: self-signed pairs made at test time and written
//! where the gateway reads them, and clients that trust exactly the certificates a test names
//! (never the system's roots) and report which certificate the server presented.

use rcgen::PKCS_RSA_SHA256;
use rcgen::{CertificateParams, KeyPair, SignatureAlgorithm, PKCS_ECDSA_P256_SHA256};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// A self-signed certificate for `localhost` and `127.0.0.1`, and its key, as PEM.
pub struct SelfSigned {
    pub chain_pem: String,
    pub key_pem: String,
    pub der: CertificateDer<'static>,
}

impl SelfSigned {
    pub fn ecdsa() -> Self {
        Self::issue(&PKCS_ECDSA_P256_SHA256)
    }

    pub fn rsa() -> Self {
        Self::issue(&PKCS_RSA_SHA256)
    }

    fn issue(algorithm: &'static SignatureAlgorithm) -> Self {
        let key = KeyPair::generate_for(algorithm).expect("key pair");
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let params = CertificateParams::new(names).expect("certificate parameters");
        let certificate = params.self_signed(&key).expect("self-signed certificate");
        Self {
            chain_pem: certificate.pem(),
            key_pem: key.serialize_pem(),
            der: certificate.der().clone(),
        }
    }
}

/// Where a test gateway reads its certificate and key, in a directory of the test's own.
pub struct CertificateFiles {
    _dir: TempDir,
    pub chain: PathBuf,
    pub key: PathBuf,
}

impl CertificateFiles {
    /// The files, holding `pair`.
    pub fn holding(pair: &SelfSigned) -> Self {
        let dir = TempDir::new().expect("temporary directory");
        let files = Self {
            chain: dir.path().join("chain.pem"),
            key: dir.path().join("key.pem"),
            _dir: dir,
        };
        files.write(pair);
        files
    }

    /// Replaces both files' contents with `pair`.
    pub fn write(&self, pair: &SelfSigned) {
        std::fs::write(&self.chain, &pair.chain_pem).expect("write the chain");
        std::fs::write(&self.key, &pair.key_pem).expect("write the key");
    }

    /// `PORTCULLIS_TLS_CERT_FILE` and `PORTCULLIS_TLS_KEY_FILE` naming them.
    pub fn settings(&self) -> [(&'static str, String); 2] {
        [
            ("PORTCULLIS_TLS_CERT_FILE", self.chain.display().to_string()),
            ("PORTCULLIS_TLS_KEY_FILE", self.key.display().to_string()),
        ]
    }
}

/// An HTTPS client trusting `trusted` alone.
pub fn https_client(trusted: &SelfSigned) -> reqwest::Client {
    let root = reqwest::Certificate::from_der(&trusted.der).expect("certificate");
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(root)
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("https client")
}

/// A TLS connection to `addr` (as `localhost`) trusting every one of `trusted`, offering
/// `alpn`. Each call has a configuration of its own, so no session is ever resumed: the server
/// presents its certificate on every connection.
pub async fn connect(
    addr: SocketAddr,
    trusted: &[&SelfSigned],
    alpn: &[&[u8]],
) -> std::io::Result<TlsStream<TcpStream>> {
    let mut roots = RootCertStore::empty();
    for pair in trusted {
        roots.add(pair.der.clone()).expect("a usable trust anchor");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    let connector = TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").expect("server name");
    connector.connect(name, tcp).await
}

/// The certificate the server presented on `stream`.
pub fn presented(stream: &TlsStream<TcpStream>) -> CertificateDer<'static> {
    let (_, session) = stream.get_ref();
    session
        .peer_certificates()
        .and_then(|chain| chain.first())
        .expect("the server presented a certificate")
        .clone()
        .into_owned()
}
