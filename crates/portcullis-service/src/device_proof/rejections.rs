//! The rules both proof kinds share, each shown refusing a proof of either kind.

use super::jwk::KeyError;
use super::test_keys::{b64, TestKey};
use super::*;
use serde_json::{json, Value};
use std::time::Duration;

const NOW: i64 = 1_750_000_000;
const HTU: &str = "https://auth.example.com/session/refresh";
const CHALLENGE: &str = "cv_5Qz3Yx0m9aUqZr2kLw";

#[derive(Debug, Clone, Copy)]
enum Kind {
    Dpop,
    Dbsc,
}

impl Kind {
    fn typ(self) -> &'static str {
        match self {
            Self::Dpop => dpop::DPOP_TYPE,
            Self::Dbsc => dbsc::DBSC_TYPE,
        }
    }

    fn claims(self) -> Value {
        match self {
            Self::Dpop => json!({"jti": "e1j3V_bKic8-LAEB", "htm": "POST", "htu": HTU, "iat": NOW}),
            Self::Dbsc => json!({"jti": CHALLENGE}),
        }
    }

    /// The thumbprint, or the shared rule that refused the proof (`None` for a kind-specific
    /// refusal, which no case here should reach).
    fn verify(self, proof: &str) -> Result<JwkThumbprint, Option<JwsError>> {
        match self {
            Self::Dpop => {
                let uri = ProofUri::parse(HTU).map_err(|_| None)?;
                let expected = DpopExpectations {
                    method: "POST",
                    uri: &uri,
                    nonce: None,
                    now: NOW,
                    leeway: Duration::from_secs(60),
                    max_age: Duration::from_secs(300),
                };
                verify_dpop_proof(proof, &expected)
                    .map(|proof| proof.thumbprint)
                    .map_err(|error| match error {
                        DpopError::Jws(error) => Some(error),
                        _ => None,
                    })
            }
            Self::Dbsc => {
                let expected = DbscExpectations {
                    challenge: CHALLENGE,
                    authorization: None,
                };
                verify_dbsc_proof(proof, &expected)
                    .map(|proof| proof.thumbprint)
                    .map_err(|error| match error {
                        DbscError::Jws(error) => Some(error),
                        _ => None,
                    })
            }
        }
    }
}

const KINDS: [Kind; 2] = [Kind::Dpop, Kind::Dbsc];

/// A proof of `kind` signed by `key` whose header `change` has edited.
fn with_header(key: &TestKey, kind: Kind, change: impl FnOnce(&mut Value)) -> String {
    let mut header = key.header(kind.typ());
    change(&mut header);
    key.sign(&header, &kind.claims())
}

fn assert_refused(kind: Kind, proof: &str, expected: JwsError) {
    assert_eq!(kind.verify(proof), Err(Some(expected)), "{kind:?}");
}

#[test]
fn valid_proofs_of_both_kinds_and_algorithms_are_accepted() {
    for kind in KINDS {
        for key in [&TestKey::es256(), TestKey::rs256()] {
            let proof = key.sign(&key.header(kind.typ()), &kind.claims());
            assert!(kind.verify(&proof).is_ok(), "{kind:?} {}", key.alg());
        }
    }
}

#[test]
fn the_typ_is_compared_ignoring_ascii_case() {
    let key = TestKey::es256();
    for kind in KINDS {
        let proof = with_header(&key, kind, |header| {
            header["typ"] = json!(kind.typ().to_ascii_uppercase())
        });
        assert!(kind.verify(&proof).is_ok(), "{kind:?}");
    }
}

#[test]
fn a_proof_of_another_type_is_refused() {
    let key = TestKey::es256();
    for kind in KINDS {
        for typ in [json!("JWT"), json!("at+jwt"), json!(""), json!(null)] {
            let proof = with_header(&key, kind, |header| header["typ"] = typ.clone());
            assert_refused(kind, &proof, JwsError::WrongType(kind.typ()));
        }
        let untyped = with_header(&key, kind, |header| {
            header.as_object_mut().map(|header| header.remove("typ"));
        });
        assert_refused(kind, &untyped, JwsError::WrongType(kind.typ()));
    }
}

#[test]
fn alg_none_and_hmac_are_refused() {
    let key = TestKey::es256();
    for kind in KINDS {
        for alg in ["none", "HS256", "es256", "PS256", "EdDSA"] {
            let proof = with_header(&key, kind, |header| header["alg"] = json!(alg));
            assert_refused(kind, &proof, JwsError::AlgorithmNotAllowed);
        }
        // The classic HMAC confusion: an `oct` key, its secret known to the attacker.
        let oct = json!({"kty": "oct", "k": b64(b"secret")});
        let proof = with_header(&key, kind, |header| {
            header["alg"] = json!("HS256");
            header["jwk"] = oct.clone();
        });
        assert_refused(kind, &proof, JwsError::AlgorithmNotAllowed);
        // alg none as it is usually sent: no signature at all.
        let header = json!({"typ": kind.typ(), "alg": "none", "jwk": key.public_jwk()});
        let unsigned = format!(
            "{}.{}.",
            b64(header.to_string()),
            b64(kind.claims().to_string())
        );
        assert_refused(kind, &unsigned, JwsError::NotCompact);
    }
}

