//! Access tokens: issuing them, and verifying everything about them except revocation.
//!
//! Verification is strict on purpose. The algorithm must be the one the `kid`'s key was made for
//! (so never `none`, never an HMAC algorithm against a public key), `typ` must be `at+jwt`, any
//! `crit` header is refused, and `jku`/`jwk`/`x5u`/`x5c` headers are refused rather than
//! followed. jsonwebtoken's own defaults are looser (60 s leeway, `nbf` unchecked, any `typ`,
//! `crit` ignored), so each of those is set or checked here explicitly.
//!
//! A bounded cache keyed by the whole token text remembers tokens whose signature and static
//! claims checked out; the time checks, whether the signing key may still verify, and the
//! revocation checks still run on every request.

use crate::key_ring::KeyRing;
use crate::signing_keys::Jwks;
use arc_swap::ArcSwap;
use jsonwebtoken::{decode, decode_header, encode, Algorithm, Header, Validation};
use moka::sync::Cache;
use portcullis_core::claims::{check_times, TimeError};
use portcullis_core::AccessClaims;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

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
pub enum SigningError {
    #[error("signing an access token failed")]
    Jwt(#[from] jsonwebtoken::errors::Error),
    #[error("no signing key is active")]
    NoActiveKey,
}

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

/// A token whose signature and static claims checked out, and the key that signed it.
#[derive(Clone)]
pub(crate) struct VerifiedToken {
    pub claims: Arc<AccessClaims>,
    pub kid: String,
    /// The kid as the revocation checks know it.
    pub key_id: Uuid,
}

pub(crate) struct AccessTokens {
    /// Replaced whole when the keys are reloaded; read on every request without a lock.
    ring: ArcSwap<KeyRing>,
    validations: HashMap<Algorithm, Validation>,
    issuer: String,
    audience: String,
    leeway_secs: i64,
    verified: Option<Cache<String, VerifiedToken>>,
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
        let validations = [Algorithm::EdDSA, Algorithm::ES256]
            .into_iter()
            .map(|algorithm| {
                let mut validation = Validation::new(algorithm);
                validation.leeway = leeway.as_secs();
                validation.validate_exp = true;
                validation.validate_nbf = true;
                validation.set_issuer(&[issuer]);
                validation.set_audience(&[audience]);
                validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
                (algorithm, validation)
            })
            .collect();
        let verified = (cache_capacity > 0).then(|| {
            Cache::builder()
                .max_capacity(cache_capacity)
                .time_to_live(ttl + leeway)
                .build()
        });
        Self {
            ring: ArcSwap::from_pointee(ring),
            validations,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            leeway_secs: i64::try_from(leeway.as_secs()).unwrap_or(i64::MAX),
            verified,
        }
    }

    /// Puts a freshly read ring in place; requests already under way finish on the old one.
    pub fn replace_ring(&self, ring: KeyRing) {
        self.ring.store(Arc::new(ring));
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    pub fn jwks(&self, now: OffsetDateTime) -> Jwks {
        self.ring.load().jwks(now)
    }

    pub fn sign(&self, claims: &AccessClaims, now: OffsetDateTime) -> Result<String, SigningError> {
        let ring = self.ring.load();
        let signer = ring.signer(now).ok_or(SigningError::NoActiveKey)?;
        let header = Header {
            typ: Some(ACCESS_TOKEN_TYPE.to_owned()),
            kid: Some(signer.kid.clone()),
            ..Header::new(signer.algorithm)
        };
        Ok(encode(&header, claims, &signer.key)?)
    }

    #[cfg(feature = "test-support")]
    pub fn signing_kid(&self) -> String {
        let ring = self.ring.load();
        ring.signer(OffsetDateTime::now_utc())
            .map(|signer| signer.kid.clone())
            .unwrap_or_default()
    }

    #[cfg(feature = "test-support")]
    pub fn sign_message(&self, message: &[u8]) -> Result<String, SigningError> {
        let ring = self.ring.load();
        let signer = ring
            .signer(OffsetDateTime::now_utc())
            .ok_or(SigningError::NoActiveKey)?;
        Ok(jsonwebtoken::crypto::sign(
            message,
            &signer.key,
            signer.algorithm,
        )?)
    }

    /// Checks signature, header, issuer, audience and times, and that the signing key may
    /// verify at `now` (it is active or retiring in this replica's ring).
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<VerifiedToken, TokenError> {
        let ring = self.ring.load();
        let verified = match self.verified.as_ref().and_then(|cache| cache.get(token)) {
            Some(verified) => verified,
            None => {
                let verified = self.verify_uncached(&ring, token)?;
                if let Some(cache) = &self.verified {
                    cache.insert(token.to_owned(), verified.clone());
                }
                verified
            }
        };
        let key = ring
            .verifying(&verified.kid)
            .ok_or(TokenError::UnknownKey)?;
        if !key.accepts_at(now) {
            return Err(TokenError::UnknownKey);
        }
        check_times(&verified.claims, now.unix_timestamp(), self.leeway_secs)?;
        Ok(verified)
    }

    fn verify_uncached(&self, ring: &KeyRing, token: &str) -> Result<VerifiedToken, TokenError> {
        let header = checked_header(token)?;
        let kid = header.kid.as_deref().ok_or(TokenError::UnknownKey)?;
        let key = ring.verifying(kid).ok_or(TokenError::UnknownKey)?;
        let validation = self
            .validations
            .get(&key.algorithm)
            .ok_or(TokenError::AlgorithmNotAllowed)?;
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
        Ok(VerifiedToken {
            claims: Arc::new(data.claims),
            kid: key.kid.clone(),
            key_id: key.id,
        })
    }

    /// Reads a token's claims after checking only its signature and header, for logout, where
    /// an expired or revoked token must still be denylisted.
    pub fn verify_signature_only(&self, token: &str) -> Result<AccessClaims, TokenError> {
        if let Some(verified) = self.verified.as_ref().and_then(|cache| cache.get(token)) {
            return Ok(AccessClaims::clone(&verified.claims));
        }
        let header = decode_header(token).map_err(|_| TokenError::Malformed)?;
        let kid = header.kid.as_deref().ok_or(TokenError::UnknownKey)?;
        let ring = self.ring.load();
        let key = ring.verifying(kid).ok_or(TokenError::UnknownKey)?;
        let mut validation = Validation::new(key.algorithm);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.set_required_spec_claims::<&str>(&[]);
        decode::<AccessClaims>(token, &key.key, &validation)
            .map(|data| data.claims)
            .map_err(|_| TokenError::BadSignature)
    }
}
