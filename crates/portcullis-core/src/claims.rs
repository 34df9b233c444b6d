//! The access token's claims and the time rules applied to them on every request.

use crate::ids::{SessionId, UserId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Claims of a Portcullis access token (`typ: at+jwt`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    pub sub: UserId,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: Uuid,
    /// The refresh family this token was issued from.
    pub sid: SessionId,
    /// The user's token version when issued.
    pub ver: i64,
    pub roles: Vec<String>,
    pub email: String,
}

/// Why a token's times make it unacceptable now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued in the future")]
    IssuedInFuture,
}

/// Checks `exp`, `nbf` and `iat` against `now` (Unix seconds), allowing `leeway` seconds of skew.
/// Runs on every request, including for tokens whose signature was verified earlier and cached.
pub fn check_times(claims: &AccessClaims, now: i64, leeway: i64) -> Result<(), TimeError> {
    if now >= claims.exp.saturating_add(leeway) {
        return Err(TimeError::Expired);
    }
    if now.saturating_add(leeway) < claims.nbf {
        return Err(TimeError::NotYetValid);
    }
    if claims.iat > now.saturating_add(leeway) {
        return Err(TimeError::IssuedInFuture);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(iat: i64, nbf: i64, exp: i64) -> AccessClaims {
        AccessClaims {
            iss: "iss".into(),
            aud: "aud".into(),
            sub: UserId(Uuid::nil()),
            iat,
            nbf,
            exp,
            jti: Uuid::nil(),
            sid: SessionId(Uuid::nil()),
            ver: 0,
            roles: vec![],
            email: "a@b.c".into(),
        }
    }

    #[test]
    fn time_rules_apply_the_leeway_both_ways() {
        let now = 1_000;
        let cases = [
            ("valid", claims(990, 990, 1_900), Ok(())),
            (
                "expired beyond leeway",
                claims(0, 0, 990),
                Err(TimeError::Expired),
            ),
            ("expired inside leeway", claims(0, 0, 995), Ok(())),
            (
                "nbf in the future beyond leeway",
                claims(1_000, 1_011, 1_900),
                Err(TimeError::NotYetValid),
            ),
            ("nbf inside leeway", claims(1_000, 1_010, 1_900), Ok(())),
            (
                "iat in the future beyond leeway",
                claims(1_011, 1_000, 1_900),
                Err(TimeError::IssuedInFuture),
            ),
        ];
        for (name, claims, expected) in cases {
            assert_eq!(check_times(&claims, now, 10), expected, "{name}");
        }
    }
}
