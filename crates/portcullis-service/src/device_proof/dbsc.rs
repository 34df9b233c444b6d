//! DBSC proofs (W3C webappsec-dbsc, as Chromium sends them): a proof is accepted when it is a
//! signed `dbsc+jwt` whose key is a public one, answering the challenge the server issued
//! (its `jti`) and, at registration, echoing the `authorization` value the server sent.
//!
//! At registration the caller binds the session to [`DbscProof::thumbprint`]; at every refresh
//! it must check the new proof's thumbprint against the bound one with
//! [`JwkThumbprint::matches`]. Challenges are single use: issuing and consuming them is the
//! caller's.
//!
//! An `authorization` claim the server did not ask for is ignored: it carries nothing a refresh
//! decision depends on.

use super::jws::{verify_embedded_key_jws, JwsError};
use super::thumbprint::JwkThumbprint;
use aws_lc_rs::constant_time::verify_slices_are_equal;
use serde::Deserialize;

/// The `typ` of a DBSC proof.
pub const DBSC_TYPE: &str = "dbsc+jwt";

/// What the server issued that the proof must answer.
#[derive(Debug, Clone, Copy)]
pub struct DbscExpectations<'a> {
    /// The challenge the server issued for this registration or refresh.
    pub challenge: &'a str,
    /// The `authorization` value sent with the registration request, when there was one.
    pub authorization: Option<&'a str>,
}

/// A proof that passed every check that needs no state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbscProof {
    pub thumbprint: JwkThumbprint,
}

/// Why a DBSC proof was refused; every variant answers `device_binding_failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DbscError {
    #[error(transparent)]
    Jws(#[from] JwsError),
    #[error("the proof's claims are not a JSON object of the expected shape")]
    BadClaims,
    #[error("the proof answers no challenge (no jti)")]
    MissingChallenge,
    #[error("the proof answers another challenge")]
    ChallengeMismatch,
    #[error("the proof carries no authorization, and one is expected")]
    MissingAuthorization,
    #[error("the proof's authorization is not the one the server sent")]
    AuthorizationMismatch,
}

#[derive(Deserialize)]
struct DbscClaims {
    jti: Option<String>,
    authorization: Option<String>,
}

/// Checks a DBSC registration or refresh proof against what the server issued.
pub fn verify_dbsc_proof(
    proof: &str,
    expected: &DbscExpectations<'_>,
) -> Result<DbscProof, DbscError> {
    let verified = verify_embedded_key_jws(proof, DBSC_TYPE)?;
    let claims: DbscClaims =
        serde_json::from_slice(&verified.payload).map_err(|_| DbscError::BadClaims)?;
    let challenge = claims
        .jti
        .filter(|jti| !jti.is_empty())
        .ok_or(DbscError::MissingChallenge)?;
    if verify_slices_are_equal(challenge.as_bytes(), expected.challenge.as_bytes()).is_err() {
        return Err(DbscError::ChallengeMismatch);
    }
    if let Some(expected_authorization) = expected.authorization {
        let authorization = claims
            .authorization
            .ok_or(DbscError::MissingAuthorization)?;
        if verify_slices_are_equal(authorization.as_bytes(), expected_authorization.as_bytes())
            .is_err()
        {
            return Err(DbscError::AuthorizationMismatch);
        }
    }
    Ok(DbscProof {
        thumbprint: verified.thumbprint,
    })
}

#[cfg(test)]
mod tests;
