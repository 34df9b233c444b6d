use super::*;
use crate::device_proof::test_keys::TestKey;
use serde_json::{json, Value};

const NOW: i64 = 1_750_000_000;
const HTU: &str = "https://auth.example.com/session/refresh";
const LEEWAY: Duration = Duration::from_secs(60);
const MAX_AGE: Duration = Duration::from_secs(300);

fn endpoint() -> ProofUri {
    ProofUri::parse(HTU).unwrap_or_else(|error| panic!("{error}"))
}

fn expecting(uri: &ProofUri) -> DpopExpectations<'_> {
    DpopExpectations {
        method: "POST",
        uri,
        nonce: None,
        now: NOW,
        leeway: LEEWAY,
        max_age: MAX_AGE,
    }
}

fn claims() -> Value {
    json!({"jti": "e1j3V_bKic8-LAEB", "htm": "POST", "htu": HTU, "iat": NOW})
}

fn proof_with(key: &TestKey, change: impl FnOnce(&mut Value)) -> String {
    let mut claims = claims();
    change(&mut claims);
    key.sign(&key.header(DPOP_TYPE), &claims)
}

fn verdict(key: &TestKey, change: impl FnOnce(&mut Value)) -> Result<DpopProof, DpopError> {
    let uri = endpoint();
    verify_dpop_proof(&proof_with(key, change), &expecting(&uri))
}

fn thumbprint_by_jsonwebtoken(jwk: Value) -> String {
    let jwk: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(jwk).unwrap_or_else(|error| panic!("{error}"));
    jwk.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
}

#[test]
fn a_valid_es256_proof_yields_the_keys_thumbprint_its_jti_and_iat() {
    let key = TestKey::es256();
    let proof = verdict(&key, |_| {}).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        proof.thumbprint.as_str(),
        thumbprint_by_jsonwebtoken(key.public_jwk())
    );
    assert_eq!(proof.jti, "e1j3V_bKic8-LAEB");
    assert_eq!(proof.iat, NOW);
}

#[test]
fn a_valid_rs256_proof_yields_the_keys_thumbprint() {
    let key = TestKey::rs256();
    let proof = verdict(key, |_| {}).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        proof.thumbprint.as_str(),
        thumbprint_by_jsonwebtoken(key.public_jwk())
    );
}

#[test]
fn members_webcrypto_adds_to_an_exported_jwk_are_ignored() {
    let key = TestKey::es256();
    let mut header = key.header(DPOP_TYPE);
    header["jwk"]["key_ops"] = json!(["verify"]);
    header["jwk"]["ext"] = json!(true);
    header["jwk"]["alg"] = json!("ES256");
    let uri = endpoint();
    assert!(verify_dpop_proof(&key.sign(&header, &claims()), &expecting(&uri)).is_ok());
}

#[test]
fn a_proof_for_another_method_is_refused() {
    let key = TestKey::es256();
    for method in ["GET", "post", "POST ", ""] {
        assert_eq!(
            verdict(&key, |claims| claims["htm"] = json!(method)),
            Err(DpopError::MethodMismatch),
            "{method:?}"
        );
    }
}

#[test]
fn a_proof_for_another_uri_is_refused() {
    let key = TestKey::es256();
    for htu in [
        "https://auth.example.com/session/logout",
        "http://auth.example.com/session/refresh",
        "https://auth.example.com:8443/session/refresh",
        "https://evil.example.com/session/refresh",
        "https://auth.example.com/session/refresh/",
    ] {
        assert_eq!(
            verdict(&key, |claims| claims["htu"] = json!(htu)),
            Err(DpopError::UriMismatch),
            "{htu}"
        );
    }
}

#[test]
fn the_htu_is_compared_without_query_fragment_case_or_default_port() {
    let key = TestKey::es256();
    for htu in [
        "https://auth.example.com/session/refresh?token=x",
        "https://auth.example.com/session/refresh#top",
        "HTTPS://AUTH.example.com/session/refresh",
        "https://auth.example.com:443/session/refresh",
    ] {
        assert!(
            verdict(&key, |claims| claims["htu"] = json!(htu)).is_ok(),
            "{htu}"
        );
    }
}

#[test]
fn an_htu_that_is_no_uri_is_refused() {
    let key = TestKey::es256();
    assert_eq!(
        verdict(&key, |claims| claims["htu"] = json!("/session/refresh")),
        Err(DpopError::HtuUnreadable(ProofUriError::Malformed))
    );
}

#[test]
fn iat_is_accepted_from_max_age_plus_leeway_ago_to_leeway_ahead() {
    let key = TestKey::es256();
    let table = [
        (NOW, Ok(())),
        (NOW + 60, Ok(())),
        (NOW + 61, Err(DpopError::IssuedInFuture)),
        (NOW - 360, Ok(())),
        (NOW - 361, Err(DpopError::TooOld)),
        (i64::MIN, Err(DpopError::TooOld)),
        (i64::MAX, Err(DpopError::IssuedInFuture)),
        (0, Err(DpopError::TooOld)),
    ];
    for (iat, expected) in table {
        assert_eq!(
            verdict(&key, |claims| claims["iat"] = json!(iat)).map(|_| ()),
            expected,
            "iat {iat}"
        );
    }
}

