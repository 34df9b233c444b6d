//! The in-process revocation cache of the embedded tier: token versions and the session, jti
//! and retired-key denylists in memory ([`RevocationFacts`]), filled from SQLite at start and
//! updated after every durable write.

use async_trait::async_trait;
use portcullis_core::revocation_memory::RevocationFacts;
use portcullis_core::{
    RevocationCache, RevocationChange, RevocationProbe, RevocationSnapshot, RevocationState,
    StoreResult,
};
use std::sync::{PoisonError, RwLock};
use time::OffsetDateTime;

#[derive(Default)]
struct Contents {
    /// False until the first [`RevocationCache::load`]: an empty cache must not vouch for anything.
    loaded: bool,
    facts: RevocationFacts,
}

/// A revocation cache held in this process's memory.
#[derive(Default)]
pub struct MemoryRevocationCache {
    contents: RwLock<Contents>,
}

impl MemoryRevocationCache {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl RevocationCache for MemoryRevocationCache {
    async fn state(
        &self,
        probe: &RevocationProbe,
        now: OffsetDateTime,
    ) -> StoreResult<Option<RevocationState>> {
        // A poisoned lock only means another thread panicked mid-update; the maps are still
        // consistent (every update is a single insert), so keep serving.
        let contents = self.contents.read().unwrap_or_else(PoisonError::into_inner);
        if !contents.loaded {
            return Ok(None);
        }
        Ok(Some(contents.facts.state(probe, now)))
    }

    async fn apply(&self, changes: &[RevocationChange], now: OffsetDateTime) -> StoreResult<()> {
        let mut contents = self
            .contents
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        contents.facts.forget_expired(now);
        for change in changes {
            contents.facts.apply(change);
        }
        Ok(())
    }

    /// Merges the snapshot in and marks the cache complete. Merging, not replacing: facts only
    /// ever tighten (versions rise, denials are never lifted early), so a snapshot read before a
    /// concurrent `apply` can never erase what that `apply` added.
    async fn load(&self, snapshot: &RevocationSnapshot, now: OffsetDateTime) -> StoreResult<()> {
        let mut contents = self
            .contents
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        for change in snapshot {
            contents.facts.apply(change);
        }
        contents.facts.forget_expired(now);
        contents.loaded = true;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::{SessionId, UserId};
    use std::time::Duration;
    use uuid::Uuid;

    fn probe() -> RevocationProbe {
        RevocationProbe {
            user: UserId::new(),
            session: SessionId::new(),
            jti: Uuid::new_v4(),
            kid: Uuid::new_v4(),
        }
    }

    #[tokio::test]
    async fn an_unloaded_cache_cannot_vouch() {
        let cache = MemoryRevocationCache::new();
        assert_eq!(
            cache
                .state(&probe(), OffsetDateTime::now_utc())
                .await
                .ok()
                .flatten(),
            None
        );
    }

    #[tokio::test]
    async fn denylist_entries_lapse_and_versions_never_go_back() {
        let cache = MemoryRevocationCache::new();
        let now = OffsetDateTime::now_utc();
        let probe = probe();
        cache.load(&vec![], now).await.ok();
        let later = now + Duration::from_secs(60);
        cache
            .apply(
                &[
                    RevocationChange::TokenVersion {
                        user: probe.user,
                        version: 2,
                    },
                    RevocationChange::TokenVersion {
                        user: probe.user,
                        version: 1,
                    },
                    RevocationChange::SessionDenied {
                        session: probe.session,
                        until: later,
                    },
                    RevocationChange::JtiDenied {
                        jti: probe.jti,
                        until: later,
                    },
                ],
                now,
            )
            .await
            .ok();
        let state = cache.state(&probe, now).await.ok().flatten();
        assert_eq!(
            state,
            Some(RevocationState {
                token_version: 2,
                session_revoked: true,
                jti_denied: true,
                key_retired: false,
            })
        );
        let after = cache.state(&probe, later).await.ok().flatten();
        assert_eq!(
            after,
            Some(RevocationState {
                token_version: 2,
                session_revoked: false,
                jti_denied: false,
                key_retired: false,
            })
        );
    }
}
