//! The certificate the listener presents: one certificate and key behind an atomic pointer,
//! read by every handshake and replaced whole by a reload. A handshake gets the old pair or the
//! new one, never a mix; connections already open keep the keys they agreed on. A reload that
//! fails leaves the pair being served as it was.

use super::certificate::{CertificateFiles, LoadError};
use arc_swap::ArcSwap;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::fmt;
use std::sync::Arc;

pub struct CurrentCertificate {
    files: CertificateFiles,
    provider: Arc<CryptoProvider>,
    serving: ArcSwap<CertifiedKey>,
}

impl CurrentCertificate {
    /// Loads the pair `files` name; the server cannot start without it.
    pub fn load(files: CertificateFiles, provider: Arc<CryptoProvider>) -> Result<Self, LoadError> {
        let serving = files.load(&provider)?;
        Ok(Self {
            files,
            provider,
            serving: ArcSwap::from_pointee(serving),
        })
    }

    /// Reads the same files again and serves what they now hold; on an error the previous pair
    /// stays.
    pub fn reload(&self) -> Result<(), LoadError> {
        let loaded = self.files.load(&self.provider)?;
        self.serving.store(Arc::new(loaded));
        Ok(())
    }

    pub fn files(&self) -> &CertificateFiles {
        &self.files
    }
}

impl ResolvesServerCert for CurrentCertificate {
    /// One certificate for every client, whatever name it asks for (as a single-site server
    /// does): a mismatch is for the client to refuse.
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.serving.load_full())
    }
}

/// Names the files only: what is being served is a key.
impl fmt::Debug for CurrentCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurrentCertificate")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::provider;
    use rcgen::{CertificateParams, KeyPair};
    use tempfile::TempDir;

    /// Writes a fresh self-signed pair to `files`; returns the certificate's DER.
    fn write_pair(files: &CertificateFiles) -> Vec<u8> {
        let key = KeyPair::generate().expect("key");
        let params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
        let certificate = params.self_signed(&key).expect("self-signed");
        std::fs::write(&files.chain, certificate.pem()).expect("write the chain");
        std::fs::write(&files.key, key.serialize_pem()).expect("write the key");
        certificate.der().to_vec()
    }

    fn served(current: &CurrentCertificate) -> Vec<u8> {
        current.serving.load().cert[0].to_vec()
    }

    #[test]
    fn a_reload_serves_the_new_pair_and_a_failed_one_keeps_the_old() {
        let dir = TempDir::new().expect("temporary directory");
        let files = CertificateFiles {
            chain: dir.path().join("chain.pem"),
            key: dir.path().join("key.pem"),
        };
        let first = write_pair(&files);
        let current = CurrentCertificate::load(files.clone(), provider()).expect("loads");
        assert_eq!(served(&current), first);

        let second = write_pair(&files);
        current.reload().expect("reloads");
        assert_eq!(served(&current), second);

        std::fs::write(&files.key, "not a key").expect("break the key");
        assert!(current.reload().is_err());
        assert_eq!(served(&current), second);

        assert!(!format!("{current:?}").contains("PRIVATE"));
    }
}
