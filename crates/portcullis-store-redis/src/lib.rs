//! The revocation cache of the production tier: Redis, shared by every replica, implementing
//! [`portcullis_core::RevocationCache`] (and, on the same connection, the failed-login counters
//! of [`RedisAttemptCounter`] and the single-use keys of [`RedisSingleUse`]). It holds copies of durable facts and never decides
//! anything: the rules stay in `portcullis-core`, the truth in the durable store.
//!
//! Every call has a deadline and fails as [`StoreError::Unavailable`] past it, so the caller can
//! fall back to the durable store. `state` is one round trip that also reads the `loaded`
//! marker: when Redis has lost its data (flush, restart without persistence) the marker is gone
//! and the cache answers `None` instead of "nothing is revoked". Writes only ever raise values,
//! so concurrent `apply` and `load` calls from several replicas cannot un-revoke anything.
//!
//! Deployment requirements: Redis 7 or later (the stream uses sharded pub/sub),
//! `maxmemory-policy noeviction` (an evicted denylist key would be a silent un-revocation that
//! the marker cannot reveal), and on a Redis Cluster a prefix with a hash tag such as
//! `{portcullis}:`, so every key and channel shares one slot ([`RedisAddress::check_prefix`]).

mod address;
mod attempts;
mod cache_handle;
mod connection;
mod error;
mod key_layout;
mod listener;
mod scripts;
mod single_use;
mod slot_owner;
pub mod wire;

pub use address::{hash_tag, RedisAddress};
pub use attempts::RedisAttemptCounter;
pub use connection::SharedConnection;
pub use listener::HEARTBEAT;
pub use single_use::RedisSingleUse;

use async_trait::async_trait;
use error::bounded;
use key_layout::{KeyLayout, LOAD_SENTINEL_TTL_MS};
use portcullis_core::revocation_stream::{
    Announced, RevocationBroadcast, RevocationListener, StreamPosition,
};
use portcullis_core::{
    RevocationCache, RevocationChange, RevocationProbe, RevocationSnapshot, RevocationState,
    StoreError, StoreResult,
};
use scripts::Scripts;
use std::time::Duration;
use time::OffsetDateTime;
use wire::unix_ms;

/// How many changes one script call carries; bounds a call's size and its time in Redis.
const CHANGES_PER_CALL: usize = 500;

/// The key prefix and the deadline of each kind of call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisCacheOptions {
    /// Every key starts with this; deployments sharing a Redis use different prefixes.
    pub prefix: String,
    /// Deadline of `state`, which is on every request's path.
    pub state_timeout: Duration,
    /// Deadline of each write round trip (`apply`, each chunk of `load`) and of `ping`.
    pub write_timeout: Duration,
}

impl Default for RedisCacheOptions {
    fn default() -> Self {
        Self {
            prefix: "portcullis:".to_owned(),
            state_timeout: Duration::from_millis(50),
            write_timeout: Duration::from_millis(300),
        }
    }
}

/// A revocation cache in Redis.
#[derive(Clone)]
pub struct RedisRevocationCache {
    address: RedisAddress,
    conn: SharedConnection,
    keys: KeyLayout,
    scripts: std::sync::Arc<Scripts>,
    options: RedisCacheOptions,
}

impl RedisRevocationCache {
    /// Prepares a client for `url` (a server or a cluster, see [`RedisAddress`]) without
    /// waiting for Redis: the connection is made on first use and remade after failures, so a
    /// replica can start (and fall back) while Redis is down. Refuses a cluster URL with a
    /// prefix that would spread the keys over several slots.
    pub fn connect(url: &str, options: RedisCacheOptions) -> StoreResult<Self> {
        let address = RedisAddress::parse(url)?;
        address.check_prefix(&options.prefix)?;
        let conn = SharedConnection::lazy(&address, options.write_timeout)?;
        Ok(Self {
            address,
            conn,
            keys: KeyLayout::new(&options.prefix),
            scripts: std::sync::Arc::new(Scripts::new()),
            options,
        })
    }

    /// Raises the keys of `changes` in chunks, skipping denylist entries already lapsed.
    #[tracing::instrument(skip_all, fields(changes = changes.len()))]
    async fn raise(&self, changes: &[RevocationChange], now: OffsetDateTime) -> StoreResult<()> {
        let entries: Vec<_> = in_force(changes, now)
            .iter()
            .map(|change| self.entry(change))
            .collect();
        for chunk in entries.chunks(CHANGES_PER_CALL) {
            let mut invocation = self.scripts.raise.prepare_invoke();
            for (key, kind, value) in chunk {
                invocation.key(key).arg(*kind).arg(*value);
            }
            let mut conn = self.conn.clone();
            let _changed: i64 = bounded(
                self.options.write_timeout,
                "apply",
                invocation.invoke_async(&mut conn),
            )
            .await?;
        }
        Ok(())
    }

