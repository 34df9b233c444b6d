//! The signing-key lifecycle as the operator drives it: list the keys, rotate to a new one
//! (published ahead, or at once in an emergency), retire one (its tokens refused on every
//! replica on their next request), and the background upkeep every serving replica runs:
//! rereading the keys so it signs and verifies with what the others created, and the scheduled
//! rotation, which exactly one replica performs. Which state a key is in is
//! `portcullis_core::signing_key`'s rule; this module only applies it.

use crate::error::{AuthError, AuthResult};
use crate::gateway::Gateway;
use crate::key_ring::KeyRing;
use crate::secret::KeyEncryptionKey;
use crate::settings::Settings;
use crate::signing_keys::{self, KeyError};
use portcullis_core::signing_key::{rotation_due, statuses, KeyState};
use portcullis_core::Causes;
use portcullis_core::StoredSigningKey;
use portcullis_core::{EventKind, KeyRetirement, RevocationChange, SecurityEvent};
use portcullis_metrics::Metrics;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::time::{Instant, MissedTickBehavior};

/// How often a serving replica rereads the keys (and checks whether a scheduled rotation is
/// due): keys another replica or the command line created are in use here within this.
pub const KEY_RELOAD_INTERVAL: Duration = Duration::from_secs(1);
/// The least time between two rereads prompted by tokens with an unknown kid, so tokens with
/// made-up kids cannot turn into a stream of database reads.
const MIN_RELOAD_SPACING: Duration = Duration::from_millis(50);

/// A signing key as the operator sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningKeyView {
    pub kid: String,
    pub alg: String,
    pub state: KeyState,
    pub created_at: OffsetDateTime,
    pub activates_at: OffsetDateTime,
    /// When it leaves the JWKS, once known.
    pub retires_at: Option<OffsetDateTime>,
}

/// When the reload that prompted rereads share last started.
#[derive(Debug)]
pub(crate) struct KeyReloads {
    last_started: tokio::sync::Mutex<Instant>,
}

impl KeyReloads {
    pub fn new() -> Self {
        Self {
            last_started: tokio::sync::Mutex::new(Instant::now()),
        }
    }
}

impl Gateway {
    /// Every stored key with its state now, newest first.
    pub async fn signing_keys(&self) -> AuthResult<Vec<SigningKeyView>> {
        let keys = self.durable.signing_keys().await?;
        let now = Self::now();
        let lifetime = self.settings.session_deny_window();
        Ok(keys
            .iter()
            .zip(statuses(&keys, now, lifetime))
            .map(|(key, status)| SigningKeyView {
                kid: key.kid.clone(),
                alg: key.alg.clone(),
                state: status.state,
                created_at: key.created_at,
                activates_at: key.activates_at,
                retires_at: status.retires_at,
            })
            .collect())
    }

    /// Creates a key of the configured algorithm that signs from `signing_key_publish_ahead`
    /// from now (so verifiers holding a cached JWKS have fetched it by then), or at once.
    pub async fn rotate_signing_key(
        &self,
        at_once: bool,
        actor: &str,
    ) -> AuthResult<SigningKeyView> {
        let mut key = signing_keys::generate(self.settings.signing_alg, &self.kek)?;
        if !at_once {
            key.activates_at = key.created_at + self.settings.signing_key_publish_ahead;
        }
        self.durable.add_signing_key(&key, None).await?;
        self.record_rotation(&key.kid, key.activates_at, actor)
            .await;
        self.reload_keys().await?;
        self.signing_key(&key.kid).await
    }

    /// Retires `kid` at once: out of the JWKS, and every token it signed refused on the next
    /// request on every replica. The active key cannot be retired.
    pub async fn retire_signing_key(&self, kid: &str, actor: &str) -> AuthResult<SigningKeyView> {
        let now = Self::now();
        let lifetime = self.settings.session_deny_window();
        let retirement = KeyRetirement {
            now,
            token_lifetime: lifetime,
            deny_until: now + lifetime,
        };
        let key = self
            .durable
            .retire_signing_key(kid, &retirement)
            .await?
            .map_err(AuthError::SigningKey)?;
        if let Ok(id) = uuid::Uuid::parse_str(&key.kid) {
            let change = RevocationChange::KeyRetired {
                kid: id,
                until: retirement.deny_until,
            };
            self.revocations.publish(&[change], now).await;
        }
        let event = SecurityEvent::new(EventKind::SigningKeyRetired, now)
            .actor(actor)
            .details(json!({ "kid": key.kid, "alg": key.alg }).to_string());
        self.record(event).await;
        self.reload_keys().await?;
        self.signing_key(kid).await
    }

