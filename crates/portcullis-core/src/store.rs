//! The storage seam. Each tier implements these traits once: the embedded tier with SQLite and
//! an in-process cache, the production tier with Postgres and Redis. Everything above the seam
//! (the service and HTTP layers) is the same code for both.
//!
//! Two roles are kept apart: a [`Durable`] store is the source of truth and applies each change
//! in one transaction; a [`RevocationCache`] answers the hot-path revocation checks and is
//! refilled from the durable store whenever it cannot vouch for its contents.
//!
//! The durable store is split by role into narrow traits, and each backend implements each of
//! them in a file of the same name:
//!
//! | trait | what it owns | backend file |
//! | --- | --- | --- |
//! | [`UserStore`] | accounts | `users.rs` |
//! | [`SessionStore`] | one session: open, rotate, revoke, list a user's live ones | `sessions.rs` |
//! | [`SessionAdminStore`] | the security team's queries and mass revocation | `session_admin.rs` |
//! | [`RevocationStore`] | token versions, the jti denylist, the cache's fallback and snapshot | `revocation_store.rs` |
//! | [`crate::RevocationLog`] | every revocation fact, numbered in commit order, for replicas to catch up | `revocation_log.rs` |
//! | [`SigningKeyStore`] | signing keys | `signing_keys.rs` |
//! | [`EventStore`] | the audit log | `events.rs` |
//! | [`AdminKeyStore`] | admin API keys | `admin_keys.rs` |
//! | [`RetentionStore`] | deleting what can no longer change a decision | `retention.rs` |
//! | [`WebhookOutbox`] | webhook deliveries still to make: claim, settle, list | `webhook_outbox.rs` |
//!
//! Beside the durable store and the cache, each tier shares two kinds of hot state between its
//! replicas: the login [`AttemptCounter`] and the [`crate::single_use::SingleUse`] keys (Redis
//! on the production tier, rows of the SQLite database on the embedded one).
//!
//! `portcullis-store-contract` holds the behaviour every backend must show, as one suite.

use crate::account::{
    Erased, Erasure, PasswordReset, PasswordResetOutcome, UserQuery, UserSummary,
};
use crate::admin::{AdminKey, EventQuery, SessionFilter, StoredEvent};
use crate::event::SecurityEvent;
use crate::ids::{SessionId, TokenHash, UserId};
use crate::retention::{Cutoffs, Purged};
use crate::revocation::{RevocationChange, RevocationProbe, RevocationSnapshot, RevocationState};
use crate::rotation::RotationPolicy;
use crate::session::{ClientInfo, Family, RefreshToken, RevocationReason};
use crate::signing_key::{RetireRefused, StoredSigningKey};
use crate::throttle::{Limit, Reservation};
use crate::user::User;
use crate::webhook_outbox::{Claim, ClaimedDelivery, UndeliveredEntry};
use async_trait::async_trait;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

/// The cause a backend reports with a failure: its driver's own error, kept as the source, or a
/// sentence when the backend itself found the fault. Log it with [`crate::Causes`].
pub type BackendCause = Box<dyn std::error::Error + Send + Sync>;

