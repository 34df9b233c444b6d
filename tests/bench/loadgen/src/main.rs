//! The load generator and same-run baselines behind `just bench` (driven by
//! `tests/bench/run.sh`). Each measuring command runs for a fixed time, appends one
//! measurement (requests, seconds, p50, p99, CPU time of the measured process) to a results
//! file, and prints it; `summary` turns the file into the comparison table. It never decides
//! whether a gateway is fast enough on its own: every figure is compared with a baseline
//! measured in the same run. The one exception is revocation lag, whose target the issue sets
//! in milliseconds: nothing else in the run bounds how late a replica may learn of a revocation.

mod argon2_baseline;
mod cpu;
mod driver;
mod gateway_client;
mod login;
mod refresh;
mod results;
mod revocation_lag;
mod rotation;
mod stats;
mod summary;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(about = "Load generator and baselines for `just bench`")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Chained refreshes against a gateway: each client logs in once, then rotates its own cookie.
    Refresh {
        #[command(flatten)]
        gateway: Target,
        #[arg(long, default_value_t = 32)]
        clients: usize,
        #[command(flatten)]
        out: Output,
    },
    /// The gateway's rotation transaction issued directly with sqlx (the refresh baseline).
    Rotation {
        /// `postgres://...` or a path to a SQLite file (created).
        #[arg(long)]
        database: String,
        /// Connections to Postgres; the gateway's default pool size. SQLite always has one writer.
        #[arg(long, default_value_t = 10)]
        pool: u32,
        #[arg(long, default_value_t = 32)]
        clients: usize,
        #[command(flatten)]
        out: Output,
    },
    /// Logins with the right password, each client its own account.
    Login {
        #[command(flatten)]
        gateway: Target,
        /// Default: four per core.
        #[arg(long)]
        clients: Option<usize>,
        #[command(flatten)]
        out: Output,
    },
    /// argon2id verifications with the gateway's parameters on every core (the login baseline).
    Argon2 {
        #[command(flatten)]
        out: Output,
    },
    /// Paced /auth/verify probes, idle and then during a login flood of four clients per core;
    /// records `<name>-idle` and `<name>-during-login-flood`.
    Flood {
        #[command(flatten)]
        gateway: Target,
        /// Probe clients, each sending one verify every `probe_interval_ms`.
        #[arg(long, default_value_t = 4)]
        probes: usize,
        #[arg(long, default_value_t = 2)]
        probe_interval_ms: u64,
        #[command(flatten)]
        out: Output,
    },
    /// Revocations on one replica watched on another: each session ended on `--revoker` (admin
    /// user revoke, admin session delete, logout, in turn), after a random pause, then
    /// `--observer` polled back to back until it refuses the access token. Records every
    /// revocation's lag.
    Lag {
        /// Replica A, where sessions are ended.
        #[arg(long)]
        revoker: String,
        /// Replica B, on the same storage, where the token is verified.
        #[arg(long)]
        observer: String,
        /// An admin key of the deployment (`portcullis admin key create`).
        #[arg(long, env = "BENCH_ADMIN_KEY", hide_env_values = true)]
        admin_key: String,
        #[arg(long, default_value_t = 300)]
        revocations: usize,
        /// Longest pause before a revocation (drawn uniformly from zero), so revocations do not
        /// fall in step with a replica's polling.
        #[arg(long, default_value_t = 100)]
        pause_up_to_ms: u64,
        /// How long B is watched after a revocation before it is counted as never refused.
        #[arg(long, default_value_t = 5000)]
        give_up_after_ms: u64,
        #[command(flatten)]
        out: Output,
    },
    /// Appends a measurement taken by another tool (wrk), over `--seconds`.
    Record {
        #[arg(long)]
        requests: u64,
        #[arg(long)]
        p50_ms: f64,
        #[arg(long)]
        p99_ms: f64,
        #[arg(long)]
        cpu_us: Option<f64>,
        #[command(flatten)]
        out: Output,
    },
    /// Prints the comparison table of a results file and writes it as JSON.
    Summary {
        #[arg(long)]
        results: PathBuf,
        #[arg(long)]
        json: PathBuf,
    },
}

