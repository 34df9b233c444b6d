use super::*;
use crate::device_proof::test_keys::TestKey;
use serde_json::{json, Value};

const CHALLENGE: &str = "cv_5Qz3Yx0m9aUqZr2kLw";
const AUTHORIZATION: &str = "registration-code-7f3a";

fn registration() -> DbscExpectations<'static> {
    DbscExpectations {
        challenge: CHALLENGE,
        authorization: Some(AUTHORIZATION),
    }
}

fn refresh() -> DbscExpectations<'static> {
    DbscExpectations {
        challenge: CHALLENGE,
        authorization: None,
    }
}

fn proof(key: &TestKey, claims: Value) -> String {
    key.sign(&key.header(DBSC_TYPE), &claims)
}

#[test]
fn a_valid_es256_registration_proof_yields_the_keys_thumbprint() {
    let key = TestKey::es256();
    let registered = verify_dbsc_proof(
        &proof(
            &key,
            json!({"jti": CHALLENGE, "authorization": AUTHORIZATION}),
        ),
        &registration(),
    )
    .unwrap_or_else(|error| panic!("{error}"));
    let jwk: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(key.public_jwk()).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        registered.thumbprint.as_str(),
        jwk.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
    );
}

#[test]
fn a_refresh_proof_by_the_registered_key_matches_and_one_by_another_key_does_not() {
    let key = TestKey::rs256();
    let registered = verify_dbsc_proof(
        &proof(
            key,
            json!({"jti": CHALLENGE, "authorization": AUTHORIZATION}),
        ),
        &registration(),
    )
    .unwrap_or_else(|error| panic!("{error}"));
    let refreshed = verify_dbsc_proof(&proof(key, json!({"jti": CHALLENGE})), &refresh())
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(refreshed.thumbprint.matches(&registered.thumbprint));
    let other = verify_dbsc_proof(
        &proof(TestKey::other_rs256(), json!({"jti": CHALLENGE})),
        &refresh(),
    )
    .unwrap_or_else(|error| panic!("{error}"));
    assert!(!other.thumbprint.matches(&registered.thumbprint));
}

#[test]
fn a_proof_must_answer_the_challenge_the_server_issued() {
    let key = TestKey::es256();
    for (claims, expected) in [
        (
            json!({"jti": "cv_5Qz3Yx0m9aUqZr2kLx"}),
            DbscError::ChallengeMismatch,
        ),
        (
            json!({"jti": "cv_5Qz3Yx0m9aUqZr2kL"}),
            DbscError::ChallengeMismatch,
        ),
        (json!({"jti": ""}), DbscError::MissingChallenge),
        (json!({}), DbscError::MissingChallenge),
        (json!({"jti": 7}), DbscError::BadClaims),
    ] {
        assert_eq!(
            verify_dbsc_proof(&proof(&key, claims.clone()), &refresh()),
            Err(expected),
            "{claims}"
        );
    }
}

#[test]
fn a_registration_proof_must_echo_the_authorization_sent() {
    let key = TestKey::es256();
    for (claims, expected) in [
        (json!({"jti": CHALLENGE}), DbscError::MissingAuthorization),
        (
            json!({"jti": CHALLENGE, "authorization": "registration-code-7f3b"}),
            DbscError::AuthorizationMismatch,
        ),
        (
            json!({"jti": CHALLENGE, "authorization": ""}),
            DbscError::AuthorizationMismatch,
        ),
    ] {
        assert_eq!(
            verify_dbsc_proof(&proof(&key, claims.clone()), &registration()),
            Err(expected),
            "{claims}"
        );
    }
}

#[test]
fn an_authorization_nobody_asked_for_is_ignored() {
    let key = TestKey::es256();
    let claims = json!({"jti": CHALLENGE, "authorization": "anything"});
    assert!(verify_dbsc_proof(&proof(&key, claims), &refresh()).is_ok());
}

#[test]
fn a_challenge_written_twice_makes_the_claims_unreadable() {
    let key = TestKey::es256();
    let header = key.header(DBSC_TYPE).to_string();
    let claims = format!(r#"{{"jti":"other","jti":"{CHALLENGE}"}}"#);
    assert_eq!(
        verify_dbsc_proof(&key.sign_raw(&header, &claims), &refresh()),
        Err(DbscError::BadClaims)
    );
}

#[test]
fn a_dpop_proof_is_not_a_dbsc_proof() {
    let key = TestKey::es256();
    let proof = key.sign(&key.header("dpop+jwt"), &json!({"jti": CHALLENGE}));
    assert_eq!(
        verify_dbsc_proof(&proof, &refresh()),
        Err(DbscError::Jws(JwsError::WrongType(DBSC_TYPE)))
    );
}
