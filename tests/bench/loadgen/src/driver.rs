//! Virtual clients for a fixed time. Each client owns its state (a cookie chain, a token row)
//! and runs one request at a time, either back to back (closed loop: the throughput runs) or at
//! a fixed pace (the latency probes). Every latency is kept; any failed request fails the run.

use crate::cpu::{Process, Stopwatch};
use crate::stats::Measurement;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

/// How a client issues its requests.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// The next request as soon as the previous answer is in.
    BackToBack,
    /// One request per interval (fewer when answers are slower than that).
    Every(Duration),
}

/// Runs one client per state for `duration`; `step` takes a client's state, makes one request
/// and gives the state back. The CPU time of `process` is measured over the run.
pub async fn run<S, F, Fut>(
    states: Vec<S>,
    duration: Duration,
    pace: Pace,
    process: Option<Process>,
    step: F,
) -> anyhow::Result<Measurement>
where
    S: Send + 'static,
    F: Fn(S) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<S>> + Send + 'static,
{
    let step = Arc::new(step);
    let cpu = Stopwatch::start(process)?;
    let start = Instant::now();
    let deadline = start + duration;
    let mut clients = JoinSet::new();
    for state in states {
        let step = Arc::clone(&step);
        clients.spawn(async move {
            let mut state = state;
            let mut samples = Vec::new();
            let mut ticks = match pace {
                Pace::BackToBack => None,
                Pace::Every(interval) => {
                    let mut ticks = tokio::time::interval(interval);
                    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
                    Some(ticks)
                }
            };
            loop {
                if let Some(ticks) = ticks.as_mut() {
                    ticks.tick().await;
                }
                let sent = Instant::now();
                if sent >= deadline {
                    break;
                }
                state = step(state).await?;
                samples.push(sent.elapsed());
            }
            anyhow::Ok(samples)
        });
    }
    let mut samples = Vec::new();
    while let Some(client) = clients.join_next().await {
        samples.extend(client??);
    }
    let elapsed = start.elapsed();
    Ok(Measurement::from_samples(samples, elapsed, cpu.stop()?))
}