    fn entry(&self, change: &RevocationChange) -> (String, &'static str, i64) {
        match *change {
            RevocationChange::TokenVersion { user, version } => {
                (self.keys.version(user), "v", version)
            }
            RevocationChange::SessionDenied { session, until } => {
                (self.keys.session(session), "d", unix_ms(until))
            }
            RevocationChange::JtiDenied { jti, until } => (self.keys.jti(jti), "d", unix_ms(until)),
            RevocationChange::KeyRetired { kid, until } => {
                (self.keys.retired_key(kid), "d", unix_ms(until))
            }
        }
    }
}

#[async_trait]
impl RevocationCache for RedisRevocationCache {
    #[tracing::instrument(skip_all)]
    async fn state(
        &self,
        probe: &RevocationProbe,
        now: OffsetDateTime,
    ) -> StoreResult<Option<RevocationState>> {
        let mut conn = self.conn.clone();
        let mut get = redis::cmd("MGET");
        get.arg(&self.keys.probe(probe));
        let values: Vec<Option<String>> = bounded(
            self.options.state_timeout,
            "state",
            get.query_async(&mut conn),
        )
        .await?;
        state_from(&values, unix_ms(now))
    }

    async fn apply(&self, changes: &[RevocationChange], now: OffsetDateTime) -> StoreResult<()> {
        self.raise(changes, now).await
    }

    /// Merges the snapshot in (values only rise, see [`scripts`]) and then writes the marker,
    /// but only if Redis kept everything this load wrote.
    ///
    /// Merging is replacing for every state the durable store can reach: versions only grow and
    /// nothing is ever un-denied, so a stored value the snapshot lacks or exceeds is either a
    /// newer fact from a concurrent `apply` or a denylist entry that will expire on its own.
    #[tracing::instrument(skip_all, fields(facts = snapshot.len()))]
    async fn load(&self, snapshot: &RevocationSnapshot, now: OffsetDateTime) -> StoreResult<()> {
        let epoch = uuid::Uuid::new_v4().simple().to_string();
        let sentinel = self.keys.loading(&epoch);
        let mut conn = self.conn.clone();
        let mut start = redis::cmd("SET");
        start
            .arg(&sentinel)
            .arg(1)
            .arg("PX")
            .arg(LOAD_SENTINEL_TTL_MS);
        let () = bounded(
            self.options.write_timeout,
            "load",
            start.query_async(&mut conn),
        )
        .await?;
        self.raise(snapshot, now).await?;
        let mut finish = self.scripts.mark_loaded.prepare_invoke();
        finish.key(&sentinel).key(self.keys.loaded()).arg(&epoch);
        let marked: i64 = bounded(
            self.options.write_timeout,
            "load",
            finish.invoke_async(&mut conn),
        )
        .await?;
        if marked == 1 {
            Ok(())
        } else {
            Err(StoreError::Unavailable(
                "redis lost data while the revocation cache was loading".into(),
            ))
        }
    }

    async fn ping(&self) -> StoreResult<()> {
        let mut conn = self.conn.clone();
        let pong: String = bounded(
            self.options.write_timeout,
            "ping",
            redis::cmd("PING").query_async(&mut conn),
        )
        .await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(StoreError::Backend(
                format!("redis answered PING with {pong:?}").into(),
            ))
        }
    }
}

