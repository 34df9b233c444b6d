//! The settings the use cases need, already parsed and validated by the binary's config loader.

use crate::revocation_checker::RevocationFallback;
use crate::signing_keys::SigningAlg;
use portcullis_core::retention::RetentionPolicy;
use portcullis_core::throttle::LoginThrottle;
use portcullis_core::RoutePolicy;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Settings {
    pub issuer: String,
    pub audience: String,
    pub access_ttl: Duration,
    pub refresh_idle_ttl: Duration,
    pub session_max_ttl: Duration,
    pub reuse_grace: Duration,
    pub leeway: Duration,
    pub registration: bool,
    pub signing_alg: SigningAlg,
    /// How many verified access tokens to remember (0 disables the cache).
    pub verify_cache_capacity: u64,
    pub revocation_fallback: RevocationFallback,
    /// How often a replica that keeps the revocation state in memory reads the durable
    /// revocation log for revocations it was not told about: the longest a replica that could
    /// not reach the shared cache leaves the others unaware of its revocation.
    pub revocation_epoch_interval: Duration,
    pub login_throttle: LoginThrottle,
    /// Deadline of every durable-store call.
    pub database_timeout: Duration,
    /// Who may make which request through the gateway (forward-auth and the built-in proxy).
    pub route_policy: RoutePolicy,
    /// How long security events are kept; zero keeps them forever.
    pub event_retention: Duration,
    /// How often the retention pass runs (see `crate::retention`).
    pub retention_interval: Duration,
    /// How old the newest signing key may grow before a new one is made; zero never rotates.
    pub signing_key_rotation: Duration,
    /// How long a new key is published before it signs (at least the JWKS cache lifetime).
    pub signing_key_publish_ahead: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            issuer: "portcullis".to_owned(),
            audience: "portcullis".to_owned(),
            access_ttl: Duration::from_secs(15 * 60),
            refresh_idle_ttl: Duration::from_secs(7 * 86_400),
            session_max_ttl: Duration::from_secs(30 * 86_400),
            reuse_grace: Duration::from_secs(10),
            leeway: Duration::from_secs(10),
            registration: true,
            signing_alg: SigningAlg::EdDSA,
            verify_cache_capacity: 100_000,
            revocation_fallback: RevocationFallback::Durable,
            revocation_epoch_interval: Duration::from_secs(1),
            login_throttle: LoginThrottle::default(),
            database_timeout: Duration::from_secs(5),
            route_policy: RoutePolicy::default(),
            event_retention: Duration::from_secs(90 * 86_400),
            retention_interval: Duration::from_secs(10 * 60),
            signing_key_rotation: Duration::from_secs(30 * 86_400),
            signing_key_publish_ahead: Duration::from_secs(10 * 60),
        }
    }
}

impl Settings {
    /// How long a revoked family's access tokens must stay denied: the longest an access token
    /// issued before the revocation can still be accepted.
    pub fn session_deny_window(&self) -> Duration {
        self.access_ttl + self.leeway
    }

    /// What the retention pass needs to know to compute its cut-offs.
    pub fn retention_policy(&self) -> RetentionPolicy {
        RetentionPolicy {
            access_ttl: self.access_ttl,
            reuse_grace: self.reuse_grace,
            leeway: self.leeway,
            event_retention: Some(self.event_retention).filter(|keep| !keep.is_zero()),
        }
    }
}
