//! Device-bound session proofs (issue 16): checking that a client holds the private key its
//! refresh family was bound to. Two formats arrive, both a compact JWS carrying its public key
//! as a JWK in the header: DPoP proofs (RFC 9449, [`dpop`]) and DBSC proofs (W3C
//! webappsec-dbsc as Chromium sends them, [`dbsc`]). They share the JWS reading and signature
//! check ([`jws`]), the key checks ([`jwk`]) and the RFC 7638 thumbprint ([`thumbprint`]); the
//! `htu` comparison has its own canonical form ([`htu`]).
//!
//! Pure rules: no I/O, no clock (callers pass `now`), no storage. Two checks stay with the
//! caller because they need state: a DPoP `jti` is used once ([`DpopProof`] says for how long it
//! must be remembered), and a renewal's thumbprint is the one the family was bound to
//! ([`JwkThumbprint::matches`]).
//!
//! This lives in portcullis-service, not portcullis-core, because a signature check needs
//! aws-lc-rs, which this crate already owns for the signing keys; the core stays free of crypto
//! dependencies. Signatures are checked with aws-lc-rs directly rather than through
//! jsonwebtoken: its `Header`/`Jwk` types accept symmetric `oct` keys, drop private members
//! without a word and take EC coordinates without checking the curve, so the header and key are
//! read into this module's own types and each of those is refused by name.
//!
//! Duplicate JSON members: serde_json keeps the last of two equal keys, which would let two
//! readers of one proof disagree. Every member this module reads is a named field of a derived
//! struct, and serde's derive refuses a named field seen twice, so a duplicate `alg`, `typ`,
//! `jwk`, `x`, `d`, `jti`, `htu`... makes the proof malformed. Duplicates of members nobody
//! reads are ignored: no decision depends on them.

pub mod dbsc;
pub mod dpop;
pub mod htu;
pub mod jwk;
pub mod jws;
pub mod thumbprint;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod rejections;
#[cfg(test)]
mod test_keys;

pub use dbsc::{verify_dbsc_proof, DbscError, DbscExpectations, DbscProof};
pub use dpop::{verify_dpop_proof, DpopError, DpopExpectations, DpopProof};
pub use htu::{ProofUri, ProofUriError};
pub use jwk::KeyError;
pub use jws::{JwsError, JwsPart, MAX_PROOF_BYTES};
pub use thumbprint::JwkThumbprint;
