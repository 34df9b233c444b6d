//! The keys the service layer takes (tokens, signing, revocation, login limits, retention),
//! checked and turned into [`Settings`].

use super::{front_door, Config};
use portcullis_core::throttle::{Limit, LoginThrottle};
use portcullis_service::Settings;

impl Config {
    pub fn service_settings(&self) -> anyhow::Result<Settings> {
        Ok(Settings {
            issuer: self.effective_issuer()?,
            audience: self.audience.clone(),
            access_ttl: self.access_ttl,
            refresh_idle_ttl: self.refresh_idle_ttl,
            session_max_ttl: self.session_max_ttl,
            reuse_grace: self.reuse_grace,
            leeway: self.leeway,
            registration: self.registration,
            signing_alg: self.signing_alg,
            verify_cache_capacity: self.verify_cache_size,
            revocation_fallback: self.revocation_fallback,
            revocation_epoch_interval: self.revocation_epoch_interval,
            route_policy: front_door::route_policy(&self.routes)?,
            database_timeout: self.database_timeout,
            event_retention: self.event_retention,
            retention_interval: self.retention_interval,
            signing_key_rotation: self.signing_key_rotation,
            signing_key_publish_ahead: self.signing_key_publish_ahead,
            login_throttle: LoginThrottle {
                per_account: Limit {
                    max_failures: self.login_max_failures_per_account,
                    window: self.login_failure_window,
                },
                per_ip: Limit {
                    max_failures: self.login_max_failures_per_ip,
                    window: self.login_failure_window,
                },
            },
        })
    }
}
