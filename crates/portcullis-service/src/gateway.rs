//! The [`Gateway`]: the service object the HTTP layer and the CLI call, holding the stores,
//! the keys and the settings, plus the helpers every use case shares.

use crate::access_token::AccessTokens;
use crate::deadline::Deadline;
use crate::error::AuthResult;
use crate::password::Passwords;
use crate::refresh_token::{RefreshSecret, RefreshTokens};
use crate::revocation_checker::{Background, RevocationChecker, RevocationFallback};
use crate::secret::KeyEncryptionKey;
use crate::settings::Settings;
use crate::signing_keys::{self, Jwks};
use crate::throttle::LoginGuard;
use crate::use_cases::signing_keys::{ring_from, KeyReloads};
use portcullis_core::admin::EventQuery;
use portcullis_core::Causes;
use portcullis_core::{
    AccessClaims, Backends, ClientInfo, Durable, EventKind, EventSink, Family, RevocationChange,
    SecurityEvent, SessionId, User, WebhookOutbox,
};
use portcullis_metrics::{Metrics, WebhookOutcome};
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What a successful login or refresh hands back to the client.
pub struct Issued {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: RefreshSecret,
    pub refresh_expires_at: OffsetDateTime,
    pub session_id: SessionId,
}

// Hand-written so neither token can be printed.
impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issued")
            .field("access_token", &REDACTED)
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &self.refresh_token)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("session_id", &self.session_id)
            .finish()
    }
}

/// What `/readyz` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Serving correctly but slower: revocation checks go to the durable store.
    Degraded,
    Unavailable,
}

/// The caller behind a verified, unrevoked access token.
#[derive(Clone)]
pub struct Principal {
    pub claims: Arc<AccessClaims>,
    /// The token text, so logout can denylist exactly this token.
    pub token: String,
}

// Hand-written so the token text can never be printed; the claims say who the caller is.
impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("claims", &self.claims)
            .field("token", &REDACTED)
            .finish()
    }
}

/// What `Debug` shows in place of a token.
const REDACTED: &str = "[redacted]";
/// How long a starting replica waits for its revocation memory before it serves anyway (then
/// from the shared cache).
const MEMORY_SYNC_AT_START: std::time::Duration = std::time::Duration::from_secs(2);

/// A session as shown to its owner.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub family: Family,
    pub current: bool,
}

/// The use cases, one file each under `use_cases/` (all are methods of `Gateway`):
///
/// | use cases | file |
/// | --- | --- |
/// | `register`, `create_user`, `login` | `use_cases/accounts.rs` |
/// | `refresh`, `logout` | `use_cases/refresh.rs` |
/// | `authenticate`, `authorize` (the forward-auth decision) | `use_cases/verify.rs` |
/// | `sessions`, `delete_session`, `logout_all` | `use_cases/sessions.rs` |
/// | `find_user`, `admin_create_user`, `change_roles`, `revoke_user`, `lock_user`, `unlock_user`, `user_sessions`, `admin_revoke_session`, `revoke_token`, `events`, `undelivered_webhooks`, `mass_revoke` | `use_cases/admin.rs` |
/// | `create_admin_key`, `admin_keys`, `revoke_admin_key`, `authenticate_admin` | `use_cases/admin_keys.rs` |
/// | `signing_keys`, `rotate_signing_key`, `retire_signing_key`, `start_key_upkeep` | `use_cases/signing_keys.rs` |
/// | `run_retention_once`, `start_retention` | `retention.rs` |
/// | `start`, `jwks`, `readiness`, `recent_events`, `webhook_outbox`, and the helpers every use case shares | this file |
pub struct Gateway {
    pub(crate) settings: Settings,
    pub(crate) durable: Arc<dyn Durable>,
    /// The same store seen as the webhook outbox, for the delivery task the caller runs.
    outbox: Arc<dyn WebhookOutbox>,
    pub(crate) revocations: RevocationChecker,
    pub(crate) access: AccessTokens,
    /// Opens the signing keys' private halves when the keys are reread.
    pub(crate) kek: KeyEncryptionKey,
    pub(crate) key_reloads: KeyReloads,
    pub(crate) refresh: RefreshTokens,
    pub(crate) passwords: Passwords,
    pub(crate) login_guard: LoginGuard,
    /// Which recorded events are also delivered (the webhook), and whom to wake when one is;
    /// delivery itself is the caller's to start and to await.
    pub(crate) event_sink: Option<Arc<dyn EventSink>>,
    /// Where outcomes are counted; the application owns the registry.
    pub(crate) metrics: Metrics,
    /// Every background task the gateway starts (cache refills, retention) ends when this is
    /// cancelled.
    pub(crate) stop: CancellationToken,
    /// Where the refills and the key upkeep run, so shutdown can wait for them.
    pub(crate) tasks: TaskTracker,
}