#[async_trait]
impl RevocationBroadcast for RedisRevocationCache {
    /// One script call per chunk of changes, each raising its facts and announcing them; the
    /// last chunk's announcement is the one to wait for (listeners hear them in order).
    #[tracing::instrument(skip_all, fields(changes = changes.len()))]
    async fn announce(
        &self,
        changes: &[RevocationChange],
        writer: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Announced>> {
        let live = in_force(changes, now);
        let mut last = None;
        for chunk in live.chunks(CHANGES_PER_CALL) {
            let mut invocation = self.scripts.announce.prepare_invoke();
            invocation
                .key(self.keys.stream_generation())
                .key(self.keys.stream_epoch())
                .arg(self.keys.announcements())
                .arg(uuid::Uuid::new_v4().simple().to_string())
                .arg(writer)
                .arg(wire::facts(chunk));
            for change in chunk {
                let (key, kind, value) = self.entry(change);
                invocation.key(key).arg(kind).arg(value);
            }
            let mut conn = self.conn.clone();
            let (generation, epoch, listeners): (String, u64, u64) = bounded(
                self.options.write_timeout,
                "announce",
                invocation.invoke_async(&mut conn),
            )
            .await?;
            last = Some(Announced {
                generation,
                epoch,
                listeners,
            });
        }
        Ok(last)
    }

    async fn listen(&self, listener: &str) -> StoreResult<Box<dyn RevocationListener>> {
        let channels = listener::Channels {
            announcements: self.keys.announcements(),
            acknowledgements: self.keys.acknowledgements(listener),
        };
        let subscribed =
            listener::subscribe(&self.address, channels, self.options.write_timeout).await?;
        Ok(Box::new(subscribed))
    }

    async fn position(&self) -> StoreResult<StreamPosition> {
        let mut conn = self.conn.clone();
        let mut get = redis::cmd("MGET");
        get.arg(self.keys.stream_generation())
            .arg(self.keys.stream_epoch());
        let (generation, epoch): (Option<String>, Option<u64>) = bounded(
            self.options.write_timeout,
            "position",
            get.query_async(&mut conn),
        )
        .await?;
        Ok(StreamPosition {
            generation,
            epoch: epoch.unwrap_or(0),
        })
    }

    async fn acknowledge(
        &self,
        writer: &str,
        generation: &str,
        epoch: u64,
        listener: &str,
    ) -> StoreResult<()> {
        let mut conn = self.conn.clone();
        let mut publish = redis::cmd("SPUBLISH");
        publish
            .arg(self.keys.acknowledgements(writer))
            .arg(format!("{generation} {epoch} {listener}"));
        let _received: u64 = bounded(
            self.options.write_timeout,
            "acknowledge",
            publish.query_async(&mut conn),
        )
        .await?;
        Ok(())
    }

    /// Whether the cache holds a complete copy (its marker is there): a cache that lost its
    /// data needs filling again even if no request asks it anything.
    async fn vouches(&self) -> StoreResult<bool> {
        let mut conn = self.conn.clone();
        let exists: bool = bounded(
            self.options.write_timeout,
            "vouches",
            redis::cmd("EXISTS")
                .arg(self.keys.loaded())
                .query_async(&mut conn),
        )
        .await?;
        Ok(exists)
    }
}

/// Reads an MGET of [`KeyLayout::probe`]: `None` without the marker, else the three checks.
fn state_from(values: &[Option<String>], now_ms: i64) -> StoreResult<Option<RevocationState>> {
    let [marker, version, session, jti, key] = values else {
        return Err(StoreError::Backend(
            format!("redis returned {} values for 5 keys", values.len()).into(),
        ));
    };
    if marker.is_none() {
        return Ok(None);
    }
    let number = |value: &Option<String>| -> StoreResult<Option<i64>> {
        value
            .as_deref()
            .map(|text| {
                text.parse::<i64>().map_err(|_| {
                    StoreError::Backend(format!("non-numeric cache value {text:?}").into())
                })
            })
            .transpose()
    };
    Ok(Some(RevocationState {
        // Users never revoked are not in the cache: their version is the initial 0.
        token_version: number(version)?.unwrap_or(0),
        session_revoked: number(session)?.is_some_and(|until| until > now_ms),
        jti_denied: number(jti)?.is_some_and(|until| until > now_ms),
        key_retired: number(key)?.is_some_and(|until| until > now_ms),
    }))
}

/// The changes that can still refuse a token at `now`: every version, and the denials that
/// have not lapsed.
fn in_force(changes: &[RevocationChange], now: OffsetDateTime) -> Vec<RevocationChange> {
    changes
        .iter()
        .filter(|change| match **change {
            RevocationChange::TokenVersion { .. } => true,
            RevocationChange::SessionDenied { until, .. }
            | RevocationChange::JtiDenied { until, .. }
            | RevocationChange::KeyRetired { until, .. } => until > now,
        })
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(text: &str) -> Option<String> {
        Some(text.to_owned())
    }

    #[test]
    fn state_is_unknown_without_the_marker_and_lapses_at_until() {
        assert_eq!(
            state_from(&[None, some("3"), None, None, None], 0).ok(),
            Some(None)
        );
        let values = [
            some("e"),
            some("3"),
            some("1000"),
            some("2000"),
            some("1400"),
        ];
        assert_eq!(
            state_from(&values, 1500).ok().flatten(),
            Some(RevocationState {
                token_version: 3,
                session_revoked: false,
                jti_denied: true,
                key_retired: false,
            })
        );
        let retired = [some("e"), None, None, None, some("2000")];
        assert!(state_from(&retired, 1500)
            .ok()
            .flatten()
            .is_some_and(|state| state.key_retired));
        let fresh = [some("e"), None, None, None, None];
        assert_eq!(
            state_from(&fresh, 0).ok().flatten(),
            Some(RevocationState::default())
        );
        assert!(state_from(&[some("e"), some("x"), None, None, None], 0).is_err());
        assert!(state_from(&[some("e")], 0).is_err());
    }
}
