use super::*;
use crate::tls::provider;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use base64::Engine;
use rcgen::{CertificateParams, KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_RSA_SHA256};
use tempfile::TempDir;

/// A self-signed certificate for `localhost` and its key.
struct Issued {
    chain: String,
    key: KeyPair,
}

fn issue(key: KeyPair) -> Issued {
    let params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    let chain = params.self_signed(&key).expect("self-signed").pem();
    Issued { chain, key }
}

fn ecdsa() -> Issued {
    issue(KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("ECDSA key"))
}

fn rsa() -> Issued {
    issue(KeyPair::generate_for(&PKCS_RSA_SHA256).expect("RSA key"))
}

fn pem(label: &str, der: &[u8]) -> String {
    let base64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = base64
        .as_bytes()
        .chunks(64)
        .map(|line| std::str::from_utf8(line).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

impl Issued {
    fn pkcs8(&self) -> String {
        self.key.serialize_pem()
    }

    /// The ECDSA key in its traditional form (RFC 5915, `EC PRIVATE KEY`).
    fn sec1(&self) -> String {
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &self.key.serialize_der())
                .expect("a P-256 key");
        let der = pair.private_key().as_der().expect("SEC1 encoding");
        pem("EC PRIVATE KEY", der.as_ref())
    }

    /// The RSA key in its traditional form (PKCS#1, `RSA PRIVATE KEY`): what PKCS#8 wraps.
    fn pkcs1(&self) -> String {
        let pkcs8 = self.key.serialize_der();
        let info = pkcs8::PrivateKeyInfo::try_from(pkcs8.as_slice()).expect("PKCS#8");
        pem("RSA PRIVATE KEY", info.private_key)
    }
}

/// The two files, written into a fresh directory.
fn written(chain: &str, key: &str) -> (TempDir, CertificateFiles) {
    let dir = TempDir::new().expect("temporary directory");
    let files = CertificateFiles {
        chain: dir.path().join("chain.pem"),
        key: dir.path().join("key.pem"),
    };
    std::fs::write(&files.chain, chain).expect("write the chain");
    std::fs::write(&files.key, key).expect("write the key");
    (dir, files)
}

fn load(chain: &str, key: &str) -> Result<CertifiedKey, LoadError> {
    let (_dir, files) = written(chain, key);
    files.load(&provider())
}

#[test]
fn every_supported_key_form_loads_with_its_certificate() {
    let (p256, rsa) = (ecdsa(), rsa());
    for (form, issued, key) in [
        ("ECDSA PKCS#8", &p256, p256.pkcs8()),
        ("ECDSA SEC1", &p256, p256.sec1()),
        ("RSA PKCS#8", &rsa, rsa.pkcs8()),
        ("RSA PKCS#1", &rsa, rsa.pkcs1()),
    ] {
        let loaded = load(&issued.chain, &key).unwrap_or_else(|error| panic!("{form}: {error}"));
        assert_eq!(loaded.cert.len(), 1, "{form}");
    }
    assert!(p256.sec1().starts_with("-----BEGIN EC PRIVATE KEY-----"));
    assert!(rsa.pkcs1().starts_with("-----BEGIN RSA PRIVATE KEY-----"));
}

#[test]
fn a_chain_keeps_its_intermediates_in_order() {
    let (server, intermediate) = (ecdsa(), ecdsa());
    let chain = format!("{}{}", server.chain, intermediate.chain);
    let loaded = load(&chain, &server.pkcs8()).expect("loads");
    assert_eq!(loaded.cert.len(), 2);
    let first = CertificateDer::from_pem_slice(server.chain.as_bytes()).expect("PEM");
    assert_eq!(loaded.cert[0], first);
}

/// A case of refused files: its name, the chain, the key, the error expected and a part of its
/// message.
type Refusal<'a> = (&'a str, &'a str, &'a str, fn(&LoadError) -> bool, &'a str);

#[test]
fn unusable_files_are_refused_naming_the_file_and_what_is_wrong() {
    let (issued, other) = (ecdsa(), ecdsa());
    let key = issued.pkcs8();
    let not_base64 = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    let not_a_certificate = pem("CERTIFICATE", b"not DER at all");
    let not_a_key = pem("PRIVATE KEY", b"not DER at all");
    #[rustfmt::skip]
    let cases: [Refusal<'_>; 8] = [
        ("empty chain", "", &key, |e| matches!(e, LoadError::NoCertificate { .. }), "chain.pem holds no certificate"),
        ("chain of prose", "hello", &key, |e| matches!(e, LoadError::NoCertificate { .. }), "chain.pem holds no certificate"),
        ("chain not base64", not_base64, &key, |e| matches!(e, LoadError::NotPem { .. }), "chain.pem is not valid PEM"),
        ("chain not DER", &not_a_certificate, &key, |e| matches!(e, LoadError::BadCertificate { .. }), "certificate in"),
        ("no key, a certificate instead", &issued.chain, &issued.chain, |e| matches!(e, LoadError::NoKey { .. }), "key.pem holds no private key"),
        ("key not DER", &issued.chain, &not_a_key, |e| matches!(e, LoadError::UnusableKey { .. }), "key.pem is not a usable"),
        ("another certificate's key", &issued.chain, &other.pkcs8(), |e| matches!(e, LoadError::KeyMismatch { .. }), "does not belong to the first certificate in"),
        ("empty key", &issued.chain, "", |e| matches!(e, LoadError::NoKey { .. }), "key.pem holds no private key"),
    ];
    for (case, chain, key, expected, message) in cases {
        let error = load(chain, key).expect_err(case);
        assert!(expected(&error), "{case}: {error:?}");
        assert!(error.to_string().contains(message), "{case}: {error}");
    }
}

#[test]
fn a_missing_file_is_named() {
    let issued = ecdsa();
    let (dir, mut files) = written(&issued.chain, &issued.pkcs8());
    files.key = dir.path().join("absent.pem");
    let error = files.load(&provider()).expect_err("refused");
    assert!(matches!(error, LoadError::Unreadable { .. }), "{error:?}");
    assert!(error.to_string().contains("absent.pem"), "{error}");
}

#[test]
fn no_error_quotes_what_the_key_file_holds() {
    let issued = ecdsa();
    for key in [
        "-----BEGIN PRIVATE KEY-----\nSECRETSECRET!!\n-----END PRIVATE KEY-----\n",
        "-----BEGIN PRIVATE KEY SECRETSECRET\nAAAA\n",
        "-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n",
        &pem("PRIVATE KEY", b"SECRETSECRET"),
    ] {
        let error = load(&issued.chain, key).expect_err("refused");
        for shown in [error.to_string(), format!("{error:?}")] {
            assert!(!shown.contains("SECRET"), "{shown}");
        }
    }
}
