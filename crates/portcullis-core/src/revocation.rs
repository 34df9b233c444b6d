//! The three revocation checks a pure JWT cannot do, and the changes that feed them.
//!
//! An access token is rejected when its `jti` is denylisted, when its `sid` (family) is
//! denylisted, or when its `ver` is not the user's current token version; and, so that an
//! operator can cut off every token a leaked signing key made, when its `kid` was retired.
//! Backends answer a [`RevocationProbe`] with a [`RevocationState`]; [`check`] decides.

use crate::ids::{SessionId, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

/// The keys a token is checked under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RevocationProbe {
    pub user: UserId,
    pub session: SessionId,
    pub jti: Uuid,
    /// The signing key's id (Portcullis makes every kid from a UUID).
    pub kid: Uuid,
}

/// The token version every cache holds for a deleted account while its access tokens could
/// still be valid. Versions only rise in a cache, so this one wins over any earlier value, and no
/// token carries it: every token of the account is refused as stale.
pub const DELETED_USER_VERSION: i64 = i64::MAX;

/// What the revocation store knows about a probe.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RevocationState {
    pub token_version: i64,
    pub session_revoked: bool,
    pub jti_denied: bool,
    pub key_retired: bool,
}

impl RevocationState {
    /// What two true accounts of the same probe together say: each may lack a fact the other
    /// holds, and facts only tighten (versions rise, denials are never lifted early).
    pub fn tightest(self, other: RevocationState) -> RevocationState {
        RevocationState {
            token_version: self.token_version.max(other.token_version),
            session_revoked: self.session_revoked || other.session_revoked,
            jti_denied: self.jti_denied || other.jti_denied,
            key_retired: self.key_retired || other.key_retired,
        }
    }
}

/// Why a token with a valid signature is nevertheless refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Revoked {
    #[error("the token has been revoked")]
    Token,
    #[error("the session has been revoked")]
    Session,
    #[error("the token was issued before the user's tokens were revoked")]
    StaleVersion,
    #[error("the key that signed the token has been retired")]
    Key,
}

/// Applies the checks; a token version that differs either way is refused.
pub fn check(token_version_claim: i64, state: RevocationState) -> Result<(), Revoked> {
    if state.key_retired {
        Err(Revoked::Key)
    } else if state.jti_denied {
        Err(Revoked::Token)
    } else if state.session_revoked {
        Err(Revoked::Session)
    } else if token_version_claim != state.token_version {
        Err(Revoked::StaleVersion)
    } else {
        Ok(())
    }
}

/// One durable revocation fact, as pushed to a revocation cache. Denylist entries carry the
/// moment after which no access token they could match is still valid, so caches can drop them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevocationChange {
    TokenVersion {
        user: UserId,
        version: i64,
    },
    SessionDenied {
        session: SessionId,
        until: OffsetDateTime,
    },
    JtiDenied {
        jti: Uuid,
        until: OffsetDateTime,
    },
    /// Every token signed with key `kid` is refused.
    KeyRetired {
        kid: Uuid,
        until: OffsetDateTime,
    },
}

/// Every revocation fact still in force, read from the durable store to fill a cache.
pub type RevocationSnapshot = Vec<RevocationChange>;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn state() -> impl Strategy<Value = RevocationState> {
        (0i64..4, any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
            |(token_version, session_revoked, jti_denied, key_retired)| RevocationState {
                token_version,
                session_revoked,
                jti_denied,
                key_retired,
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Combining two accounts never accepts a token either of them refuses on a fact the
        /// other lacks: a token refused for a denial, or for being older than the newer
        /// version, stays refused.
        #[test]
        fn the_tightest_account_refuses_what_either_refuses_for_a_denial_or_an_older_version(
            a in state(), b in state(), claim in 0i64..4,
        ) {
            let both = a.tightest(b);
            for one in [a, b] {
                let denied = one.session_revoked || one.jti_denied || one.key_retired;
                if denied || claim < one.token_version {
                    prop_assert!(check(claim, both).is_err());
                }
            }
            prop_assert_eq!(both, b.tightest(a));
        }
    }

    #[test]
    fn each_check_refuses_on_its_own() {
        let clean = RevocationState {
            token_version: 3,
            ..Default::default()
        };
        assert_eq!(check(3, clean), Ok(()));
        assert_eq!(check(2, clean), Err(Revoked::StaleVersion));
        assert_eq!(check(4, clean), Err(Revoked::StaleVersion));
        assert_eq!(
            check(
                3,
                RevocationState {
                    jti_denied: true,
                    ..clean
                }
            ),
            Err(Revoked::Token)
        );
        assert_eq!(
            check(
                3,
                RevocationState {
                    session_revoked: true,
                    ..clean
                }
            ),
            Err(Revoked::Session)
        );
        assert_eq!(
            check(
                3,
                RevocationState {
                    key_retired: true,
                    ..clean
                }
            ),
            Err(Revoked::Key)
        );
    }
}