    async fn signing_key(&self, kid: &str) -> AuthResult<SigningKeyView> {
        self.signing_keys()
            .await?
            .into_iter()
            .find(|key| key.kid == kid)
            .ok_or(AuthError::NotFound)
    }

    async fn record_rotation(&self, kid: &str, activates_at: OffsetDateTime, actor: &str) {
        let event = SecurityEvent::new(EventKind::SigningKeyRotated, Self::now())
            .actor(actor)
            .details(
                json!({
                    "kid": kid,
                    "alg": self.settings.signing_alg.as_str(),
                    "activates_at": activates_at.unix_timestamp(),
                })
                .to_string(),
            );
        self.record(event).await;
    }

    /// Rereads the keys and puts them in use.
    pub(crate) async fn reload_keys(&self) -> AuthResult<()> {
        let stored = self.durable.signing_keys().await?;
        self.use_keys(&stored)
    }

    /// Puts `stored` (every key, as just read) in use.
    fn use_keys(&self, stored: &[StoredSigningKey]) -> AuthResult<()> {
        let ring = ring_from(stored, &self.settings, &self.kek, &self.metrics)?;
        self.access.replace_ring(ring);
        Ok(())
    }

    /// Rereads the keys unless a reread has started since `arrived` (a token with a kid this
    /// replica does not hold may be signed with a key another replica just created). Rereads
    /// are shared by every request waiting at once and spaced by [`MIN_RELOAD_SPACING`].
    pub(crate) async fn reload_keys_after(&self, arrived: Instant) -> AuthResult<()> {
        let mut last_started = self.key_reloads.last_started.lock().await;
        if *last_started > arrived {
            return Ok(());
        }
        tokio::time::sleep_until(*last_started + MIN_RELOAD_SPACING).await;
        *last_started = Instant::now();
        self.reload_keys().await
    }

    /// Performs the scheduled rotation if `keys` (every key, as just read) say it is due;
    /// `true` when this replica did (under the store's lock, only one of those racing does).
    async fn rotate_if_due(&self, keys: &[StoredSigningKey]) -> AuthResult<bool> {
        let period = self.settings.signing_key_rotation;
        let now = Self::now();
        let alg = self.settings.signing_alg;
        if !rotation_due(keys, alg.as_str(), now, period) {
            return Ok(false);
        }
        let mut key = signing_keys::generate(alg, &self.kek)?;
        key.activates_at = key.created_at + self.settings.signing_key_publish_ahead;
        let since = now - period + Duration::from_nanos(1);
        if !self.durable.add_signing_key(&key, Some(since)).await? {
            return Ok(false);
        }
        self.record_rotation(&key.kid, key.activates_at, "schedule")
            .await;
        Ok(true)
    }

    /// One round of upkeep on one read of the keys: the scheduled rotation if due (then the
    /// keys are read again, to hold the new one), and the keys put in use.
    async fn keep_keys(&self) -> AuthResult<()> {
        let keys = self.durable.signing_keys().await?;
        match self.rotate_if_due(&keys).await {
            Ok(true) => return self.reload_keys().await,
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(error = %Causes(&error), "scheduled signing-key rotation failed; retrying");
            }
        }
        self.use_keys(&keys)
    }

    /// Starts the key upkeep of a serving replica: every [`KEY_RELOAD_INTERVAL`], the scheduled
    /// rotation if due, and the keys reread. It ends with the gateway's stop signal and is
    /// awaited by [`Gateway::background_stopped`].
    pub fn start_key_upkeep(self: &Arc<Self>) {
        let gateway = Arc::clone(self);
        let stop = self.stop.clone();
        self.tasks.spawn(async move {
            let mut ticks = tokio::time::interval(KEY_RELOAD_INTERVAL);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = ticks.tick() => {}
                }
                if let Err(error) = gateway.keep_keys().await {
                    tracing::warn!(error = %Causes(&error), "signing keys could not be reread; keeping those in use");
                }
            }
        });
    }
}

/// The ring for `stored` as it stands now, with the key it signs with reported as
/// `portcullis_signing_key_age_seconds`: how the gateway starts, and every reread.
pub(crate) fn ring_from(
    stored: &[StoredSigningKey],
    settings: &Settings,
    kek: &KeyEncryptionKey,
    metrics: &Metrics,
) -> Result<KeyRing, KeyError> {
    let now = OffsetDateTime::now_utc();
    let ring = KeyRing::build(
        stored,
        settings.signing_alg,
        kek,
        now,
        settings.session_deny_window(),
    )?;
    if let Some(signer) = ring.signer(now) {
        metrics.signing_key_in_use(&signer.kid, signer.created_at.unix_timestamp());
    }
    Ok(ring)
}