#[test]
fn an_iat_that_is_not_an_integer_is_refused() {
    let key = TestKey::es256();
    for iat in [json!(1_750_000_000.5), json!("1750000000"), json!(null)] {
        let expected = if iat.is_null() {
            Err(DpopError::MissingClaim("iat"))
        } else {
            Err(DpopError::BadClaims)
        };
        assert_eq!(
            verdict(&key, |claims| claims["iat"] = iat.clone()).map(|_| ()),
            expected,
            "{iat}"
        );
    }
}

#[test]
fn each_required_claim_must_be_there() {
    let key = TestKey::es256();
    for claim in ["jti", "htm", "htu", "iat"] {
        let removed = verdict(&key, |claims| {
            claims.as_object_mut().map(|claims| claims.remove(claim));
        });
        assert_eq!(removed, Err(DpopError::MissingClaim(claim)), "{claim}");
    }
    assert_eq!(
        verdict(&key, |claims| claims["jti"] = json!("")),
        Err(DpopError::MissingClaim("jti"))
    );
}

#[test]
fn a_jti_is_bounded_in_length() {
    let key = TestKey::es256();
    let longest = "j".repeat(MAX_JTI_BYTES);
    assert!(verdict(&key, |claims| claims["jti"] = json!(longest)).is_ok());
    let too_long = "j".repeat(MAX_JTI_BYTES + 1);
    assert_eq!(
        verdict(&key, |claims| claims["jti"] = json!(too_long)),
        Err(DpopError::JtiTooLong)
    );
}

#[test]
fn a_required_nonce_must_be_the_one_the_server_gave() {
    let key = TestKey::es256();
    let uri = endpoint();
    let expected = DpopExpectations {
        nonce: Some("eyJ7S_zG.eyJH0-Z.HX4w-7v"),
        ..expecting(&uri)
    };
    let with_nonce = |nonce: Option<&str>| {
        let proof = proof_with(&key, |claims| {
            if let Some(nonce) = nonce {
                claims["nonce"] = json!(nonce);
            }
        });
        verify_dpop_proof(&proof, &expected).map(|_| ())
    };
    assert_eq!(with_nonce(Some("eyJ7S_zG.eyJH0-Z.HX4w-7v")), Ok(()));
    assert_eq!(with_nonce(None), Err(DpopError::NonceMissing));
    assert_eq!(
        with_nonce(Some("eyJ7S_zG.eyJH0-Z.HX4w-7w")),
        Err(DpopError::NonceMismatch)
    );
    assert_eq!(with_nonce(Some("")), Err(DpopError::NonceMismatch));
}

#[test]
fn a_nonce_the_server_did_not_ask_for_is_ignored() {
    let key = TestKey::es256();
    assert!(verdict(&key, |claims| claims["nonce"] = json!("stale")).is_ok());
}

#[test]
fn a_claim_written_twice_makes_the_claims_unreadable() {
    let key = TestKey::es256();
    let header = key.header(DPOP_TYPE).to_string();
    let uri = endpoint();
    let claims = format!(
        r#"{{"jti":"a","htm":"POST","htu":"https://evil.example.com/","htu":"{HTU}","iat":{NOW}}}"#
    );
    assert_eq!(
        verify_dpop_proof(&key.sign_raw(&header, &claims), &expecting(&uri)),
        Err(DpopError::BadClaims)
    );
}

#[test]
fn a_dbsc_proof_is_not_a_dpop_proof() {
    let key = TestKey::es256();
    let uri = endpoint();
    let proof = key.sign(&key.header("dbsc+jwt"), &claims());
    assert_eq!(
        verify_dpop_proof(&proof, &expecting(&uri)),
        Err(DpopError::Jws(JwsError::WrongType(DPOP_TYPE)))
    );
}

#[test]
fn a_jti_must_be_remembered_until_the_proof_would_be_too_old() {
    let key = TestKey::es256();
    let proof = verdict(&key, |_| {}).unwrap_or_else(|error| panic!("{error}"));
    let until = proof.remember_until(MAX_AGE, LEEWAY);
    assert_eq!(until, NOW + 360);
    let uri = endpoint();
    let later = |now| DpopExpectations {
        now,
        ..expecting(&uri)
    };
    let replayed = proof_with(&key, |_| {});
    assert!(verify_dpop_proof(&replayed, &later(until)).is_ok());
    assert_eq!(
        verify_dpop_proof(&replayed, &later(until + 1)),
        Err(DpopError::TooOld)
    );
}
