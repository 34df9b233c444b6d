//! The keys of the TLS listener (`tls_cert_file`, `tls_key_file`): both set serve HTTPS,
//! neither plain HTTP; one alone is a mistake, refused at start. The files themselves are read
//! by `serve` only (`crate::tls`), so commands that never listen do not need them.

use super::Config;
use crate::tls::CertificateFiles;
use anyhow::bail;
use std::path::Path;

impl Config {
    /// The certificate and key to serve HTTPS with; `None` for plain HTTP.
    pub(crate) fn tls_files(&self) -> anyhow::Result<Option<CertificateFiles>> {
        let (chain, key) = match (&self.tls_cert_file, &self.tls_key_file) {
            (None, None) => return Ok(None),
            (Some(chain), Some(key)) => (chain, key),
            (Some(_), None) => bail!(
                "tls_cert_file is set but tls_key_file is not: serving HTTPS needs both (leave \
                 both unset for plain HTTP)"
            ),
            (None, Some(_)) => bail!(
                "tls_key_file is set but tls_cert_file is not: serving HTTPS needs both (leave \
                 both unset for plain HTTP)"
            ),
        };
        for (name, path) in [("tls_cert_file", chain), ("tls_key_file", key)] {
            if is_blank(path) {
                bail!("{name} is empty: name a PEM file, or leave it unset");
            }
        }
        Ok(Some(CertificateFiles {
            chain: chain.clone(),
            key: key.clone(),
        }))
    }
}

fn is_blank(path: &Path) -> bool {
    path.to_str().is_some_and(|text| text.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn with(cert: Option<&str>, key: Option<&str>) -> Config {
        Config {
            tls_cert_file: cert.map(PathBuf::from),
            tls_key_file: key.map(PathBuf::from),
            ..Config::default()
        }
    }

    #[test]
    fn https_needs_both_files_and_plain_http_neither() {
        assert_eq!(with(None, None).tls_files().expect("plain HTTP"), None);
        let both = with(Some("chain.pem"), Some("key.pem"));
        assert_eq!(
            both.tls_files().expect("HTTPS"),
            Some(CertificateFiles {
                chain: PathBuf::from("chain.pem"),
                key: PathBuf::from("key.pem"),
            })
        );
        both.validate().expect("valid");
        #[rustfmt::skip]
        let refused = [
            (with(Some("chain.pem"), None), "tls_cert_file is set but tls_key_file is not"),
            (with(None, Some("key.pem")), "tls_key_file is set but tls_cert_file is not"),
            (with(Some(""), Some("key.pem")), "tls_cert_file is empty"),
            (with(Some("chain.pem"), Some(" ")), "tls_key_file is empty"),
        ];
        for (config, message) in refused {
            let error = config.validate().expect_err("refused").to_string();
            assert!(error.contains(message), "{error}");
        }
    }
}