impl Gateway {
    /// Loads (or on first start creates) the signing key and fills the revocation cache. The
    /// background tasks the gateway starts run until `stop` is cancelled; await
    /// [`Gateway::background_stopped`] after cancelling it. Events of the kinds `event_sink`
    /// (if given) delivers are recorded with a pending delivery, and every outcome is counted
    /// in `metrics`.
    pub async fn start(
        settings: Settings,
        backends: Backends,
        kek: &KeyEncryptionKey,
        event_sink: Option<Arc<dyn EventSink>>,
        metrics: Metrics,
        stop: CancellationToken,
    ) -> AuthResult<Self> {
        let Backends {
            durable,
            revocations: cache,
            attempts,
            stream,
            // Not used yet: DPoP and DBSC proofs are checked but not wired (issue 16).
            single_use: _,
        } = backends;
        let deadline = Deadline::wrap(durable, settings.database_timeout);
        let outbox: Arc<dyn WebhookOutbox> = Arc::clone(&deadline) as _;
        let durable: Arc<dyn Durable> = deadline;
        let candidate = signing_keys::generate(settings.signing_alg, kek)?;
        let stored = durable.ensure_signing_key(&candidate).await?;
        let ring = ring_from(&stored, &settings, kek, &metrics)?;
        let access = AccessTokens::new(
            ring,
            &settings.issuer,
            &settings.audience,
            settings.leeway,
            settings.access_ttl,
            settings.verify_cache_capacity,
        );
        let tasks = TaskTracker::new();
        let revocations = RevocationChecker::new(
            Arc::clone(&durable),
            cache,
            stream.map(|stream| (stream, settings.revocation_epoch_interval)),
            settings.revocation_fallback,
            metrics.clone(),
            Background {
                stop: stop.clone(),
                tasks: tasks.clone(),
            },
        );
        if let Err(error) = revocations.refill().await {
            // Start anyway: until the cache is filled, revocation checks go to the durable store.
            tracing::warn!(error = %Causes(&error), "revocation cache not filled at start; answering from the durable store");
        }
        if !revocations.memory_synced_within(MEMORY_SYNC_AT_START).await {
            tracing::warn!(
                "revocation memory not synced at start; answering from the cache until it is"
            );
        }
        Ok(Self {
            refresh: RefreshTokens::new(kek)?,
            kek: kek.clone(),
            key_reloads: KeyReloads::new(),
            passwords: Passwords::new(metrics.clone())?,
            login_guard: LoginGuard::new(attempts, settings.login_throttle),
            event_sink,
            metrics,
            settings,
            durable,
            outbox,
            revocations,
            access,
            stop,
            tasks,
        })
    }

    /// Resolves once the cache refills have ended (after the stop signal given to
    /// [`Gateway::start`] is cancelled). The retention job has its own handle.
    pub fn background_stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let tasks = self.tasks.clone();
        async move {
            tasks.close();
            tasks.wait().await;
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The webhook outbox, under the same per-call deadline as every other store call, for the
    /// delivery task the caller runs.
    pub fn webhook_outbox(&self) -> Arc<dyn WebhookOutbox> {
        Arc::clone(&self.outbox)
    }

    /// The metrics this gateway counts into.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The published signing keys (next, active and retiring), as served at
    /// `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Jwks {
        self.access.jwks(Self::now())
    }

    /// Whether the gateway can serve: the durable store must answer; without the revocation
    /// cache it still serves correctly (from the durable store) unless configured to deny.
    pub async fn readiness(&self) -> Readiness {
        let (durable, cache) = self.revocations.health().await;
        if let Err(error) = &durable {
            tracing::warn!(error = %Causes(error), "durable store not answering");
        }
        if let Err(error) = &cache {
            tracing::warn!(error = %Causes(error), "revocation cache not answering");
        }
        match (durable.is_ok(), cache.is_ok()) {
            (true, true) => Readiness::Ready,
            (true, false) if self.settings.revocation_fallback == RevocationFallback::Durable => {
                Readiness::Degraded
            }
            _ => Readiness::Unavailable,
        }
    }

    /// The most recent security events, newest first.
    pub async fn recent_events(
        &self,
        kind: Option<EventKind>,
        limit: u32,
    ) -> AuthResult<Vec<SecurityEvent>> {
        let query = EventQuery {
            kind,
            limit,
            ..EventQuery::default()
        };
        let events = self.durable.query_events(&query).await?;
        Ok(events.into_iter().map(|stored| stored.event).collect())
    }

