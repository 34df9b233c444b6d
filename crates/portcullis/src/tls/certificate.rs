//! Reading the certificate chain and private key from their PEM files into the key rustls
//! presents. The key may be ECDSA, Ed25519 or RSA, in PKCS#8 or its traditional form (SEC1 or
//! PKCS#1); it must belong to the first certificate of the chain. Errors name the file and
//! what is wrong with it, never what it holds.

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::InconsistentKeys;
use std::io;
use std::path::{Path, PathBuf};

/// Where the listener's certificate and key are read from, at start and on every reload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateFiles {
    /// The server certificate first, then any intermediates.
    pub chain: PathBuf,
    pub key: PathBuf,
}

/// Why the certificate or key could not be loaded. The messages name files, not contents: a
/// PEM parser's own error may quote a line of the file, and that file holds a private key.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    // Not `source`: the log prints this error alone, so it says why itself.
    #[error("cannot read {}: {error}", path.display())]
    Unreadable { path: PathBuf, error: io::Error },
    #[error("{} is not valid PEM", path.display())]
    NotPem { path: PathBuf },
    #[error("{} holds no certificate (a PEM `CERTIFICATE` section)", path.display())]
    NoCertificate { path: PathBuf },
    #[error(
        "{} holds no private key (a PEM `PRIVATE KEY`, `EC PRIVATE KEY` or `RSA PRIVATE KEY` \
         section)",
        path.display()
    )]
    NoKey { path: PathBuf },
    #[error("the private key in {} is not a usable ECDSA, Ed25519 or RSA key", path.display())]
    UnusableKey { path: PathBuf },
    #[error("the first certificate in {} cannot be parsed", path.display())]
    BadCertificate { path: PathBuf },
    #[error(
        "the private key in {} does not belong to the first certificate in {}",
        key.display(),
        chain.display()
    )]
    KeyMismatch { chain: PathBuf, key: PathBuf },
}

impl CertificateFiles {
    /// Reads both files and pairs the chain with its key, checked to match.
    pub fn load(&self, provider: &CryptoProvider) -> Result<CertifiedKey, LoadError> {
        let chain = read_chain(&self.chain)?;
        let key = read_key(&self.key)?;
        let signing_key =
            provider
                .key_provider
                .load_private_key(key)
                .map_err(|_| LoadError::UnusableKey {
                    path: self.key.clone(),
                })?;
        let certified = CertifiedKey::new(chain, signing_key);
        match certified.keys_match() {
            // A key that cannot tell its public half is trusted, as rustls itself does.
            Ok(()) | Err(rustls::Error::InconsistentKeys(InconsistentKeys::Unknown)) => {
                Ok(certified)
            }
            Err(rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => {
                Err(LoadError::KeyMismatch {
                    chain: self.chain.clone(),
                    key: self.key.clone(),
                })
            }
            Err(_) => Err(LoadError::BadCertificate {
                path: self.chain.clone(),
            }),
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|error| LoadError::Unreadable {
        path: path.to_path_buf(),
        error,
    })
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, LoadError> {
    let text = read(path)?;
    let chain = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| LoadError::NotPem {
            path: path.to_path_buf(),
        })?;
    if chain.is_empty() {
        return Err(LoadError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, LoadError> {
    let text = read(path)?;
    PrivateKeyDer::from_pem_slice(&text).map_err(|error| match error {
        pem::Error::NoItemsFound => LoadError::NoKey {
            path: path.to_path_buf(),
        },
        _ => LoadError::NotPem {
            path: path.to_path_buf(),
        },
    })
}

#[cfg(test)]
mod tests;
