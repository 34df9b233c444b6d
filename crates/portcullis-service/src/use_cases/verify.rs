//! Authenticating a bearer token (signature and claims, then the three revocation checks), and
//! authorising a request against the route policy: the forward-auth decision. Each decision
//! about a token is counted here, where it is made (`portcullis_verify_total{outcome}`): a
//! request without a token counts only where a route needs one (as `bad_token`).

use crate::access_token::TokenError;
use crate::error::{AuthError, AuthResult};
use crate::gateway::{Gateway, Principal};
use portcullis_core::claims::TimeError;
use portcullis_core::revocation::{check, Revoked};
use portcullis_core::{RequestPath, RevocationProbe};
use portcullis_metrics::VerifyOutcome;

/// Who a request is allowed through as.
#[derive(Debug, Clone)]
pub enum Authorization {
    /// A public route with no valid token: passed on without identity.
    Anonymous,
    Identified(Principal),
}

impl Gateway {
    /// Verifies an access token and that it has not been revoked. Fails closed: when the
    /// revocation state cannot be read, the answer is `Unavailable`, never acceptance.
    pub async fn authenticate(&self, bearer: Option<&str>) -> AuthResult<Principal> {
        let principal = self.verify_token(bearer).await;
        self.count_verify(&principal);
        principal
    }

    async fn verify_token(&self, bearer: Option<&str>) -> AuthResult<Principal> {
        let token = bearer.ok_or(AuthError::InvalidToken(TokenError::Missing))?;
        let arrived = tokio::time::Instant::now();
        let now = Self::now();
        let verified = match self.access.verify(token, now) {
            // Perhaps signed with a key another replica has just made: reread the keys once.
            Err(TokenError::UnknownKey) => {
                self.reload_keys_after(arrived).await?;
                self.access.verify(token, Self::now())?
            }
            verified => verified?,
        };
        let claims = verified.claims;
        let probe = RevocationProbe {
            user: claims.sub,
            session: claims.sid,
            jti: claims.jti,
            kid: verified.key_id,
        };
        let state = self.revocations.state(&probe, now).await?;
        check(claims.ver, state).map_err(TokenError::from)?;
        Ok(Principal {
            claims,
            token: token.to_owned(),
        })
    }

    /// Decides whether a request for `path` may pass, and as whom. `methods` are every method
    /// the application may read the request as (its own, and any method-override spelling):
    /// each must pass. `Forbidden` when the caller lacks every role a route needs.
    ///
    /// On a public route a token that fails for any reason, including an unanswerable
    /// revocation check, means anonymous access: the identity is never passed on unproven.
    pub async fn authorize(
        &self,
        bearer: Option<&str>,
        methods: &[impl AsRef<str>],
        path: &RequestPath,
    ) -> AuthResult<Authorization> {
        let policy = &self.settings.route_policy;
        let accesses = methods
            .iter()
            .map(|method| policy.access_for(method.as_ref(), path))
            .collect::<Result<Vec<_>, _>>()?;
        if !accesses.iter().any(|access| access.requires_identity()) {
            return Ok(match bearer {
                Some(_) => self
                    .authenticate(bearer)
                    .await
                    .map_or(Authorization::Anonymous, Authorization::Identified),
                None => Authorization::Anonymous,
            });
        }
        let permitted = self.verify_token(bearer).await.and_then(|principal| {
            match accesses
                .iter()
                .all(|access| access.permits(&principal.claims.roles))
            {
                true => Ok(principal),
                false => Err(AuthError::Forbidden),
            }
        });
        self.count_verify(&permitted);
        permitted.map(Authorization::Identified)
    }

    fn count_verify(&self, decision: &AuthResult<Principal>) {
        let outcome = match decision {
            Ok(_) => Some(VerifyOutcome::Ok),
            Err(error) => verify_outcome(error),
        };
        if let Some(outcome) = outcome {
            self.metrics.verify(outcome);
        }
    }
}

/// The outcome a refusal counts as; `None` for a refusal that judged no token.
fn verify_outcome(error: &AuthError) -> Option<VerifyOutcome> {
    Some(match error {
        AuthError::InvalidToken(TokenError::Time(TimeError::Expired)) => VerifyOutcome::Expired,
        AuthError::InvalidToken(TokenError::Revoked(revoked)) => match revoked {
            Revoked::Token => VerifyOutcome::RevokedJti,
            Revoked::Session => VerifyOutcome::RevokedSession,
            Revoked::StaleVersion => VerifyOutcome::RevokedVersion,
            // The metric's outcomes are fixed; a retired key's token is a token not to trust.
            Revoked::Key => VerifyOutcome::BadToken,
        },
        AuthError::InvalidToken(_) => VerifyOutcome::BadToken,
        AuthError::Forbidden => VerifyOutcome::Forbidden,
        AuthError::Unavailable(_) | AuthError::Internal(_) => VerifyOutcome::Unavailable,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::StoreError;

    #[test]
    fn each_refusal_counts_as_the_outcome_it_names() {
        let token = |error: TokenError| AuthError::InvalidToken(error);
        let cases = [
            (
                token(TimeError::Expired.into()),
                Some(VerifyOutcome::Expired),
            ),
            (
                token(TimeError::NotYetValid.into()),
                Some(VerifyOutcome::BadToken),
            ),
            (token(TokenError::Missing), Some(VerifyOutcome::BadToken)),
            (
                token(TokenError::BadSignature),
                Some(VerifyOutcome::BadToken),
            ),
            (
                token(Revoked::Token.into()),
                Some(VerifyOutcome::RevokedJti),
            ),
            (
                token(Revoked::Session.into()),
                Some(VerifyOutcome::RevokedSession),
            ),
            (
                token(Revoked::StaleVersion.into()),
                Some(VerifyOutcome::RevokedVersion),
            ),
            (token(Revoked::Key.into()), Some(VerifyOutcome::BadToken)),
            (AuthError::Forbidden, Some(VerifyOutcome::Forbidden)),
            (
                StoreError::Unavailable("redis timed out".into()).into(),
                Some(VerifyOutcome::Unavailable),
            ),
            (AuthError::NotFound, None),
        ];
        for (error, expected) in cases {
            assert_eq!(verify_outcome(&error), expected, "{error:?}");
        }
    }
}
