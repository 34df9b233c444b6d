//! Revocation lag (issue 14 §1): how long after a revoking call returns on replica A replica B
//! still accepts the access token. Sessions are opened up front (each login costs an argon2
//! hash, which must not run during the measurement); then, one revocation at a time, after a
//! random pause: B must answer 200 for the token, A revokes it (the three kinds in turn), and
//! B is polled back to back on its kept-alive connection until it answers 401. Never measures
//! two revocations at once, so one's polls cannot delay another's.
//!
//! The pause keeps revocations out of step with anything periodic in a replica. Without it,
//! each revocation would start right after B noticed the previous one, so on a replica that
//! polls for changes (the embedded tier, every 100 ms) every revocation would land just after
//! a poll and wait the longest: the run would measure the interval, not the lag.

mod tally;

pub use tally::{Kind, LagStats, Observation};

use crate::gateway_client::{Gateway, Session};
use crate::results::Record;
use crate::stats::Measurement;
use anyhow::{ensure, Context};
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use tally::Watch;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Accounts whose sessions are ended one at a time (logout, admin session delete): few, as a
/// registration costs an argon2 hash; an admin user revoke gets an account of its own, since it
/// ends every session of the user.
const SESSION_ACCOUNTS: usize = 8;
/// Logins in flight while preparing: below the per-account throttle's 10 reservations, so
/// logins to one account are never refused for arriving together.
const PREPARE_CONCURRENCY: usize = 8;

/// Replica A, where sessions are ended, and replica B, which is watched.
pub struct Replicas {
    pub revoker: Gateway,
    pub observer: Gateway,
    pub admin_key: String,
}

/// How many revocations, how they are spaced, and how long each is watched.
pub struct Plan {
    pub revocations: usize,
    /// Before each revocation, a pause drawn uniformly from zero to this.
    pub pause_up_to: Duration,
    /// How long B is watched before the revocation is counted as never refused.
    pub give_up_after: Duration,
}

/// What a run saw, revocation by revocation, and how long the revocations took in all.
pub struct Run {
    pub observations: Vec<Observation>,
    pub elapsed: Duration,
}

impl Run {
    /// A line per kind of revocation, for the run's log (the record's line covers them all).
    pub fn print_by_kind(&self, tier: &str) {
        for (kind, stats) in LagStats::by_kind(&self.observations) {
            eprintln!(
                "  {:<10} {:<26} {:>4} revocations | p50 {:8.3} ms | p99 {:8.3} ms | max {:8.3} ms | {} stale 200s",
                tier,
                kind.label(),
                stats.revocations,
                stats.p50_ms,
                stats.p99_ms,
                stats.max_ms,
                stats.stale_200s
            );
        }
    }

    /// The results record: the lag's percentiles as the measurement's, and every observation.
    pub fn into_record(self, tier: &str, name: &str) -> anyhow::Result<Record> {
        let stats = LagStats::of(&self.observations).context("no revocation was measured")?;
        Ok(Record {
            tier: tier.to_owned(),
            name: name.to_owned(),
            measurement: Measurement {
                requests: stats.revocations as u64,
                seconds: self.elapsed.as_secs_f64(),
                p50_ms: stats.p50_ms,
                p99_ms: stats.p99_ms,
                cpu_us: None,
            },
            revocations: self.observations,
        })
    }
}

/// A session to end, and how.
struct Target {
    kind: Kind,
    session: Session,
}

pub async fn run(replicas: &Replicas, plan: &Plan) -> anyhow::Result<Run> {
    wait_for_admin_key(replicas).await?;
    let targets = prepare(&replicas.revoker, plan.revocations).await?;
    let start = Instant::now();
    let mut observations = Vec::with_capacity(targets.len());
    for target in &targets {
        let pause = rand::thread_rng().gen_range(Duration::ZERO..=plan.pause_up_to);
        tokio::time::sleep(pause).await;
        observations.push(revoke_and_watch(replicas, target, plan.give_up_after).await?);
    }
    Ok(Run {
        observations,
        elapsed: start.elapsed(),
    })
}

/// One revocation: B accepts the token, A ends the session, B is polled until it refuses.
async fn revoke_and_watch(
    replicas: &Replicas,
    target: &Target,
    give_up_after: Duration,
) -> anyhow::Result<Observation> {
    let Replicas {
        revoker,
        observer,
        admin_key,
    } = replicas;
    let token = &target.session.access_token;
    let identity = observer
        .identify(token)
        .await
        .context("replica B before the revocation")?;
    match target.kind {
        Kind::AdminUserRevoke => {
            revoker
                .admin_revoke_user(admin_key, &identity.user_id)
                .await?
        }
        Kind::AdminSessionDelete => {
            revoker
                .admin_delete_session(admin_key, &identity.session_id)
                .await?
        }
        Kind::Logout => revoker.logout(&target.session).await?,
    }
    let returned = Instant::now();
    let mut watch = Watch::new(target.kind);
    loop {
        let status = observer.verify_status(token).await?;
        let since = returned.elapsed();
        if let Some(observation) = watch.answer(status.as_u16(), since)? {
            return Ok(observation);
        }
        if since >= give_up_after {
            return Ok(watch.give_up(since));
        }
    }
}

/// A key made on the command line reaches an embedded server with its next look at the
/// database; wait for A to accept it rather than count its first refusals as failures.
async fn wait_for_admin_key(replicas: &Replicas) -> anyhow::Result<()> {
    for _ in 0..100 {
        if replicas
            .revoker
            .accepts_admin_key(&replicas.admin_key)
            .await?
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("replica A did not accept the admin key within 5 s")
}

/// One session per revocation, in the order they will be ended: setup, not measured.
async fn prepare(gateway: &Gateway, revocations: usize) -> anyhow::Result<Vec<Target>> {
    let shared = |n: usize| format!("lag-sessions-{}@bench.example", n % SESSION_ACCOUNTS);
    for account in 0..SESSION_ACCOUNTS.min(revocations) {
        gateway.register(&shared(account)).await?;
    }
    let slots = Arc::new(Semaphore::new(PREPARE_CONCURRENCY));
    let mut logins = JoinSet::new();
    for n in 0..revocations {
        let (gateway, slots) = (gateway.clone(), Arc::clone(&slots));
        let kind = Kind::nth(n);
        logins.spawn(async move {
            let _slot = slots.acquire_owned().await?;
            let email = match kind {
                Kind::AdminUserRevoke => {
                    let email = format!("lag-user-{n}@bench.example");
                    gateway.register(&email).await?;
                    email
                }
                Kind::AdminSessionDelete | Kind::Logout => shared(n),
            };
            let session = gateway.login(&email).await?;
            anyhow::Ok((n, Target { kind, session }))
        });
    }
    let mut targets: Vec<Option<Target>> = (0..revocations).map(|_| None).collect();
    while let Some(login) = logins.join_next().await {
        let (n, target) = login??;
        targets[n] = Some(target);
    }
    let targets: Vec<Target> = targets.into_iter().flatten().collect();
    ensure!(targets.len() == revocations, "a session was not opened");
    Ok(targets)
}
