//! The refresh baseline (issue 14 §2): the gateway's rotation transaction issued directly with
//! sqlx, on the real schema (the repository's own migrations), at the same concurrency and with
//! the same connection setup as the gateway's store. Each client owns one family and chains its
//! own tokens, as the gateway's bench clients do. Statements are copied from the stores'
//! `rotation.rs` and `family_rows.rs`; keep them in step.

mod postgres;
mod sqlite;

use crate::cpu::Process;
use crate::driver::{self, Pace};
use crate::stats::Measurement;
use std::path::Path;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// Rotations per second over `duration`, `clients` chains at a time.
pub async fn run(
    database: &str,
    pool: u32,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<Measurement> {
    let this = Some(Process::This);
    if database.starts_with("postgres://") || database.starts_with("postgresql://") {
        let store = postgres::Baseline::open(database, pool).await?;
        let chains = store.seed(clients).await?;
        driver::run(chains, duration, Pace::BackToBack, this, move |chain| {
            let store = store.clone();
            async move { store.rotate(chain).await }
        })
        .await
    } else {
        let store = sqlite::Baseline::open(Path::new(database)).await?;
        let chains = store.seed(clients).await?;
        driver::run(chains, duration, Pace::BackToBack, this, move |chain| {
            let store = store.clone();
            async move { store.rotate(chain).await }
        })
        .await
    }
}

/// One client's chain: its family and the token it presents next.
#[derive(Debug, Clone)]
pub struct Chain {
    family: Uuid,
    user: Uuid,
    token: [u8; 32],
    generation: i64,
}

impl Chain {
    fn new() -> Self {
        Self {
            family: Uuid::new_v4(),
            user: Uuid::new_v4(),
            token: rand::random(),
            generation: 0,
        }
    }

    /// The chain after a rotation that stored `successor`.
    fn rotated(self, successor: [u8; 32]) -> Self {
        Self {
            token: successor,
            generation: self.generation + 1,
            ..self
        }
    }
}

/// The gateway's defaults: a refresh token lives 7 days idle, a session at most 30.
fn idle_expiry(now: OffsetDateTime) -> OffsetDateTime {
    now + time::Duration::days(7)
}

fn session_expiry(now: OffsetDateTime) -> OffsetDateTime {
    now + time::Duration::days(30)
}

/// What the gateway records as the client of a rotation.
const CLIENT_IP: &str = "127.0.0.1";
const CLIENT_AGENT: &str = "portcullis-bench";