/// The gateway under load.
#[derive(Args)]
struct Target {
    /// Base URL, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    base: String,
    /// The gateway's process id: its CPU time is measured around the run.
    #[arg(long)]
    server_pid: Option<u32>,
}

/// How long to measure and where the measurement goes.
#[derive(Args)]
struct Output {
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// `embedded` or `production`.
    #[arg(long)]
    tier: String,
    /// What was measured, e.g. `refresh` or `rotation-sqlx`.
    #[arg(long)]
    name: String,
    /// JSON-lines file the measurement is appended to.
    #[arg(long)]
    results: PathBuf,
}

impl Output {
    fn duration(&self) -> anyhow::Result<Duration> {
        Duration::try_from_secs_f64(self.seconds).context("--seconds must be a positive number")
    }

    fn save(&self, name: &str, measurement: stats::Measurement) -> anyhow::Result<()> {
        results::append(&self.results, &self.tier, name, &measurement)
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Summary { results, json } = &cli.command {
        return summary::write(results, json);
    }
    if let Command::Argon2 { out } = &cli.command {
        // Plain threads, one per core: no runtime competes with the hashing.
        return out.save(&out.name, argon2_baseline::run(out.duration()?)?);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(cli.command))
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Refresh {
            gateway,
            clients,
            out,
        } => {
            let client = gateway_client::Gateway::new(&gateway.base)?;
            let measured = refresh::run(client, clients, out.duration()?, gateway.server_pid);
            out.save(&out.name, measured.await?)
        }
        Command::Rotation {
            database,
            pool,
            clients,
            out,
        } => {
            let measured = rotation::run(&database, pool, clients, out.duration()?).await?;
            out.save(&out.name, measured)
        }
        Command::Login {
            gateway,
            clients,
            out,
        } => {
            let client = gateway_client::Gateway::new(&gateway.base)?;
            let clients = clients.unwrap_or_else(|| 4 * cpu::cores());
            let measured = login::throughput(&client, clients, out.duration()?, gateway.server_pid);
            out.save(&out.name, measured.await?)
        }
        Command::Flood {
            gateway,
            probes,
            probe_interval_ms,
            out,
        } => {
            let client = gateway_client::Gateway::new(&gateway.base)?;
            let probe = login::Probe {
                clients: probes,
                interval: Duration::from_millis(probe_interval_ms),
            };
            let (idle, flooded) = login::flood(&client, probe, out.duration()?).await?;
            out.save(&format!("{}-idle", out.name), idle)?;
            out.save(&format!("{}-during-login-flood", out.name), flooded)
        }
        Command::Lag {
            revoker,
            observer,
            admin_key,
            revocations,
            pause_up_to_ms,
            give_up_after_ms,
            out,
        } => {
            let replicas = revocation_lag::Replicas {
                revoker: gateway_client::Gateway::new(&revoker)?,
                observer: gateway_client::Gateway::new(&observer)?,
                admin_key,
            };
            let plan = revocation_lag::Plan {
                revocations,
                pause_up_to: Duration::from_millis(pause_up_to_ms),
                give_up_after: Duration::from_millis(give_up_after_ms),
            };
            let run = revocation_lag::run(&replicas, &plan).await?;
            run.print_by_kind(&out.tier);
            results::append_record(&out.results, &run.into_record(&out.tier, &out.name)?)
        }
        Command::Record {
            requests,
            p50_ms,
            p99_ms,
            cpu_us,
            out,
        } => out.save(
            &out.name,
            stats::Measurement {
                requests,
                seconds: out.seconds,
                p50_ms,
                p99_ms,
                cpu_us,
            },
        ),
        Command::Summary { .. } | Command::Argon2 { .. } => Ok(()),
    }
}
