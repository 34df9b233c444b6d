//! `portcullis admin ...`: the security team's actions from the command line. They work on the
//! configured database directly (so they work when the HTTP API is down) and reach running
//! replicas at once: through Redis on the production tier, through the shared database file on
//! the embedded tier, where a revoking command returns only once every running server has
//! confirmed it holds the revocation. Output is for people by default and JSON with `--json`.

use crate::config::Config;
use anyhow::{bail, Context};
use clap::Subcommand;
use portcullis_core::account::UserQuery;
use portcullis_core::admin::{EventQuery, SessionFilter};
use portcullis_core::user::check_role;
use portcullis_core::SessionId;
use portcullis_http::views::{
    rfc3339, EventView, ForUser, LockState, MassRevoked, RolesChanged, SessionView, TokenRevoked,
    UserErased, UserRevoked, UserSummaryView,
};
use portcullis_service::{AuthError, Gateway, TokenToRevoke};

mod inputs;
mod lines;
pub(crate) mod output;

pub(crate) use inputs::read_password;
use inputs::{address_range, event_kind, parse_time, read_token};
use lines::{event_line, session_line, sessions, user_line, webhook_line};
use output::{KeyCreated, KeyListed, KeyRevoked, Output, WebhookListed};

/// Recorded as the actor of every action taken from the command line.
const ACTOR: &str = "cli";

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Manage admin API keys.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Revoke every token and session of a user (by id or email).
    RevokeUser { user: String },
    /// Lock a user out and revoke everything they hold.
    Lock { user: String },
    /// Let a locked user log in again.
    Unlock { user: String },
    /// List accounts by email, with their roles, lock and last login.
    Users {
        /// Accounts whose email contains this text.
        #[arg(long)]
        email: Option<String>,
        /// Accounts holding this role.
        #[arg(long)]
        role: Option<String>,
        /// Only locked accounts (`--locked`) or only unlocked ones (`--locked=false`).
        #[arg(long, num_args = 0..=1, default_missing_value = "true")]
        locked: Option<bool>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Start after this email (the last one of the previous page).
        #[arg(long)]
        after: Option<String>,
    },
    /// Set a user's password (read from standard input); every session of the user ends.
    SetPassword { user: String },
    /// Erase an account: sessions ended at once, row and personal data deleted, security events
    /// kept with the email replaced by the user's id.
    DeleteUser { user: String },
    /// List a user's sessions, live and recently revoked.
    Sessions { user: String },
    /// Revoke one session and its access tokens.
    RevokeSession { id: String },
    /// Denylist one access token: `--token TOKEN` (or `--token -` to read it from stdin), or
    /// `--jti ID --exp UNIX_SECONDS`.
    RevokeToken {
        #[arg(long, conflicts_with_all = ["jti", "exp"])]
        token: Option<String>,
        #[arg(long, requires = "exp")]
        jti: Option<uuid::Uuid>,
        #[arg(long, requires = "jti")]
        exp: Option<i64>,
    },
    /// Replace a user's roles (repeat --role; none clears them); their tokens with the old
    /// roles stop verifying at once.
    Roles {
        user: String,
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// Revoke every live session matching all the given criteria; --dry-run only counts.
    RevokeSessions {
        /// Sessions created before: an RFC 3339 time, a date or an age (2h, 7d).
        #[arg(long)]
        created_before: Option<String>,
        /// Sessions last used from this address or CIDR range.
        #[arg(long)]
        last_ip_in: Option<String>,
        /// Sessions of users holding this role.
        #[arg(long)]
        role: Option<String>,
        #[arg(long)]
        dry_run: bool,
    },
    /// Show security events, newest first.
    Events {
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        kind: Option<String>,
        /// From: an RFC 3339 time, a date (2026-11-01) or an age (2h, 7d).
        #[arg(long)]
        since: Option<String>,
        /// Until: an RFC 3339 time, a date or an age, as `--since`.
        #[arg(long)]
        until: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show webhook deliveries not yet made: pending (still retried) and failed (given up),
    /// oldest event first.
    Webhooks {
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Create a key; it is printed once and never again.
    Create {
        #[arg(long)]
        name: String,
    },
    /// List keys (names and dates; never the keys).
    List,
    /// Revoke a key by name.
    Revoke { name: String },
}

impl AdminCommand {
    /// Whether the command takes something away (a token, a session, a key, an account's
    /// access), which must hold in running servers by the time the command returns.
    fn revokes(&self) -> bool {
        matches!(
            self,
            Self::Key {
                command: KeyCommand::Revoke { .. }
            } | Self::RevokeUser { .. }
                | Self::Lock { .. }
                | Self::RevokeSession { .. }
                | Self::RevokeToken { .. }
                | Self::Roles { .. }
                | Self::RevokeSessions { dry_run: false, .. }
                | Self::SetPassword { .. }
                | Self::DeleteUser { .. }
        )
    }
}

pub async fn run(
    gateway: &Gateway,
    config: &Config,
    command: AdminCommand,
    as_json: bool,
) -> anyhow::Result<()> {
    let revokes = command.revokes();
    let location = crate::storage::location(config)?;
    let output = execute(gateway, command, &location).await?;
    if revokes {
        // The revocation is committed; on the embedded tier, wait until every running server
        // holds it in memory, so that "the command has returned" means "it is in force".
        if let Some(warning) = crate::storage::confirm_revocations(config).await? {
            eprintln!("warning: {warning}");
        }
    }
    if as_json {
        println!("{}", output.json);
    } else {
        println!("{}", output.text.trim_end());
    }
    Ok(())
}

async fn execute(
    gateway: &Gateway,
    command: AdminCommand,
    location: &str,
) -> anyhow::Result<Output> {
    let failed = |error: portcullis_service::AuthError| anyhow::anyhow!("{error}");
    // "Not found" says what was looked for and where, so a command pointed at the wrong
    // deployment cannot read as "the user does not exist".
    let missing = |what: String| {
        move |error: portcullis_service::AuthError| match error {
            AuthError::NotFound => anyhow::anyhow!("no {what} in {location}"),
            other => anyhow::anyhow!("{other}"),
        }
    };
    Ok(match command {
        AdminCommand::Key {
            command: KeyCommand::Create { name },
        } => {
            let key = gateway
                .create_admin_key(&name, ACTOR)
                .await
                .map_err(failed)?;
            // Only the key on standard output, so `ADMIN_KEY=$(portcullis admin key create ...)`
            // captures exactly it; the advice goes to the operator.
            eprintln!("store the key now: it is not shown again");
            Output::new(key.clone(), &KeyCreated { key, name })?
        }
        AdminCommand::Key {
            command: KeyCommand::List,
        } => {
            let keys = gateway.admin_keys().await.map_err(failed)?;
            let rows: Vec<KeyListed> = keys
                .iter()
                .map(|key| KeyListed {
                    created_at: rfc3339(key.created_at),
                    name: &key.name,
                    revoked_at: key.revoked_at.map(rfc3339),
                })
                .collect();
            let text = keys
                .iter()
                .map(|key| {
                    let state = key
                        .revoked_at
                        .map_or("live".to_owned(), |at| format!("revoked {}", rfc3339(at)));
                    format!("{}\tcreated {}\t{state}", key.name, rfc3339(key.created_at))
                })
                .collect::<Vec<_>>()
                .join("\n");
            Output::new(text, &rows)?
        }
        AdminCommand::Key {
            command: KeyCommand::Revoke { name },
        } => {
            gateway
                .revoke_admin_key(&name, ACTOR)
                .await
                .map_err(missing(format!("live admin key named {name:?}")))?;
            Output::new(
                format!("key {name} revoked"),
                &KeyRevoked {
                    name,
                    revoked: true,
                },
            )?
        }
        AdminCommand::RevokeUser { user } => {
            let user = gateway
                .find_user(&user)
                .await
                .map_err(missing(format!("user {user:?}")))?;
            let revocation = gateway.revoke_user(user.id, ACTOR).await.map_err(failed)?;
            Output::new(
                format!(
                    "revoked {}: token version {}, {} ended",
                    user.email,
                    revocation.token_version,
                    sessions(revocation.sessions_revoked.len())
                ),
                &ForUser {
                    outcome: UserRevoked::from(&revocation),
                    user_id: user.id,
                },
            )?
        }
        AdminCommand::Lock { user } => {
            let user = gateway
                .find_user(&user)
                .await
                .map_err(missing(format!("user {user:?}")))?;
            let revocation = gateway.lock_user(user.id, ACTOR).await.map_err(failed)?;
            Output::new(
                format!(
                    "locked {} and ended {}",
                    user.email,
                    sessions(revocation.sessions_revoked.len())
                ),
                &ForUser {
                    outcome: LockState::locked(&revocation),
                    user_id: user.id,
                },
            )?
        }
        AdminCommand::Unlock { user } => {
            let user = gateway
                .find_user(&user)
                .await
                .map_err(missing(format!("user {user:?}")))?;
            gateway.unlock_user(user.id, ACTOR).await.map_err(failed)?;
            Output::new(
                format!("unlocked {}", user.email),
                &ForUser {
                    outcome: LockState::unlocked(),
                    user_id: user.id,
                },
            )?
        }
        AdminCommand::Users {
            email,
            role,
            locked,
            limit,
            after,
        } => {
            if limit == 0 {
                bail!("--limit must be at least 1");
            }
            if let Some(role) = &role {
                check_role(role).with_context(|| format!("--role {role:?}"))?;
            }
            let query = UserQuery {
                email_contains: email.map(|text| text.trim().to_ascii_lowercase()),
                role,
                locked,
                after_email: after.map(|text| text.trim().to_ascii_lowercase()),
                limit,
            };
            let users = gateway.list_users(&query).await.map_err(failed)?;
            let text = if users.is_empty() {
                "no accounts match".to_owned()
            } else {
                users.iter().map(user_line).collect::<Vec<_>>().join("\n")
            };
            let views: Vec<UserSummaryView> = users.iter().map(UserSummaryView::new).collect();
            Output::new(text, &views)?
        }
        AdminCommand::SetPassword { user } => {
            let found = gateway
                .find_user(&user)
                .await
                .map_err(missing(format!("user {user:?}")))?;
            let password = read_password(&format!("portcullis admin set-password {user}"))?;
            let revocation = gateway
                .set_password(found.id, &password, ACTOR)
                .await
                .map_err(failed)?;
            Output::new(
                format!(
                    "password of {} set; {} ended",
                    found.email,
                    sessions(revocation.sessions_revoked.len())
                ),
                &ForUser {
                    outcome: UserRevoked::from(&revocation),
                    user_id: found.id,
                },
            )?
        }
        AdminCommand::DeleteUser { user } => {
            let found = gateway
                .find_user(&user)
                .await
                .map_err(missing(format!("user {user:?}")))?;
            let erased = gateway.erase_user(found.id, ACTOR).await.map_err(failed)?;
            Output::new(
                format!(
                    "deleted {} ({}); {} ended; its events now name it by id",
                    erased.email,
                    found.id,
                    sessions(erased.sessions_ended)
                ),
                &UserErased {
                    deleted: true,
                    sessions_revoked: erased.sessions_ended,
                    user_id: found.id,
                },
            )?
        }
        AdminCommand::Sessions { user } => {
            let user = gateway
                .find_user(&user)
                .await
                .map_err(missing(format!("user {user:?}")))?;
            let sessions = gateway.user_sessions(user.id).await.map_err(failed)?;
            let text = sessions
                .iter()
                .map(session_line)
                .collect::<Vec<_>>()
                .join("\n");
            let views: Vec<SessionView> = sessions.iter().map(SessionView::new).collect();
            Output::new(text, &views)?
        }
        AdminCommand::RevokeSession { id } => {
            let id = uuid::Uuid::parse_str(&id).context("the session id must be a UUID")?;
            let family = gateway
                .admin_revoke_session(SessionId(id), ACTOR)
                .await
                .map_err(missing(format!("session {id}")))?;
            Output::new(format!("session {id} revoked"), &SessionView::new(&family))?
        }
        AdminCommand::RevokeToken { token, jti, exp } => {
            let target = match (token, jti, exp) {
                (Some(token), None, None) => TokenToRevoke::Token(read_token(token)?),
                (None, Some(jti), Some(exp)) => TokenToRevoke::Id { jti, exp },
                _ => bail!("give --token, or --jti with --exp"),
            };
            let jti = gateway.revoke_token(&target, ACTOR).await.map_err(failed)?;
            Output::new(format!("token {jti} revoked"), &TokenRevoked { jti })?
        }
        AdminCommand::Roles { user, roles } => {
            let found = gateway
                .find_user(&user)
                .await
                .map_err(missing(format!("user {user:?}")))?;
            let changed = gateway
                .change_roles(found.id, &roles, ACTOR)
                .await
                .map_err(failed)?;
            Output::new(
                format!(
                    "{} now has roles [{}]; token version {}",
                    found.email,
                    changed.roles.join(", "),
                    changed.token_version
                ),
                &RolesChanged {
                    roles: &changed.roles,
                    token_version: changed.token_version,
                    user_id: found.id,
                },
            )?
        }
        AdminCommand::RevokeSessions {
            created_before,
            last_ip_in,
            role,
            dry_run,
        } => {
            let filter = SessionFilter {
                created_before: created_before.map(|at| parse_time(&at)).transpose()?,
                last_ip_in: last_ip_in.map(|text| address_range(&text)).transpose()?,
                role,
            };
            let hit = gateway
                .mass_revoke(&filter, dry_run, ACTOR)
                .await
                .map_err(failed)?;
            let verb = if dry_run { "would revoke" } else { "revoked" };
            Output::new(
                format!("{verb} {} of {} users", sessions(hit.sessions), hit.users),
                &MassRevoked {
                    dry_run,
                    sessions: hit.sessions,
                    users: hit.users,
                },
            )?
        }
        AdminCommand::Events {
            user,
            kind,
            since,
            until,
            limit,
        } => {
            let query = EventQuery {
                user: match user {
                    Some(user) => Some(
                        gateway
                            .event_subject(&user)
                            .await
                            .map_err(missing(format!("user {user:?}")))?,
                    ),
                    None => None,
                },
                kind: kind.map(|kind| event_kind(&kind)).transpose()?,
                since: since.map(|at| parse_time(&at)).transpose()?,
                until: until.map(|at| parse_time(&at)).transpose()?,
                before_id: None,
                limit,
            };
            let events = gateway.events(&query).await.map_err(failed)?;
            let text = events.iter().map(event_line).collect::<Vec<_>>().join("\n");
            let views: Vec<EventView> = events.iter().map(EventView::new).collect();
            Output::new(text, &views)?
        }
        AdminCommand::Webhooks { limit } => {
            let entries = gateway.undelivered_webhooks(limit).await.map_err(failed)?;
            let text = if entries.is_empty() {
                "no webhook delivery pending or failed".to_owned()
            } else {
                entries
                    .iter()
                    .map(webhook_line)
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let rows: Vec<WebhookListed> = entries.iter().map(WebhookListed::new).collect();
            Output::new(text, &rows)?
        }
    })
}
