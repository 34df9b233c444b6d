//! Authenticating a bearer token (signature and claims, then the three revocation checks), and
//! authorising a request against the route policy: the forward-auth decision.

use crate::access_token::TokenError;
use crate::error::{AuthError, AuthResult};
use crate::gateway::{Gateway, Principal};
use portcullis_core::revocation::check;
use portcullis_core::{RequestPath, RevocationProbe};

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
        let token = bearer.ok_or(AuthError::InvalidToken(TokenError::Missing))?;
        let now = Self::now();
        let claims = self.access.verify(token, now.unix_timestamp())?;
        let probe = RevocationProbe {
            user: claims.sub,
            session: claims.sid,
            jti: claims.jti,
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
        let principal = self.authenticate(bearer).await?;
        if !accesses
            .iter()
            .all(|access| access.permits(&principal.claims.roles))
        {
            return Err(AuthError::Forbidden);
        }
        Ok(Authorization::Identified(principal))
    }
}