#[test]
fn a_symmetric_or_private_jwk_is_refused() {
    let key = TestKey::es256();
    for kind in KINDS {
        let oct = with_header(&key, kind, |header| {
            header["jwk"] = json!({"kty": "oct", "k": b64(b"secret")})
        });
        assert_refused(kind, &oct, JwsError::Key(KeyError::Symmetric));
        let with_k = with_header(&key, kind, |header| header["jwk"]["k"] = json!("AA"));
        assert_refused(kind, &with_k, JwsError::Key(KeyError::Symmetric));
        for member in ["d", "p", "q", "dp", "dq", "qi", "oth"] {
            for value in [json!("AQAB"), json!(null), json!([])] {
                let proof = with_header(&key, kind, |header| header["jwk"][member] = value.clone());
                assert_refused(kind, &proof, JwsError::Key(KeyError::PrivateMaterial));
            }
        }
    }
}

#[test]
fn a_key_that_does_not_fit_its_algorithm_is_refused() {
    let ec = TestKey::es256();
    let rsa = TestKey::rs256();
    for kind in KINDS {
        let proof = with_header(&ec, kind, |header| header["jwk"] = rsa.public_jwk());
        assert_refused(kind, &proof, JwsError::Key(KeyError::DoesNotFitAlgorithm));
        let proof = with_header(rsa, kind, |header| header["jwk"] = ec.public_jwk());
        assert_refused(kind, &proof, JwsError::Key(KeyError::DoesNotFitAlgorithm));
        let okp = json!({"kty": "OKP", "crv": "Ed25519", "x": b64([7; 32])});
        let proof = with_header(&ec, kind, |header| header["jwk"] = okp.clone());
        assert_refused(kind, &proof, JwsError::Key(KeyError::UnsupportedType));
        let missing = with_header(&ec, kind, |header| {
            header.as_object_mut().map(|header| header.remove("jwk"));
        });
        assert_refused(kind, &missing, JwsError::Key(KeyError::Missing));
    }
}

#[test]
fn an_ec_key_must_be_a_valid_p256_point() {
    let key = TestKey::es256();
    for kind in KINDS {
        for crv in [json!("P-384"), json!("p-256"), json!(null)] {
            let proof = with_header(&key, kind, |header| header["jwk"]["crv"] = crv.clone());
            assert_refused(kind, &proof, JwsError::Key(KeyError::WrongCurve));
        }
        for x in [
            b64([1; 31]),
            b64([1; 33]),
            format!("{}=", b64([1; 32])),
            "!".into(),
        ] {
            let proof = with_header(&key, kind, |header| header["jwk"]["x"] = json!(x));
            assert_refused(kind, &proof, JwsError::Key(KeyError::BadEncoding));
        }
        let off_curve = with_header(&key, kind, |header| {
            header["jwk"]["y"] = json!(b64([1; 32]))
        });
        assert_refused(kind, &off_curve, JwsError::Key(KeyError::Invalid));
    }
}

#[test]
fn an_rsa_modulus_must_be_2048_to_4096_bits_without_a_leading_zero() {
    let key = TestKey::rs256();
    let modulus_of = |bytes: usize| {
        let mut modulus = vec![0xc5; bytes];
        modulus[bytes - 1] |= 1;
        b64(modulus)
    };
    for kind in KINDS {
        for modulus in [
            modulus_of(128),
            modulus_of(255),
            modulus_of(513),
            modulus_of(1024),
        ] {
            let proof = with_header(key, kind, |header| header["jwk"]["n"] = json!(modulus));
            assert_refused(kind, &proof, JwsError::Key(KeyError::RsaModulusSize));
        }
        let n = key.public_jwk()["n"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_default();
        let mut padded = vec![0];
        padded.extend(
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, n)
                .unwrap_or_default(),
        );
        let proof = with_header(key, kind, |header| header["jwk"]["n"] = json!(b64(&padded)));
        assert_refused(kind, &proof, JwsError::Key(KeyError::BadEncoding));
        let proof = with_header(key, kind, |header| {
            header["jwk"]["e"] = json!(b64([0, 1, 0, 1]))
        });
        assert_refused(kind, &proof, JwsError::Key(KeyError::BadEncoding));
    }
}

#[test]
fn a_bad_signature_is_refused() {
    for kind in KINDS {
        for key in [&TestKey::es256(), TestKey::rs256()] {
            let proof = key.sign(&key.header(kind.typ()), &kind.claims());
            let (signing_input, signature) = proof.rsplit_once('.').unwrap_or_default();
            let mut signature = base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                signature,
            )
            .unwrap_or_default();
            signature[10] ^= 1;
            let tampered = format!("{signing_input}.{}", b64(&signature));
            assert_refused(kind, &tampered, JwsError::BadSignature);
        }
    }
}

