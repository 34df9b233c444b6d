//! A deadline on every durable-store call, whatever the backend: a stalled network path to the
//! database (which no server-side statement timeout can see) becomes `Unavailable` after the
//! configured time instead of hanging the request. A cancelled transaction is rolled back by
//! the backend, so nothing is half-written.

use async_trait::async_trait;
use portcullis_core::account::{
    Erased, Erasure, PasswordReset, PasswordResetOutcome, UserQuery, UserSummary,
};
use portcullis_core::admin::{AdminKey, EventQuery, SessionFilter, StoredEvent};
use portcullis_core::retention::{Cutoffs, Purged};
use portcullis_core::signing_key::RetireRefused;
use portcullis_core::store::RetentionStore;
use portcullis_core::store::{FamilyOpening, RotationOutcome, RotationRequest};
use portcullis_core::webhook_outbox::{Claim, ClaimedDelivery, UndeliveredEntry};
use portcullis_core::{
    AdminKeyStore, Durable, EventStore, Family, KeyRetirement, LogRead, RefreshToken,
    RevocationLog, RevocationProbe, RevocationReason, RevocationSnapshot, RevocationState,
    RevocationStore, SecurityEvent, SessionAdminStore, SessionId, SessionStore, SigningKeyStore,
    StoreError, StoreResult, StoredSigningKey, TokenHash, User, UserId, UserRevocation, UserStore,
    WebhookOutbox,
};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) struct Deadline {
    inner: Arc<dyn Durable>,
    limit: Duration,
}

impl Deadline {
    pub fn wrap(inner: Arc<dyn Durable>, limit: Duration) -> Arc<Self> {
        Arc::new(Self { inner, limit })
    }

    async fn within<T>(&self, call: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
        tokio::time::timeout(self.limit, call)
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::Unavailable(
                    format!("the database did not answer within {:?}", self.limit).into(),
                ))
            })
    }
}

#[async_trait]
impl UserStore for Deadline {
    async fn insert_user(&self, user: &User) -> StoreResult<()> {
        self.within(self.inner.insert_user(user)).await
    }
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        self.within(self.inner.user_by_email(email)).await
    }
    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        self.within(self.inner.user_by_id(id)).await
    }
    async fn replace_password_hash(
        &self,
        id: UserId,
        current: &str,
        new: &str,
    ) -> StoreResult<bool> {
        self.within(self.inner.replace_password_hash(id, current, new))
            .await
    }
    async fn set_locked(&self, id: UserId, locked: bool) -> StoreResult<bool> {
        self.within(self.inner.set_locked(id, locked)).await
    }
    async fn set_roles(&self, id: UserId, roles: &[String]) -> StoreResult<Option<i64>> {
        self.within(self.inner.set_roles(id, roles)).await
    }
    async fn reset_password(
        &self,
        id: UserId,
        reset: &PasswordReset<'_>,
    ) -> StoreResult<Option<PasswordResetOutcome>> {
        self.within(self.inner.reset_password(id, reset)).await
    }
    async fn list_users(&self, query: &UserQuery) -> StoreResult<Vec<UserSummary>> {
        self.within(self.inner.list_users(query)).await
    }
    async fn erase_user(&self, id: UserId, erasure: &Erasure) -> StoreResult<Option<Erased>> {
        self.within(self.inner.erase_user(id, erasure)).await
    }
}

