//! Device-binding proofs (DPoP and DBSC) as a client sends them: never panic, whatever the
//! bytes; and an `htu` that reads reads back as itself, so one URI has one spelling.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_service::device_proof::{
    verify_dbsc_proof, verify_dpop_proof, DbscExpectations, DpopExpectations, ProofUri,
};
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(uri) = ProofUri::parse("https://auth.example.com/session/refresh") else {
        return;
    };
    let dpop = DpopExpectations {
        method: "POST",
        uri: &uri,
        nonce: Some("nonce"),
        now: 1_750_000_000,
        leeway: Duration::from_secs(60),
        max_age: Duration::from_secs(300),
    };
    let _ = verify_dpop_proof(text, &dpop);
    let dbsc = DbscExpectations {
        challenge: "challenge",
        authorization: Some("authorization"),
    };
    let _ = verify_dbsc_proof(text, &dbsc);
    if let Ok(read) = ProofUri::parse(text) {
        assert_eq!(ProofUri::parse(&read.to_string()), Ok(read));
    }
});