    pub(crate) fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    /// Signs an access token for `user` in session `session`.
    pub(crate) fn issue_access_token(
        &self,
        user: &User,
        session: SessionId,
        now: OffsetDateTime,
    ) -> AuthResult<(String, u64)> {
        let ttl = self.settings.access_ttl.as_secs();
        let iat = now.unix_timestamp();
        let claims = AccessClaims {
            iss: self.access.issuer().to_owned(),
            aud: self.access.audience().to_owned(),
            sub: user.id,
            iat,
            nbf: iat,
            exp: iat + i64::try_from(ttl).unwrap_or(i64::MAX / 2),
            jti: uuid::Uuid::new_v4(),
            sid: session,
            ver: user.token_version,
            roles: user.roles.clone(),
            email: user.email.clone(),
        };
        let token = self.access.sign(&claims, now)?;
        Ok((token, ttl))
    }

    /// Until when a family revoked now must keep its access tokens denied.
    pub(crate) fn session_deny_until(&self, now: OffsetDateTime) -> OffsetDateTime {
        now + self.settings.session_deny_window()
    }

    /// Publishes that `session`'s access tokens are denied until `until`.
    pub(crate) async fn publish_session_denied(
        &self,
        session: SessionId,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) {
        self.revocations
            .publish(&[RevocationChange::SessionDenied { session, until }], now)
            .await;
    }

    /// Appends to the audit trail and emits the event as one structured log line; an event the
    /// sink delivers is stored with its pending delivery, in one transaction, and the sink is
    /// woken. A failure to store it is logged loudly (and its delivery counted as dropped) but
    /// does not undo the action it describes.
    pub(crate) async fn record(&self, event: SecurityEvent) {
        tracing::info!(
            target: "portcullis::security_event",
            kind = event.kind.as_str(),
            user_id = event.user_id.map(|id| id.to_string()),
            session_id = event.session_id.map(|id| id.to_string()),
            ip = event.client.ip.as_deref(),
            user_agent = event.client.user_agent.as_deref(),
            details = %event.details,
            "security event"
        );
        let sink = self
            .event_sink
            .as_ref()
            .filter(|sink| sink.delivers(event.kind));
        match self.durable.record_event(&event, sink.is_some()).await {
            Ok(_) => {
                if let Some(sink) = sink {
                    sink.recorded();
                }
            }
            Err(error) => {
                tracing::error!(error = %Causes(&error), kind = event.kind.as_str(), "failed to store security event");
                if sink.is_some() {
                    self.metrics.webhook_deliveries(WebhookOutcome::Dropped, 1);
                }
            }
        }
    }
}

/// Trims client-supplied text recorded with sessions and events to a sane size.
pub(crate) fn bounded(client: &ClientInfo) -> ClientInfo {
    let clip = |text: &Option<String>| text.as_ref().map(|t| t.chars().take(512).collect());
    ClientInfo {
        ip: clip(&client.ip),
        user_agent: clip(&client.user_agent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::UserId;

    const ACCESS: &str = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";
    const REFRESH: &str = "Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm8";

    #[test]
    fn debug_of_a_principal_never_prints_its_token() {
        let principal = Principal {
            claims: Arc::new(AccessClaims {
                iss: "portcullis".into(),
                aud: "app".into(),
                sub: UserId(uuid::Uuid::new_v4()),
                iat: 0,
                nbf: 0,
                exp: 900,
                jti: uuid::Uuid::new_v4(),
                sid: SessionId::new(),
                ver: 1,
                roles: vec!["admin".into()],
                email: "alice@example.com".into(),
            }),
            token: ACCESS.to_owned(),
        };
        let printed = format!("{principal:?}");
        assert!(!printed.contains(ACCESS), "{printed}");
        assert!(printed.contains("[redacted]"), "{printed}");
        assert!(printed.contains("alice@example.com"), "{printed}");
    }

    #[test]
    fn debug_of_issued_tokens_prints_neither_token() {
        let issued = Issued {
            access_token: ACCESS.to_owned(),
            expires_in: 900,
            refresh_token: RefreshSecret::parse(REFRESH).expect("well-formed refresh token"),
            refresh_expires_at: OffsetDateTime::UNIX_EPOCH,
            session_id: SessionId::new(),
        };
        let printed = format!("{issued:?}");
        assert!(!printed.contains(ACCESS), "{printed}");
        assert!(!printed.contains(REFRESH), "{printed}");
        assert!(printed.contains("expires_in: 900"), "{printed}");
    }
}
