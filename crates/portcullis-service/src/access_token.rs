//! Access tokens: issuing them, and verifying everything about them except revocation.
//!
//! Verification is strict on purpose. The algorithm must be the one the `kid`'s key was made for
//! (so never `none`, never an HMAC algorithm against a public key), `typ` must be `at+jwt`, any
//! `crit` header is refused, and `jku`/`jwk`/`x5u`/`x5c` headers are refused rather than
//! followed. jsonwebtoken's own defaults are looser (60 s leeway, `nbf` unchecked, any `typ`,
//! `crit` ignored), so each of those is set or checked here explicitly.
//!
//! A bounded cache keyed by the whole token text remembers tokens whose signature and static
//! claims checked out; the time checks and the revocation checks still run on every request.

use crate::signing_keys::{Jwks, KeyRing};
use jsonwebtoken::{decode, decode_header, encode, Header, Validation};
use moka::sync::Cache;
use portcullis_core::claims::{check_times, TimeError};
use portcullis_core::AccessClaims;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The media type of a Portcullis access token (RFC 9068).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";
/// Tokens longer than this are refused before any parsing.
const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Why an access token was refused. Every variant answers 401 `invalid_token`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("a bearer token is required")]
    Missing,
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's algorithm is not accepted")]
    AlgorithmNotAllowed,
    #[error("the token's key id is unknown")]
    UnknownKey,
    #[error("the token is not an access token (typ must be at+jwt)")]
    WrongType,
    #[error("the token carries a header this gateway refuses")]
    ForbiddenHeader,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token was issued by someone else")]
    WrongIssuer,
    #[error("the token is meant for another audience")]
    WrongAudience,
    #[error(transparent)]
    Time(#[from] TimeError),
    #[error(transparent)]
    Revoked(#[from] portcullis_core::revocation::Revoked),
}

/// An access token could not be signed: the gateway's fault, never the client's.
#[derive(Debug, thiserror::Error)]
#[error("signing an access token failed")]
pub struct SigningError(#[from] jsonwebtoken::errors::Error);

/// Reads a token's header and refuses, before any key is looked up, what this gateway never
/// accepts: oversize tokens, unparsable headers, `crit`, key-carrying or key-pointing headers
/// (`jku`, `jwk`, `x5u`, `x5c`) and any `typ` but `at+jwt`.
pub fn checked_header(token: &str) -> Result<Header, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::Malformed);
    }
    let header = decode_header(token).map_err(|_| TokenError::Malformed)?;
    if header.crit.is_some()
        || header.jku.is_some()
        || header.jwk.is_some()
        || header.x5u.is_some()
        || header.x5c.is_some()
    {
        return Err(TokenError::ForbiddenHeader);
    }
    let typ_ok = header.typ.as_deref().is_some_and(|typ| {
        typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE)
            || typ.eq_ignore_ascii_case("application/at+jwt")
    });
    if !typ_ok {
        return Err(TokenError::WrongType);
    }
    Ok(header)
}

pub(crate) struct AccessTokens {
    ring: KeyRing,
    validations: HashMap<String, Validation>,
    issuer: String,
    audience: String,
    leeway_secs: i64,
    verified: Option<Cache<String, Arc<AccessClaims>>>,
}

impl AccessTokens {
    pub fn new(
        ring: KeyRing,
        issuer: &str,
        audience: &str,
        leeway: Duration,
        ttl: Duration,
        cache_capacity: u64,
    ) -> Self {
        let validations = ring
            .verifying
            .iter()
            .map(|(kid, key)| {
                let mut validation = Validation::new(key.algorithm);
                validation.leeway = leeway.as_secs();
                validation.validate_exp = true;
                validation.validate_nbf = true;
                validation.set_issuer(&[issuer]);
                validation.set_audience(&[audience]);
                validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
                (kid.clone(), validation)
            })
            .collect();
        let verified = (cache_capacity > 0).then(|| {
            Cache::builder()
                .max_capacity(cache_capacity)
                .time_to_live(ttl + leeway)
                .build()
        });
        Self {
            ring,
            validations,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            leeway_secs: i64::try_from(leeway.as_secs()).unwrap_or(i64::MAX),
            verified,
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    pub fn jwks(&self) -> &Jwks {
        &self.ring.jwks
    }

    pub fn sign(&self, claims: &AccessClaims) -> Result<String, SigningError> {
        let header = Header {
            typ: Some(ACCESS_TOKEN_TYPE.to_owned()),
            kid: Some(self.ring.kid.clone()),
            ..Header::new(self.ring.algorithm)
        };
        Ok(encode(&header, claims, &self.ring.signing_key)?)
    }

    #[cfg(feature = "test-support")]
    pub fn signing_kid(&self) -> &str {
        &self.ring.kid
    }

    #[cfg(feature = "test-support")]
    pub fn sign_message(&self, message: &[u8]) -> Result<String, SigningError> {
        Ok(jsonwebtoken::crypto::sign(
            message,
            &self.ring.signing_key,
            self.ring.algorithm,
        )?)
    }

    /// Checks signature, header, issuer, audience and times. `now` is Unix seconds.
    pub fn verify(&self, token: &str, now: i64) -> Result<Arc<AccessClaims>, TokenError> {
        let claims = match self.verified.as_ref().and_then(|cache| cache.get(token)) {
            Some(claims) => claims,
            None => {
                let claims = Arc::new(self.verify_uncached(token)?);
                if let Some(cache) = &self.verified {
                    cache.insert(token.to_owned(), Arc::clone(&claims));
                }
                claims
            }
        };
        check_times(&claims, now, self.leeway_secs)?;
        Ok(claims)
    }

    fn verify_uncached(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let header = checked_header(token)?;
        let kid = header.kid.as_deref().ok_or(TokenError::UnknownKey)?;
        let key = self.ring.verifying.get(kid).ok_or(TokenError::UnknownKey)?;
        let validation = self.validations.get(kid).ok_or(TokenError::UnknownKey)?;
        if header.alg != key.algorithm {
            return Err(TokenError::AlgorithmNotAllowed);
        }
        let data = decode::<AccessClaims>(token, &key.key, validation).map_err(|error| {
            use jsonwebtoken::errors::ErrorKind;
            match error.kind() {
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                ErrorKind::ExpiredSignature => TokenError::Time(TimeError::Expired),
                ErrorKind::ImmatureSignature => TokenError::Time(TimeError::NotYetValid),
                ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
                ErrorKind::InvalidAudience => TokenError::WrongAudience,
                ErrorKind::InvalidAlgorithm => TokenError::AlgorithmNotAllowed,
                _ => TokenError::Malformed,
            }
        })?;
        Ok(data.claims)
    }

    /// Reads a token's claims after checking only its signature and header, for logout, where
    /// an expired or revoked token must still be denylisted.
    pub fn verify_signature_only(&self, token: &str) -> Result<AccessClaims, TokenError> {
        if let Some(claims) = self.verified.as_ref().and_then(|cache| cache.get(token)) {
            return Ok(AccessClaims::clone(&claims));
        }
        let header = decode_header(token).map_err(|_| TokenError::Malformed)?;
        let kid = header.kid.as_deref().ok_or(TokenError::UnknownKey)?;
        let key = self.ring.verifying.get(kid).ok_or(TokenError::UnknownKey)?;
        let mut validation = Validation::new(key.algorithm);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.set_required_spec_claims::<&str>(&[]);
        decode::<AccessClaims>(token, &key.key, &validation)
            .map(|data| data.claims)
            .map_err(|_| TokenError::BadSignature)
    }
}