#[test]
fn a_proof_signed_by_another_key_than_the_one_it_embeds_is_refused() {
    let embedded = TestKey::es256();
    let signer = TestKey::es256();
    for kind in KINDS {
        let proof = signer.sign(&embedded.header(kind.typ()), &kind.claims());
        assert_refused(kind, &proof, JwsError::BadSignature);
        let proof =
            TestKey::other_rs256().sign(&TestKey::rs256().header(kind.typ()), &kind.claims());
        assert_refused(kind, &proof, JwsError::BadSignature);
    }
}

#[test]
fn an_es256_signature_must_be_raw_r_and_s() {
    // A DER-wrapped signature of the right key and bytes (what a careless client sends).
    let key = TestKey::es256();
    for kind in KINDS {
        let proof = key.sign(&key.header(kind.typ()), &kind.claims());
        let (signing_input, raw) = proof.rsplit_once('.').unwrap_or_default();
        let raw = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw)
            .unwrap_or_default();
        let mut der = vec![0x30, 0x44, 0x02, 0x20];
        der.extend_from_slice(&raw[..32]);
        der.extend_from_slice(&[0x02, 0x20]);
        der.extend_from_slice(&raw[32..]);
        assert_refused(
            kind,
            &format!("{signing_input}.{}", b64(&der)),
            JwsError::BadSignature,
        );
    }
}

#[test]
fn an_oversize_proof_is_refused() {
    let key = TestKey::es256();
    for kind in KINDS {
        let proof = with_header(&key, kind, |header| {
            header["pad"] = json!("p".repeat(MAX_PROOF_BYTES))
        });
        assert_refused(kind, &proof, JwsError::TooLarge);
    }
}

#[test]
fn a_critical_header_is_refused() {
    let key = TestKey::es256();
    for kind in KINDS {
        for crit in [json!(["exp"]), json!([]), json!(null)] {
            let proof = with_header(&key, kind, |header| header["crit"] = crit.clone());
            assert_refused(kind, &proof, JwsError::CriticalHeader);
        }
    }
}

#[test]
fn a_header_member_written_twice_makes_the_header_unreadable() {
    let key = TestKey::es256();
    let jwk = key.public_jwk();
    for kind in KINDS {
        let claims = kind.claims().to_string();
        let typ = kind.typ();
        let twice_alg = format!(r#"{{"typ":"{typ}","alg":"HS256","alg":"ES256","jwk":{jwk}}}"#);
        let twice_x = format!(
            r#"{{"typ":"{typ}","alg":"ES256","jwk":{{"kty":"EC","crv":"P-256","x":"AA","x":{},"y":{}}}}}"#,
            jwk["x"], jwk["y"]
        );
        for header in [twice_alg, twice_x] {
            assert_refused(kind, &key.sign_raw(&header, &claims), JwsError::BadHeader);
        }
    }
}

#[test]
fn what_is_not_one_base64url_jws_is_refused() {
    let key = TestKey::es256();
    for kind in KINDS {
        let proof = key.sign(&key.header(kind.typ()), &kind.claims());
        let parts: Vec<&str> = proof.split('.').collect();
        assert_refused(kind, &format!("{proof},{proof}"), JwsError::NotCompact);
        assert_refused(kind, &format!("{proof}.{}", parts[2]), JwsError::NotCompact);
        assert_refused(
            kind,
            &format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
            JwsError::BadBase64(JwsPart::Header),
        );
        assert_refused(
            kind,
            &format!("{}.{}+.{}", parts[0], parts[1], parts[2]),
            JwsError::BadBase64(JwsPart::Payload),
        );
        assert_refused(
            kind,
            &format!("{}.{}.{}==", parts[0], parts[1], parts[2]),
            JwsError::BadBase64(JwsPart::Signature),
        );
        let not_an_object = format!("{}.{}.{}", b64("[1]"), parts[1], parts[2]);
        assert_refused(kind, &not_an_object, JwsError::BadHeader);
    }
}

#[test]
fn no_refusal_repeats_the_proof_or_its_key() {
    let key = TestKey::es256();
    let jwk = key.public_jwk();
    let x = jwk["x"].as_str().unwrap_or_default();
    for kind in KINDS {
        let proof = with_header(&key, kind, |header| header["jwk"]["d"] = json!("c2VjcmV0"));
        let shown = match kind {
            Kind::Dpop => DpopError::from(JwsError::Key(KeyError::PrivateMaterial)).to_string(),
            Kind::Dbsc => DbscError::from(JwsError::Key(KeyError::PrivateMaterial)).to_string(),
        };
        assert_refused(kind, &proof, JwsError::Key(KeyError::PrivateMaterial));
        assert!(!shown.contains(x) && !shown.contains("c2VjcmV0"), "{shown}");
    }
}
