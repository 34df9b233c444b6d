//! Logins (issue 14 §3): throughput with the right password, each client its own account so
//! the per-account throttle never sees two at once; and the latency of `/auth/verify` while
//! four clients per core log in back to back, against the same probe on an idle gateway.

use crate::cpu::{self, Process};
use crate::driver::{self, Pace};
use crate::gateway_client::Gateway;
use crate::stats::Measurement;
use std::time::Duration;

/// Logins per second over `duration`, `clients` at a time.
pub async fn throughput(
    gateway: &Gateway,
    clients: usize,
    duration: Duration,
    server_pid: Option<u32>,
) -> anyhow::Result<Measurement> {
    let emails = accounts(gateway, "login", clients).await?;
    let gateway = gateway.clone();
    let process = Process::from_pid(server_pid);
    driver::run(emails, duration, Pace::BackToBack, process, move |email| {
        let gateway = gateway.clone();
        async move {
            gateway.login(&email).await?;
            Ok(email)
        }
    })
    .await
}

/// The verify probe: a few clients, each sending one request per interval, so it measures
/// latency without saturating the gateway itself.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    pub clients: usize,
    pub interval: Duration,
}

/// The probe on an idle gateway, then during a flood of four logging-in clients per core.
pub async fn flood(
    gateway: &Gateway,
    probe: Probe,
    duration: Duration,
) -> anyhow::Result<(Measurement, Measurement)> {
    let token = gateway.open_sessions("probe", 1).await?;
    let token = token
        .into_iter()
        .next()
        .map(|account| account.session.access_token)
        .ok_or_else(|| anyhow::anyhow!("no probe session"))?;
    let flooders = accounts(gateway, "flood", 4 * cpu::cores()).await?;

    let idle = verify_probe(gateway, &token, probe, duration).await?;
    // The flood starts first and outlasts the probe, so the probe sees only the flooded state.
    let ramp = Duration::from_millis(300);
    let flood = tokio::spawn({
        let gateway = gateway.clone();
        driver::run(
            flooders,
            duration + 2 * ramp,
            Pace::BackToBack,
            None,
            move |email| {
                let gateway = gateway.clone();
                async move {
                    gateway.login(&email).await?;
                    Ok(email)
                }
            },
        )
    });
    tokio::time::sleep(ramp).await;
    let flooded = verify_probe(gateway, &token, probe, duration).await;
    let logins = flood.await??;
    eprintln!(
        "login flood: {:.0} logins/s during the probe",
        logins.per_second()
    );
    Ok((idle, flooded?))
}

async fn verify_probe(
    gateway: &Gateway,
    token: &str,
    probe: Probe,
    duration: Duration,
) -> anyhow::Result<Measurement> {
    let gateway = gateway.clone();
    let token = token.to_owned();
    let states = vec![(); probe.clients];
    driver::run(
        states,
        duration,
        Pace::Every(probe.interval),
        None,
        move |()| {
            let gateway = gateway.clone();
            let token = token.clone();
            async move { gateway.verify(&token).await }
        },
    )
    .await
}

/// `count` accounts, registered and logged in once so the measured logins are all repeats.
async fn accounts(gateway: &Gateway, prefix: &str, count: usize) -> anyhow::Result<Vec<String>> {
    let accounts = gateway.open_sessions(prefix, count).await?;
    Ok(accounts.into_iter().map(|account| account.email).collect())
}
