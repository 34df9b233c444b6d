//! Authenticating a bearer token: signature and claims, then the three revocation checks.

use crate::access_token::TokenError;
use crate::error::{AuthError, AuthResult};
use crate::gateway::{Gateway, Principal};
use portcullis_core::revocation::check;
use portcullis_core::RevocationProbe;

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
}
