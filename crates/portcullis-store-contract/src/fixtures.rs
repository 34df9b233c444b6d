//! Builders for the domain values the contract stores, shared with the backends' own tests.

use portcullis_core::{
    ClientInfo, Family, FamilyOpening, RefreshToken, RevocationProbe, RotationPolicy,
    RotationRequest, SessionId, SessionStore, TokenHash, User, UserId, UserStore,
};
use std::time::Duration;
use time::OffsetDateTime;

/// Now, to the second: SQLite keeps milliseconds and Postgres microseconds, so equality checks
/// need a clock coarser than both.
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now - time::Duration::nanoseconds(i64::from(now.nanosecond()))
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub const DAY: u64 = 86_400;

pub const POLICY: RotationPolicy = RotationPolicy {
    idle_ttl: Duration::from_secs(3600),
    reuse_grace: Duration::from_secs(10),
};

/// The password hash every [`user`] is made with; a session opens against it.
pub const PASSWORD_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";

pub fn user(email: &str, at: OffsetDateTime) -> User {
    User {
        id: UserId::new(),
        email: email.to_owned(),
        password_hash: PASSWORD_HASH.to_owned(),
        roles: vec!["admin".to_owned(), "billing:read".to_owned()],
        token_version: 0,
        locked: false,
        created_at: at,
    }
}

pub fn random_hash() -> TokenHash {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    TokenHash(bytes)
}

pub fn client(ip: &str) -> ClientInfo {
    ClientInfo {
        ip: Some(ip.to_owned()),
        user_agent: Some("test-agent/1".to_owned()),
    }
}

pub fn probe() -> RevocationProbe {
    RevocationProbe {
        user: UserId::new(),
        session: SessionId::new(),
        jti: uuid::Uuid::new_v4(),
        kid: uuid::Uuid::new_v4(),
    }
}

/// A presentation of `presented` at `at` by a client at 10.0.0.2, under [`POLICY`].
pub fn request(presented: TokenHash, successor: TokenHash, at: OffsetDateTime) -> RotationRequest {
    RotationRequest {
        presented,
        successor,
        now: at,
        policy: POLICY,
        client: client("10.0.0.2"),
        session_deny_until: at + secs(900),
    }
}

/// A family of `user` opened at `at` from 10.0.0.1 (idle expiry after [`POLICY`]'s idle TTL,
/// absolute expiry after 30 days), and its first token.
pub fn family_of(user: UserId, at: OffsetDateTime) -> (Family, RefreshToken) {
    let family = Family {
        id: SessionId::new(),
        user_id: user,
        created_at: at,
        last_used_at: at,
        idle_expires_at: at + POLICY.idle_ttl,
        absolute_expires_at: at + secs(30 * DAY),
        current_generation: 0,
        last_client: client("10.0.0.1"),
        revoked_at: None,
        revoked_reason: None,
    };
    let first = RefreshToken {
        hash: random_hash(),
        family_id: family.id,
        generation: 0,
        issued_at: at,
        expires_at: at + POLICY.idle_ttl,
        used_at: None,
    };
    (family, first)
}

/// Opens another family of an existing user; returns it and its first token's hash.
pub async fn open_session(
    store: &(impl SessionStore + ?Sized),
    user: UserId,
    at: OffsetDateTime,
) -> (Family, TokenHash) {
    let (family, first) = family_of(user, at);
    match store.insert_family(&family, &first, PASSWORD_HASH).await {
        Ok(FamilyOpening::Opened(_)) => (family, first.hash),
        Ok(other) => panic!("cannot open a test family: {other:?}"),
        Err(error) => panic!("cannot insert a test family: {error}"),
    }
}

/// A new user (see [`user`]) with one family opened at `at`, and that family's first token.
pub async fn login(
    store: &(impl UserStore + SessionStore + ?Sized),
    at: OffsetDateTime,
) -> (User, Family, TokenHash) {
    let user = user(&format!("{}@example.com", uuid::Uuid::new_v4()), at);
    if let Err(error) = store.insert_user(&user).await {
        panic!("cannot insert a test user: {error}");
    }
    let (family, token) = open_session(store, user.id, at).await;
    (user, family, token)
}
