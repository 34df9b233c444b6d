//! DPoP proofs (RFC 9449 §4.3): a proof is accepted when it is a signed `dpop+jwt` whose key
//! is a public one, for this request's method and URI, recent, carrying the nonce the server
//! asked for and a bounded `jti`.
//!
//! What the caller must still do, because it needs state:
//! - refuse a second use of a `jti` with the same key: remember `(thumbprint, jti)` until
//!   [`DpopProof::remember_until`], after which the proof is too old to be accepted anyway;
//! - when renewing a bound family, check [`DpopProof::thumbprint`] against the bound one with
//!   [`JwkThumbprint::matches`].
//!
//! `iat` must be a JSON integer: RFC 7519 allows a fraction, but no DPoP client sends one, and
//! an integer leaves no rounding to agree on.

use super::htu::{ProofUri, ProofUriError};
use super::jws::{verify_embedded_key_jws, JwsError};
use super::thumbprint::JwkThumbprint;
use serde::Deserialize;
use std::time::Duration;

/// The `typ` of a DPoP proof.
pub const DPOP_TYPE: &str = "dpop+jwt";
/// Longer `jti`s are refused: the caller stores them, and 96 random bits (RFC 9449 §11.1) fit
/// in far less.
pub const MAX_JTI_BYTES: usize = 256;

/// What the request a proof came with says the proof must be for.
#[derive(Debug, Clone, Copy)]
pub struct DpopExpectations<'a> {
    /// The request's HTTP method, compared exactly (methods are case-sensitive).
    pub method: &'a str,
    /// The URI the request was made to, as the server knows itself to be reached.
    pub uri: &'a ProofUri,
    /// The nonce the server last gave this client, when it requires one (RFC 9449 §8).
    pub nonce: Option<&'a str>,
    /// Now, in Unix seconds.
    pub now: i64,
    /// How far apart the client's clock and ours may be, either way.
    pub leeway: Duration,
    /// How long after its `iat` a proof is still accepted (plus `leeway`).
    pub max_age: Duration,
}

/// A proof that passed every check that needs no state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopProof {
    pub thumbprint: JwkThumbprint,
    pub jti: String,
    /// Unix seconds, as the client wrote it.
    pub iat: i64,
}

impl DpopProof {
    /// The last second at which this proof could still be accepted: `(thumbprint, jti)` must be
    /// remembered until then to refuse a replay.
    pub fn remember_until(&self, max_age: Duration, leeway: Duration) -> i64 {
        self.iat
            .saturating_add(seconds(max_age))
            .saturating_add(seconds(leeway))
    }
}

/// Why a DPoP proof was refused; every variant answers `invalid_dpop_proof`, except the nonce
/// ones, which answer `use_dpop_nonce` with a fresh nonce (RFC 9449 §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DpopError {
    #[error(transparent)]
    Jws(#[from] JwsError),
    #[error("the proof's claims are not a JSON object of the expected shape")]
    BadClaims,
    #[error("the proof has no {0} claim")]
    MissingClaim(&'static str),
    #[error("the proof's jti is longer than {MAX_JTI_BYTES} bytes")]
    JtiTooLong,
    #[error("the proof's htm is not the request's method")]
    MethodMismatch,
    #[error("the proof's htu cannot be read as a URI")]
    HtuUnreadable(#[source] ProofUriError),
    #[error("the proof's htu is not the request's URI")]
    UriMismatch,
    #[error("the proof was issued in the future")]
    IssuedInFuture,
    #[error("the proof is too old")]
    TooOld,
    #[error("the proof carries no nonce, and one is required")]
    NonceMissing,
    #[error("the proof's nonce is not the one the server gave")]
    NonceMismatch,
}

#[derive(Deserialize)]
struct DpopClaims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<i64>,
    nonce: Option<String>,
}

/// Checks a DPoP proof against the request it came with.
pub fn verify_dpop_proof(
    proof: &str,
    expected: &DpopExpectations<'_>,
) -> Result<DpopProof, DpopError> {
    let verified = verify_embedded_key_jws(proof, DPOP_TYPE)?;
    let claims: DpopClaims =
        serde_json::from_slice(&verified.payload).map_err(|_| DpopError::BadClaims)?;
    let jti = claims.jti.ok_or(DpopError::MissingClaim("jti"))?;
    if jti.is_empty() {
        return Err(DpopError::MissingClaim("jti"));
    }
    if jti.len() > MAX_JTI_BYTES {
        return Err(DpopError::JtiTooLong);
    }
    let htm = claims.htm.ok_or(DpopError::MissingClaim("htm"))?;
    if htm != expected.method {
        return Err(DpopError::MethodMismatch);
    }
    let htu = claims.htu.ok_or(DpopError::MissingClaim("htu"))?;
    if ProofUri::parse(&htu).map_err(DpopError::HtuUnreadable)? != *expected.uri {
        return Err(DpopError::UriMismatch);
    }
    let iat = claims.iat.ok_or(DpopError::MissingClaim("iat"))?;
    check_issued_at(iat, expected)?;
    if let Some(expected_nonce) = expected.nonce {
        let nonce = claims.nonce.ok_or(DpopError::NonceMissing)?;
        if aws_lc_rs::constant_time::verify_slices_are_equal(
            nonce.as_bytes(),
            expected_nonce.as_bytes(),
        )
        .is_err()
        {
            return Err(DpopError::NonceMismatch);
        }
    }
    Ok(DpopProof {
        thumbprint: verified.thumbprint,
        jti,
        iat,
    })
}

/// `iat` may be up to `leeway` ahead of `now`, and up to `max_age + leeway` behind it.
fn check_issued_at(iat: i64, expected: &DpopExpectations<'_>) -> Result<(), DpopError> {
    // i128: neither a hostile iat nor a huge configured window can overflow.
    let age = i128::from(expected.now) - i128::from(iat);
    let leeway = i128::from(seconds(expected.leeway));
    if age < -leeway {
        return Err(DpopError::IssuedInFuture);
    }
    if age > i128::from(seconds(expected.max_age)) + leeway {
        return Err(DpopError::TooOld);
    }
    Ok(())
}

fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
