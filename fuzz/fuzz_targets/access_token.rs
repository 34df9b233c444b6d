//! The access-token header checks and the claims parser: never panic on any input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_core::AccessClaims;

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = std::str::from_utf8(data) {
        let _ = portcullis_service::checked_header(token);
    }
    // The claims as they arrive in a token's payload.
    let _ = serde_json::from_slice::<AccessClaims>(data);
});
