//! Chained refreshes (issue 14 §2): each client logs in once, then presents its cookie and takes
//! the rotated one from every answer. An answer other than 200, or a cookie that is not new,
//! fails the run: a bench that counted refusals or reissued tokens would measure nothing.

use crate::cpu::Process;
use crate::driver::{self, Pace};
use crate::gateway_client::Gateway;
use crate::stats::Measurement;
use anyhow::ensure;
use std::collections::HashSet;
use std::time::Duration;

/// One client's chain: the cookie to present next and every cookie it has held.
struct Chain {
    cookie: String,
    seen: HashSet<String>,
}

pub async fn run(
    gateway: Gateway,
    clients: usize,
    duration: Duration,
    server_pid: Option<u32>,
) -> anyhow::Result<Measurement> {
    // One account per client, as real sessions spread over users.
    let chains = gateway
        .open_sessions("refresh", clients)
        .await?
        .into_iter()
        .map(|account| Chain {
            seen: HashSet::from([account.session.cookie.clone()]),
            cookie: account.session.cookie,
        })
        .collect();
    let process = Process::from_pid(server_pid);
    driver::run(
        chains,
        duration,
        Pace::BackToBack,
        process,
        move |mut chain| {
            let gateway = gateway.clone();
            async move {
                let rotated = gateway.refresh(&chain.cookie).await?;
                ensure!(
                    chain.seen.insert(rotated.clone()),
                    "refresh answered with a cookie this client already held"
                );
                chain.cookie = rotated;
                Ok(chain)
            }
        },
    )
    .await
}