/// Errors every backend maps its own failures into.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the email address is already registered")]
    EmailTaken,
    #[error("an admin key with this name exists already")]
    AdminKeyNameTaken,
    /// The backend could not be reached in time; the request may be retried later.
    #[error("storage is unavailable")]
    Unavailable(#[source] BackendCause),
    #[error("storage failed")]
    Backend(#[source] BackendCause),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A refresh presentation, with everything the backend needs to apply any decision atomically.
#[derive(Clone, Debug)]
pub struct RotationRequest {
    pub presented: TokenHash,
    /// The successor's hash; the successor itself is derived from the presented token, so a
    /// replay within the grace window maps to this same row.
    pub successor: TokenHash,
    pub now: OffsetDateTime,
    pub policy: RotationPolicy,
    pub client: ClientInfo,
    /// Until when the family's access tokens stay denied if this presentation revokes it.
    pub session_deny_until: OffsetDateTime,
}

/// What a rotation did. The family and user are as they stand after the transaction.
#[derive(Clone, Debug)]
pub enum RotationOutcome {
    Rotated {
        user: User,
        family: Family,
        successor_expires_at: OffsetDateTime,
    },
    Replayed {
        user: User,
        family: Family,
        successor_expires_at: OffsetDateTime,
    },
    /// The family was revoked by this presentation; `family.last_client` is the legitimate
    /// holder's last use.
    ReuseDetected {
        family: Family,
    },
    FamilyRevoked {
        family: Family,
    },
    /// The user is locked: the family was revoked by this presentation (reason `user_locked`).
    UserLocked {
        family: Family,
    },
    /// The token or its family has expired (answered like `Invalid`, counted apart).
    Expired,
    /// Unknown token.
    Invalid,
}

/// What opening a session found. The user is read, and its row locked against a concurrent
/// lock or token-version bump, in the same transaction as the insert.
#[derive(Clone, Debug)]
pub enum FamilyOpening {
    /// The family is stored; the user as read in that transaction, whose `token_version` and
    /// roles the first access token must carry.
    Opened(User),
    /// The account is locked: nothing was stored.
    Locked,
    /// The user no longer exists: nothing was stored.
    UserGone,
    /// The password changed after the login checked it: nothing was stored.
    PasswordChanged,
}

impl FamilyOpening {
    /// The rule every backend applies to the user it read in the opening transaction: the user
    /// whose family may be stored, or the answer to give without storing anything.
    pub fn admit(user: Option<User>, proven_hash: &str) -> Result<User, FamilyOpening> {
        match user {
            None => Err(Self::UserGone),
            Some(user) if user.locked => Err(Self::Locked),
            Some(user) if user.password_hash != proven_hash => Err(Self::PasswordChanged),
            Some(user) => Ok(user),
        }
    }
}

/// A revocation of all of a user's tokens and sessions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRevocation {
    pub token_version: i64,
    pub sessions_revoked: Vec<SessionId>,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Fails with [`StoreError::EmailTaken`] when the email is registered already.
    async fn insert_user(&self, user: &User) -> StoreResult<()>;
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>>;
    /// Replaces the hash `current` with `new` (a rehash of the same password with today's
    /// parameters); `false`, changing nothing, when the stored hash is no longer `current` (the
    /// password was changed meanwhile, and must not be changed back) or the user is gone.
    async fn replace_password_hash(
        &self,
        id: UserId,
        current: &str,
        new: &str,
    ) -> StoreResult<bool>;
    /// Locks or unlocks an account; `false` when the user does not exist.
    async fn set_locked(&self, id: UserId, locked: bool) -> StoreResult<bool>;
    /// Replaces the roles and bumps the token version (so tokens with the old roles die), in one
    /// transaction. Returns the new version; `None` when the user does not exist.
    async fn set_roles(&self, id: UserId, roles: &[String]) -> StoreResult<Option<i64>>;
    /// Stores a new password hash and ends the sessions [`PasswordReset::keep_session`] says, in
    /// one transaction (reason `password_changed`), unless [`PasswordReset::replaces`] or the
    /// session to keep no longer holds: then nothing changes and the answer is
    /// [`PasswordResetOutcome::Stale`]. `None` when the user does not exist.
    async fn reset_password(
        &self,
        id: UserId,
        reset: &PasswordReset<'_>,
    ) -> StoreResult<Option<PasswordResetOutcome>>;
    /// Accounts matching `query`, by email, at most `query.limit`.
    async fn list_users(&self, query: &UserQuery) -> StoreResult<Vec<UserSummary>>;
    /// Erases the account as [`Erasure`] says, in one transaction; the revocation snapshot then
    /// carries [`crate::revocation::DELETED_USER_VERSION`] for it until `deny_until`. `None` when
    /// the user does not exist.
    async fn erase_user(&self, id: UserId, erasure: &Erasure) -> StoreResult<Option<Erased>>;
}

/// One session (refresh family) through its life: opened at login, rotated at each refresh,
/// revoked at logout or by its owner.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new family and its first token, unless the user is locked or gone or its
    /// password hash is no longer `proven_hash` (the one the login's password was checked
    /// against), reading the user in the same transaction and holding its row until commit: a
    /// concurrent lock, version bump or password change either sees the new family (and
    /// revokes it) or is seen here. The user's last login becomes the family's creation time.
    async fn insert_family(
        &self,
        family: &Family,
        first_token: &RefreshToken,
        proven_hash: &str,
    ) -> StoreResult<FamilyOpening>;
    /// Loads the token, the family, its user and the token's stored successor, calls
    /// [`crate::rotation::decide`] and [`crate::rotation::apply`], all in one transaction that
    /// concurrent presentations of the same token serialise on, holding the user's row so a lock
    /// or version bump cannot commit in between.
    async fn rotate(&self, request: &RotationRequest) -> StoreResult<RotationOutcome>;
    /// Revokes the family holding this token (any generation). `None` when the token is unknown.
    async fn revoke_session_by_token(
        &self,
        token: &TokenHash,
        reason: RevocationReason,
        deny_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Family>>;
    /// Revokes one family, if it exists and (when `owner` is given) belongs to that user.
    async fn revoke_session(
        &self,
        session: SessionId,
        owner: Option<UserId>,
        reason: RevocationReason,
        deny_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Family>>;
    async fn live_sessions(&self, user: UserId, now: OffsetDateTime) -> StoreResult<Vec<Family>>;
}

/// The security team's view of sessions: any user's, filtered, and revoked by the list.
#[async_trait]
pub trait SessionAdminStore: Send + Sync {
    /// A user's live families and those revoked after `revoked_since`, newest first.
    async fn sessions_of(
        &self,
        user: UserId,
        revoked_since: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Family>>;
    /// Live families matching the filter's creation-time and role criteria (the caller applies
    /// the address criterion with [`SessionFilter::address_matches`]).
    async fn live_sessions_matching(
        &self,
        filter: &SessionFilter,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Family>>;
    /// Revokes those of `sessions` still live, in one transaction; returns the ones it revoked.
    async fn revoke_sessions(
        &self,
        sessions: &[SessionId],
        reason: RevocationReason,
        deny_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Family>>;
}

/// The durable revocation facts the verify path checks (token versions, denied sessions, denied
/// jtis): writing the user-wide and per-token ones, and reading them back for the cache.
#[async_trait]
pub trait RevocationStore: Send + Sync {
    /// Bumps the user's token version and revokes every live family, and with `lock` also locks
    /// the account, all in one transaction. `None` when the user does not exist.
    async fn revoke_user(
        &self,
        user: UserId,
        lock: bool,
        reason: RevocationReason,
        deny_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRevocation>>;
    /// Denylists one access token id until `until`.
    async fn deny_jti(&self, jti: Uuid, until: OffsetDateTime) -> StoreResult<()>;
    /// The truth for one probe, used when the cache cannot answer.
    async fn revocation_state(
        &self,
        probe: &RevocationProbe,
        now: OffsetDateTime,
    ) -> StoreResult<RevocationState>;
    /// Every revocation fact still in force, to fill a cache.
    async fn revocation_snapshot(&self, now: OffsetDateTime) -> StoreResult<RevocationSnapshot>;
}

#[async_trait]
pub trait SigningKeyStore: Send + Sync {
    /// Stores `candidate` unless a key of the same algorithm exists, then returns every key,
    /// newest first. Replicas starting together therefore agree on one key.
    async fn ensure_signing_key(
        &self,
        candidate: &StoredSigningKey,
    ) -> StoreResult<Vec<StoredSigningKey>>;
    /// Every key, newest first.
    async fn signing_keys(&self) -> StoreResult<Vec<StoredSigningKey>>;
    /// Stores `key`; with `unless_created_since`, only if no key of its algorithm was created at
    /// or after that moment (checked and inserted under one lock, so of replicas racing to
    /// perform one scheduled rotation exactly one does). `false` when nothing was stored.
    async fn add_signing_key(
        &self,
        key: &StoredSigningKey,
        unless_created_since: Option<OffsetDateTime>,
    ) -> StoreResult<bool>;
    /// Retires `kid` if [`crate::signing_key::may_retire`] allows it, judged on the keys read
    /// under the same lock, and returns the key as it now stands.
    async fn retire_signing_key(
        &self,
        kid: &str,
        retirement: &KeyRetirement,
    ) -> StoreResult<Result<StoredSigningKey, RetireRefused>>;
}

/// When a key is retired, and what the rule deciding whether it may be needs to know.
#[derive(Clone, Copy, Debug)]
pub struct KeyRetirement {
    pub now: OffsetDateTime,
    /// How long a token may be accepted after it was signed (access TTL plus leeway).
    pub token_lifetime: std::time::Duration,
    /// Until when tokens the key signed must be refused by every cache.
    pub deny_until: OffsetDateTime,
}

#[async_trait]
pub trait EventStore: Send + Sync {
    /// Appends `event` and returns its id. With `deliver`, a pending webhook delivery of it
    /// (see [`WebhookOutbox`]) is written in the same transaction: both are stored or neither.
    async fn record_event(&self, event: &SecurityEvent, deliver: bool) -> StoreResult<i64>;
    /// Events matching `query`, newest first, each with its id (the pagination cursor).
    async fn query_events(&self, query: &EventQuery) -> StoreResult<Vec<StoredEvent>>;
}

#[async_trait]
pub trait AdminKeyStore: Send + Sync {
    /// Fails with [`StoreError::AdminKeyNameTaken`] when the name is used (even by a revoked key).
    async fn insert_admin_key(&self, key: &AdminKey) -> StoreResult<()>;
    async fn admin_key_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<AdminKey>>;
    async fn admin_keys(&self) -> StoreResult<Vec<AdminKey>>;
    /// Revokes the live key of that name; `false` when there is none.
    async fn revoke_admin_key(&self, name: &str, now: OffsetDateTime) -> StoreResult<bool>;
}

/// Deleting what can no longer change a decision (see [`crate::retention`]).
#[async_trait]
pub trait RetentionStore: Send + Sync {
    /// Deletes every row the cut-offs let go, at most `batch` rows per statement, each batch
    /// committed on its own so no lock is held for long. Refresh tokens go before their family.
    /// `None` when another replica is running a pass right now (this one is then skipped).
    async fn purge(&self, cutoffs: &Cutoffs, batch: u32) -> StoreResult<Option<Purged>>;
}

/// The webhook deliveries still to make, written by [`EventStore::record_event`] and worked by
/// every replica's delivery task (see [`crate::webhook_outbox`] for the rules). Delivery is at
/// least once: a row is handed to one claim at a time, but a worker that dies after the
/// receiver accepted and before it recorded so leaves the row to be sent again.
#[async_trait]
pub trait WebhookOutbox: Send + Sync {
    /// Claims up to `claim.limit` pending rows due at `claim.now` that no unexpired lease holds,
    /// earliest due first: each is leased to `claim.lease` until `claim.lease_until` and its
    /// attempt count goes up by one. Concurrent claims never receive the same row.
    async fn claim_deliveries(&self, claim: &Claim) -> StoreResult<Vec<ClaimedDelivery>>;
    /// Marks a pending row delivered, whoever holds it; `false` when it was not pending.
    async fn mark_delivered(&self, event_id: i64, now: OffsetDateTime) -> StoreResult<bool>;
    /// Records that the attempt made under `lease` failed with `error`: the row is pending
    /// again from `retry_at` and unleased, or with `None` failed for good. `false`, changing
    /// nothing, when the lease was lost (another claim took the row over) or the row is settled.
    async fn mark_failed_attempt(
        &self,
        event_id: i64,
        lease: Uuid,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> StoreResult<bool>;
    /// Pending and failed rows, oldest event first, at most `limit`.
    async fn undelivered(&self, limit: u32) -> StoreResult<Vec<UndeliveredEntry>>;
}

/// The durable source of truth.
#[async_trait]
pub trait Durable:
    UserStore
    + SessionStore
    + SessionAdminStore
    + RevocationStore
    + crate::revocation_log::RevocationLog
    + SigningKeyStore
    + EventStore
    + AdminKeyStore
    + RetentionStore
    + WebhookOutbox
{
    /// Answers when the store can serve requests.
    async fn ping(&self) -> StoreResult<()>;
}

/// The hot-path revocation state.
#[async_trait]
pub trait RevocationCache: Send + Sync {
    /// `Ok(None)` when the cache cannot vouch for its contents (for example its data was lost);
    /// the caller must then ask the durable store and refill the cache.
    async fn state(
        &self,
        probe: &RevocationProbe,
        now: OffsetDateTime,
    ) -> StoreResult<Option<RevocationState>>;
    async fn apply(&self, changes: &[RevocationChange], now: OffsetDateTime) -> StoreResult<()>;
    /// Replaces the contents with `snapshot` and marks the cache complete.
    async fn load(&self, snapshot: &RevocationSnapshot, now: OffsetDateTime) -> StoreResult<()>;
    async fn ping(&self) -> StoreResult<()>;
}

/// Counters of login attempts, shared by every replica of a deployment (see
/// [`crate::throttle`] for what a reservation is).
#[async_trait]
pub trait AttemptCounter: Send + Sync {
    /// In one atomic step: decides with [`crate::throttle::retry_after`] on the open windows of
    /// `counters`, then either reserves one attempt under each (opening windows as
    /// [`crate::throttle::reserved`] says) or reserves nothing and reports the exhausted limits,
    /// noting which of them refuse for the first time in their window.
    async fn reserve(
        &self,
        counters: &[(String, Limit)],
        now: OffsetDateTime,
    ) -> StoreResult<Reservation>;
    /// Gives back one reservation under `key` (an attempt that did not fail), if its window is
    /// still open.
    async fn release(&self, key: &str, now: OffsetDateTime) -> StoreResult<()>;
    async fn clear(&self, key: &str) -> StoreResult<()>;
}

/// The storage of one tier, in the roles the service uses.
#[derive(Clone)]
pub struct Backends {
    pub durable: Arc<dyn Durable>,
    pub revocations: Arc<dyn RevocationCache>,
    pub attempts: Arc<dyn AttemptCounter>,
    /// Keys used once across every replica (DPoP proof `jti`s, DBSC challenges): shared like
    /// the attempt counters, in Redis on the production tier and in the database on the
    /// embedded one.
    pub single_use: Arc<dyn crate::single_use::SingleUse>,
    /// The revocation stream, where the cache is shared by replicas that each keep a copy of
    /// the revocation state in memory (see [`crate::revocation_stream`]); `None` where the
    /// cache itself is in memory.
    pub stream: Option<Arc<dyn crate::revocation_stream::RevocationBroadcast>>,
}
