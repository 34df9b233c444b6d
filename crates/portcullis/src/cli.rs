//! The command line: `serve`, `migrate`, `user add`, `admin ...`, `keys ...`.

use crate::admin_cli::{self, AdminCommand};
use crate::config::Config;
use crate::keys_cli::{self, KeysCommand};
use crate::startup::{self, Application, Background};
use crate::storage;
use anyhow::Context;
use clap::{Parser, Subcommand};
use portcullis_metrics::Metrics;
use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "portcullis",
    version,
    about = "A hybrid auth gateway: short-lived JWTs, rotating refresh cookies, instant revocation."
)]
pub struct Cli {
    /// TOML configuration file; `PORTCULLIS_*` environment variables override it.
    #[arg(long, global = true, env = "PORTCULLIS_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the gateway.
    ///
    /// Configuration: an optional TOML file (`--config FILE` or `PORTCULLIS_CONFIG`), each key
    /// overridden by a `PORTCULLIS_<KEY>` environment variable (the key in upper case); durations
    /// read as `15m`, `7d` or seconds. With no configuration at all, the embedded tier serves
    /// http://127.0.0.1:8080 and keeps its SQLite database and key-encryption key under `./data`
    /// (`data_dir`); a `postgres://` `database_url` with a `redis_url` selects the production tier.
    /// `portcullis config keys` lists every key with its default and meaning; `portcullis config
    /// check` validates a configuration and prints every key as it takes effect.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The security team's actions (see the README's runbook).
    Admin {
        /// Print JSON instead of text.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Check the configuration (the file, if any, and the `PORTCULLIS_*` environment) and print
    /// it as it takes effect, passwords and secrets hidden; exits 1 on any error.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// The signing keys: list, rotate, retire (see the README's runbook for a leaked key).
    Keys {
        /// Print JSON instead of text.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Validate, then print the effective configuration with secrets redacted.
    Check,
    /// Every configuration key with its default and meaning.
    Keys,
    /// An example configuration file: every key set to its default, under its meaning (the text
    /// of `portcullis.example.toml`).
    Example,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input, never from the command line.
    Add {
        #[arg(long)]
        email: String,
        /// A role to grant (repeatable).
        #[arg(long = "role")]
        roles: Vec<String>,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    crate::telemetry::init(config.log_format);
    match cli.command {
        Command::Serve => serve(&config).await,
        // Loading above has validated everything; a bad file or value never gets here.
        Command::Config {
            command: ConfigCommand::Check,
        } => {
            eprintln!("configuration is valid");
            println!("{:#?}", config.redacted());
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Keys,
        } => {
            println!(
                "{}",
                crate::config::keys::render(&crate::config::keys::documented_keys())
            );
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Example,
        } => {
            print!("{}", crate::config::example::render()?);
            Ok(())
        }
        Command::Migrate => {
            startup::migrate(&config).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::User {
            command: UserCommand::Add { email, roles },
        } => {
            let password = admin_cli::read_password("portcullis user add --email ...")?;
            let mut background = Background::new();
            let gateway = command_gateway(&config, &mut background).await?;
            let created = gateway
                .admin_create_user(&email, Some(&password), &roles, "cli")
                .await;
            background.stop().await;
            println!("{}", created.map_err(|e| anyhow::anyhow!(e))?);
            Ok(())
        }
        Command::Admin { json, command } => {
            let mut background = Background::new();
            let gateway = command_gateway(&config, &mut background).await?;
            let done = admin_cli::run(&gateway, &config, command, json).await;
            background.stop().await;
            done
        }
        Command::Keys { json, command } => {
            let mut background = Background::new();
            let gateway = command_gateway(&config, &mut background).await?;
            let done = keys_cli::run(&gateway, &config, command, json).await;
            background.stop().await;
            done
        }
    }
}

/// The gateway a one-off command acts through: on existing storage only (it never creates a
/// database or a key), named once on stderr so the operator sees which deployment they touch.
async fn command_gateway(
    config: &Config,
    background: &mut Background,
) -> anyhow::Result<portcullis_service::Gateway> {
    eprintln!("using {}", storage::location(config)?);
    startup::build_gateway(
        config,
        background,
        &Metrics::new(),
        storage::OnMissing::Refuse,
    )
    .await
}

async fn serve(config: &Config) -> anyhow::Result<()> {
    // Listening for stop signals before anything else: one that arrives while storage is still
    // opening must stop the server cleanly, not kill it by the signal's default action.
    let shutdown = shutdown_signal().context("cannot listen for stop signals")?;
    let app = Application::build(config).await?;
    let address = app.local_addr()?;
    let listening = listening_on(app.scheme(), address, config.demo);
    tracing::info!(%address, "portcullis {listening}");
    app.run_until(shutdown).await.context("server error")
}

/// The startup line's news: where the gateway answers and, when it is served, where the demo app
/// is. On an any-address listener the demo link names loopback, the address a browser on the
/// same machine opens (and one whose `Secure` cookie it keeps over plain HTTP).
fn listening_on(scheme: &str, address: SocketAddr, demo: bool) -> String {
    let served = format!("listening on {scheme}://{address}");
    if !demo {
        return served;
    }
    let mut local = address;
    if address.ip().is_unspecified() {
        local.set_ip(match address {
            SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("{served} (demo at {scheme}://{local}/demo/)")
}

/// Resolves at the first SIGTERM or SIGINT (Ctrl-C). The handlers are installed when this is
/// called, not when the future is first polled, so no signal in between is missed.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM received"),
            _ = interrupt.recv() => tracing::info!("SIGINT received"),
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("Ctrl-C received");
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_startup_line_names_the_demo_url_only_when_the_demo_is_on() {
        let address: SocketAddr = "127.0.0.1:8080".parse().expect("address");
        assert_eq!(
            listening_on("http", address, false),
            "listening on http://127.0.0.1:8080"
        );
        assert_eq!(
            listening_on("http", address, true),
            "listening on http://127.0.0.1:8080 (demo at http://127.0.0.1:8080/demo/)"
        );
    }

    #[test]
    fn on_every_interface_the_demo_link_names_loopback() {
        for (address, demo) in [
            ("0.0.0.0:8080", "http://127.0.0.1:8080/demo/"),
            ("[::]:8080", "http://[::1]:8080/demo/"),
        ] {
            let line = listening_on("http", address.parse().expect("address"), true);
            assert!(line.ends_with(&format!("(demo at {demo})")), "{line}");
        }
    }

    #[test]
    fn over_tls_the_startup_line_names_https() {
        let address: SocketAddr = "127.0.0.1:8443".parse().expect("address");
        assert_eq!(
            listening_on("https", address, true),
            "listening on https://127.0.0.1:8443 (demo at https://127.0.0.1:8443/demo/)"
        );
    }
}
