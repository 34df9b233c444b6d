//! `portcullis keys ...`: the signing-key lifecycle from the command line, on the configured
//! database directly (like `admin`), so a leaked key can be cut off while the HTTP API is down.
//! A retirement returns only once it is in force on running servers (see `admin_cli`).

use crate::admin_cli::output::Output;
use crate::config::Config;
use clap::Subcommand;
use portcullis_http::views::{SigningKeyView, SigningKeys};
use portcullis_service::{AuthError, Gateway, RetireRefused};

/// Recorded as the actor of every action taken from the command line.
const ACTOR: &str = "cli";

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// List the signing keys: kid, algorithm, state, created, activates and retires at.
    List,
    /// Make a new signing key. It is published at once and signs after
    /// `signing_key_publish_ahead` (default 10m), so verifiers with a cached JWKS know it first.
    Rotate {
        /// Sign with it at once (an emergency, or tests); the old key keeps verifying until
        /// its tokens have expired.
        #[arg(long)]
        now: bool,
    },
    /// Retire a key at once: gone from the JWKS, its tokens refused on every replica's next
    /// request. The active key cannot be retired: rotate first.
    Retire { kid: String },
}

pub async fn run(
    gateway: &Gateway,
    config: &Config,
    command: KeysCommand,
    as_json: bool,
) -> anyhow::Result<()> {
    let failed = |error: portcullis_service::AuthError| anyhow::anyhow!("{error}");
    let output = match command {
        KeysCommand::List => {
            let keys = gateway.signing_keys().await.map_err(failed)?;
            let views: Vec<SigningKeyView> = keys.iter().map(SigningKeyView::from).collect();
            let text = views.iter().map(key_line).collect::<Vec<_>>().join("\n");
            Output::new(text, &SigningKeys { keys: views })?
        }
        KeysCommand::Rotate { now } => {
            let key = gateway
                .rotate_signing_key(now, ACTOR)
                .await
                .map_err(failed)?;
            let view = SigningKeyView::from(&key);
            Output::new(format!("created {}", key_line(&view)), &view)?
        }
        KeysCommand::Retire { kid } => {
            let key =
                gateway
                    .retire_signing_key(&kid, ACTOR)
                    .await
                    .map_err(|error| match error {
                        AuthError::SigningKey(RetireRefused::NotFound(_)) => anyhow::anyhow!(
                            "no signing key with kid {kid:?} in {}",
                            crate::storage::location(config).unwrap_or_default()
                        ),
                        other => failed(other),
                    })?;
            // On the embedded tier, wait until every running server holds the retirement.
            if let Some(warning) = crate::storage::confirm_revocations(config).await? {
                eprintln!("warning: {warning}");
            }
            let view = SigningKeyView::from(&key);
            Output::new(format!("retired {}", key_line(&view)), &view)?
        }
    };
    if as_json {
        println!("{}", output.json);
    } else {
        println!("{}", output.text.trim_end());
    }
    Ok(())
}

fn key_line(key: &SigningKeyView) -> String {
    let retires = key
        .retires_at
        .as_deref()
        .map_or(String::new(), |at| format!("  retires {at}"));
    format!(
        "{}  {:<5}  {:<8}  created {}  activates {}{retires}",
        key.kid, key.alg, key.state, key.created_at, key.activates_at
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_http::views::rfc3339;

    #[test]
    fn a_key_line_names_every_date_it_knows() {
        let key = SigningKeyView {
            activates_at: rfc3339(time::OffsetDateTime::UNIX_EPOCH),
            alg: "EdDSA".into(),
            created_at: rfc3339(time::OffsetDateTime::UNIX_EPOCH),
            kid: "abc".into(),
            retires_at: Some("1970-01-01T00:15:10Z".into()),
            state: "retiring",
        };
        assert_eq!(
            key_line(&key),
            "abc  EdDSA  retiring  created 1970-01-01T00:00:00Z  activates 1970-01-01T00:00:00Z  retires 1970-01-01T00:15:10Z"
        );
    }
}