#[async_trait]
impl SessionStore for Deadline {
    async fn insert_family(
        &self,
        family: &Family,
        first_token: &RefreshToken,
        proven_hash: &str,
    ) -> StoreResult<FamilyOpening> {
        self.within(self.inner.insert_family(family, first_token, proven_hash))
            .await
    }
    async fn rotate(&self, request: &RotationRequest) -> StoreResult<RotationOutcome> {
        self.within(self.inner.rotate(request)).await
    }
    async fn revoke_session_by_token(
        &self,
        token: &TokenHash,
        reason: RevocationReason,
        deny_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Family>> {
        self.within(
            self.inner
                .revoke_session_by_token(token, reason, deny_until, now),
        )
        .await
    }
    async fn revoke_session(
        &self,
        session: SessionId,
        owner: Option<UserId>,
        reason: RevocationReason,
        deny_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Family>> {
        self.within(
            self.inner
                .revoke_session(session, owner, reason, deny_until, now),
        )
        .await
    }
    async fn live_sessions(&self, user: UserId, now: OffsetDateTime) -> StoreResult<Vec<Family>> {
        self.within(self.inner.live_sessions(user, now)).await
    }
}

#[async_trait]
impl RevocationStore for Deadline {
    async fn revoke_user(
        &self,
        user: UserId,
        lock: bool,
        reason: RevocationReason,
        deny_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRevocation>> {
        self.within(self.inner.revoke_user(user, lock, reason, deny_until, now))
            .await
    }
    async fn deny_jti(&self, jti: Uuid, until: OffsetDateTime) -> StoreResult<()> {
        self.within(self.inner.deny_jti(jti, until)).await
    }
    async fn revocation_state(
        &self,
        probe: &RevocationProbe,
        now: OffsetDateTime,
    ) -> StoreResult<RevocationState> {
        self.within(self.inner.revocation_state(probe, now)).await
    }
    async fn revocation_snapshot(&self, now: OffsetDateTime) -> StoreResult<RevocationSnapshot> {
        self.within(self.inner.revocation_snapshot(now)).await
    }
}

#[async_trait]
impl RevocationLog for Deadline {
    async fn revocation_log_head(&self) -> StoreResult<i64> {
        self.within(self.inner.revocation_log_head()).await
    }
    async fn revocation_log_since(&self, after: i64, limit: u32) -> StoreResult<LogRead> {
        self.within(self.inner.revocation_log_since(after, limit))
            .await
    }
}

#[async_trait]
impl SessionAdminStore for Deadline {
    async fn sessions_of(
        &self,
        user: UserId,
        revoked_since: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Family>> {
        self.within(self.inner.sessions_of(user, revoked_since, now))
            .await
    }
    async fn live_sessions_matching(
        &self,
        filter: &SessionFilter,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Family>> {
        self.within(self.inner.live_sessions_matching(filter, now))
            .await
    }
    async fn revoke_sessions(
        &self,
        sessions: &[SessionId],
        reason: RevocationReason,
        deny_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Family>> {
        self.within(
            self.inner
                .revoke_sessions(sessions, reason, deny_until, now),
        )
        .await
    }
}

#[async_trait]
impl SigningKeyStore for Deadline {
    async fn ensure_signing_key(
        &self,
        candidate: &StoredSigningKey,
    ) -> StoreResult<Vec<StoredSigningKey>> {
        self.within(self.inner.ensure_signing_key(candidate)).await
    }

    async fn signing_keys(&self) -> StoreResult<Vec<StoredSigningKey>> {
        self.within(self.inner.signing_keys()).await
    }

    async fn add_signing_key(
        &self,
        key: &StoredSigningKey,
        unless_created_since: Option<OffsetDateTime>,
    ) -> StoreResult<bool> {
        self.within(self.inner.add_signing_key(key, unless_created_since))
            .await
    }

    async fn retire_signing_key(
        &self,
        kid: &str,
        retirement: &KeyRetirement,
    ) -> StoreResult<Result<StoredSigningKey, RetireRefused>> {
        self.within(self.inner.retire_signing_key(kid, retirement))
            .await
    }
}

#[async_trait]
impl EventStore for Deadline {
    async fn record_event(&self, event: &SecurityEvent, deliver: bool) -> StoreResult<i64> {
        self.within(self.inner.record_event(event, deliver)).await
    }
    async fn query_events(&self, query: &EventQuery) -> StoreResult<Vec<StoredEvent>> {
        self.within(self.inner.query_events(query)).await
    }
}

#[async_trait]
impl AdminKeyStore for Deadline {
    async fn insert_admin_key(&self, key: &AdminKey) -> StoreResult<()> {
        self.within(self.inner.insert_admin_key(key)).await
    }
    async fn admin_key_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<AdminKey>> {
        self.within(self.inner.admin_key_by_hash(hash)).await
    }
    async fn admin_keys(&self) -> StoreResult<Vec<AdminKey>> {
        self.within(self.inner.admin_keys()).await
    }
    async fn revoke_admin_key(&self, name: &str, now: OffsetDateTime) -> StoreResult<bool> {
        self.within(self.inner.revoke_admin_key(name, now)).await
    }
}

#[async_trait]
impl RetentionStore for Deadline {
    /// No per-call deadline: a pass is many batches, each bounded by the backend, and runs off
    /// the request path; the retention job bounds the whole pass instead.
    async fn purge(&self, cutoffs: &Cutoffs, batch: u32) -> StoreResult<Option<Purged>> {
        self.inner.purge(cutoffs, batch).await
    }
}

#[async_trait]
impl WebhookOutbox for Deadline {
    async fn claim_deliveries(&self, claim: &Claim) -> StoreResult<Vec<ClaimedDelivery>> {
        self.within(self.inner.claim_deliveries(claim)).await
    }
    async fn mark_delivered(&self, event_id: i64, now: OffsetDateTime) -> StoreResult<bool> {
        self.within(self.inner.mark_delivered(event_id, now)).await
    }
    async fn mark_failed_attempt(
        &self,
        event_id: i64,
        lease: Uuid,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> StoreResult<bool> {
        self.within(
            self.inner
                .mark_failed_attempt(event_id, lease, error, retry_at),
        )
        .await
    }
    async fn undelivered(&self, limit: u32) -> StoreResult<Vec<UndeliveredEntry>> {
        self.within(self.inner.undelivered(limit)).await
    }
}

#[async_trait]
impl Durable for Deadline {
    async fn ping(&self) -> StoreResult<()> {
        self.within(self.inner.ping()).await
    }
}
