//! Properties of the proof readers on a fixed budget: no input makes them panic, no one-byte
//! change to a valid proof is accepted as something else, and `htu` spellings that RFC 9449
//! calls equal read as equal.

use super::test_keys::{b64, TestKey};
use super::*;
use proptest::prelude::*;
use serde_json::json;
use std::sync::LazyLock;
use std::time::Duration;

const NOW: i64 = 1_750_000_000;
const HTU: &str = "https://auth.example.com/session/refresh";
const CHALLENGE: &str = "cv_5Qz3Yx0m9aUqZr2kLw";

static ENDPOINT: LazyLock<ProofUri> =
    LazyLock::new(|| ProofUri::parse(HTU).unwrap_or_else(|error| panic!("{error}")));
static EC_KEY: LazyLock<TestKey> = LazyLock::new(TestKey::es256);

fn dpop_expectations() -> DpopExpectations<'static> {
    DpopExpectations {
        method: "POST",
        uri: &ENDPOINT,
        nonce: Some("n-0S6_WzA2Mj"),
        now: NOW,
        leeway: Duration::from_secs(60),
        max_age: Duration::from_secs(300),
    }
}

const DBSC_EXPECTATIONS: DbscExpectations<'static> = DbscExpectations {
    challenge: CHALLENGE,
    authorization: Some("code-7f3a"),
};

/// What a proof verified as, whichever kind it is.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Dpop(Result<DpopProof, DpopError>),
    Dbsc(Result<DbscProof, DbscError>),
}

impl Outcome {
    fn accepted(&self) -> bool {
        matches!(self, Self::Dpop(Ok(_)) | Self::Dbsc(Ok(_)))
    }
}

fn verify_as_dpop(proof: &str) -> Outcome {
    Outcome::Dpop(verify_dpop_proof(proof, &dpop_expectations()))
}

fn verify_as_dbsc(proof: &str) -> Outcome {
    Outcome::Dbsc(verify_dbsc_proof(proof, &DBSC_EXPECTATIONS))
}

type Verifier = fn(&str) -> Outcome;

/// A valid proof of each kind and algorithm, and how to verify it.
static VALID_PROOFS: LazyLock<Vec<(String, Verifier)>> = LazyLock::new(|| {
    let dpop_claims = json!({"jti": "e1j3V_bKic8-LAEB", "htm": "POST", "htu": HTU, "iat": NOW, "nonce": "n-0S6_WzA2Mj"});
    let dbsc_claims = json!({"jti": CHALLENGE, "authorization": "code-7f3a"});
    let mut proofs: Vec<(String, Verifier)> = Vec::new();
    for key in [&*EC_KEY, TestKey::rs256()] {
        proofs.push((
            key.sign(&key.header("dpop+jwt"), &dpop_claims),
            verify_as_dpop,
        ));
        proofs.push((
            key.sign(&key.header("dbsc+jwt"), &dbsc_claims),
            verify_as_dbsc,
        ));
    }
    proofs
});

/// Three base64url parts of arbitrary bytes, so the fuzzing reaches past the splitter.
fn three_parts() -> impl Strategy<Value = String> {
    let header = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        Just(EC_KEY.header("dpop+jwt").to_string().into_bytes()),
        "[{}\\[\\]\":,a-z0-9 ]{0,80}".prop_map(String::into_bytes),
    ];
    (
        header,
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec(any::<u8>(), 0..80),
    )
        .prop_map(|(header, payload, signature)| {
            format!("{}.{}.{}", b64(header), b64(payload), b64(signature))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_input_makes_the_proof_readers_panic(
        proof in prop_oneof![any::<String>(), "[A-Za-z0-9_.=+/-]{0,300}", three_parts()]
    ) {
        let _ = verify_as_dpop(&proof);
        let _ = verify_as_dbsc(&proof);
        let _ = jws::split_compact(&proof);
    }

    #[test]
    fn a_one_byte_change_to_a_valid_proof_is_never_accepted_as_something_else(
        which in 0..4usize,
        position in any::<prop::sample::Index>(),
        replacement in any::<u8>(),
    ) {
        let (proof, verify) = &VALID_PROOFS[which];
        let original = verify(proof);
        prop_assert!(original.accepted());
        let mut bytes = proof.clone().into_bytes();
        let position = position.index(bytes.len());
        prop_assume!(bytes[position] != replacement);
        bytes[position] = replacement;
        // Requests carry text; a change that breaks UTF-8 never reaches the reader.
        let Ok(mutated) = String::from_utf8(bytes) else { return Ok(()) };
        let outcome = verify(&mutated);
        // Canonical base64 leaves no byte that can change without changing what is signed or
        // the signature itself, so in practice every change is refused; the property that
        // matters is that none is ever accepted as a different key or different claims.
        prop_assert!(!outcome.accepted() || outcome == original, "{outcome:?}");
        prop_assert!(!outcome.accepted(), "a mutated proof verified: {outcome:?}");
    }

    #[test]
    fn query_and_fragment_never_change_the_htu(
        (uri, _) in uri_spelling(),
        query in "[!-~]{0,24}",
        fragment in "[!-~]{0,24}",
    ) {
        let base = ProofUri::parse(&uri);
        prop_assert!(base.is_ok(), "{uri}: {base:?}");
        for spelling in [
            format!("{uri}?{query}"),
            format!("{uri}#{fragment}"),
            format!("{uri}?{query}#{fragment}"),
        ] {
            prop_assert_eq!(&ProofUri::parse(&spelling), &base, "{}", spelling);
        }
    }

    #[test]
    fn the_case_of_scheme_and_host_never_changes_the_htu(
        (uri, authority_end) in uri_spelling(),
        upper in proptest::collection::vec(any::<bool>(), 64),
    ) {
        let recased: String = uri
            .chars()
            .enumerate()
            .map(|(index, c)| {
                if index < authority_end && upper[index % upper.len()] {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect();
        prop_assert_eq!(ProofUri::parse(&recased), ProofUri::parse(&uri));
    }

    #[test]
    fn a_read_htu_reads_back_as_itself(text in prop_oneof![any::<String>(), "[a-zA-Z:/.%0-9?#\\[\\]@]{0,40}", uri_spelling().prop_map(|(uri, _)| uri)]) {
        if let Ok(read) = ProofUri::parse(&text) {
            prop_assert_eq!(ProofUri::parse(&read.to_string()), Ok(read));
        }
    }
}

/// A readable URI, and where its scheme and host end (the part whose case does not matter).
fn uri_spelling() -> impl Strategy<Value = (String, usize)> {
    (
        prop_oneof![Just("http"), Just("https")],
        "[a-z0-9-]{1,12}(\\.[a-z0-9-]{1,8}){0,3}",
        proptest::option::of(any::<u16>()),
        "(/([a-zA-Z0-9._~!$&'()*+,;=:@-]|%[0-9a-fA-F]{2}){0,8}){0,4}",
    )
        .prop_map(|(scheme, host, port, path)| {
            let authority_end = scheme.len() + 3 + host.len();
            let port = port.map(|port| format!(":{port}")).unwrap_or_default();
            (format!("{scheme}://{host}{port}{path}"), authority_end)
        })
}

#[test]
fn changing_only_the_unused_bits_of_the_signatures_last_character_is_refused() {
    // 64 signature bytes leave 4 unused bits in the last base64url character; a lenient
    // decoder would read "AB...Q" and "AB...R" as the same bytes and accept both.
    let key = &*EC_KEY;
    let proof = key.sign(
        &key.header("dbsc+jwt"),
        &json!({"jti": CHALLENGE, "authorization": "code-7f3a"}),
    );
    let last = proof.chars().last().unwrap_or_default();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let value = alphabet.find(last).unwrap_or_default();
    let sibling = alphabet.chars().nth(value ^ 1).unwrap_or_default();
    let malleated = format!("{}{sibling}", &proof[..proof.len() - 1]);
    assert_eq!(
        verify_dbsc_proof(&malleated, &DBSC_EXPECTATIONS),
        Err(DbscError::Jws(JwsError::BadBase64(JwsPart::Signature)))
    );
}
