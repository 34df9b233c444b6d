//! What `portcullis admin` reads from the operator beyond clap's own parsing: a token or a
//! password from standard input, times in three forms, address ranges and event kinds, each
//! refused with an example of what is accepted.

use anyhow::{bail, Context};
use portcullis_core::admin::parse_address_range;
use portcullis_core::EventKind;
use portcullis_service::Password;
use std::io::{BufRead, IsTerminal, Read};
use time::OffsetDateTime;

/// One line of standard input, the password (never an argument, which other users of the machine
/// can read). `example` is the command to show when there is none.
pub(crate) fn read_password(example: &str) -> anyhow::Result<Password> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password: ");
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        bail!("no password on standard input (try: echo 'secret' | {example})");
    }
    Ok(Password::new(password))
}

pub(super) fn read_token(token: String) -> anyhow::Result<String> {
    if token != "-" {
        return Ok(token);
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("cannot read the token from stdin")?;
    Ok(text.trim().to_owned())
}

pub(super) fn parse_time(text: &str) -> anyhow::Result<OffsetDateTime> {
    crate::cli_time::parse_moment(text, OffsetDateTime::now_utc())
}

/// An address or CIDR range; a single address is a range of one.
pub(super) fn address_range(text: &str) -> anyhow::Result<ipnet::IpNet> {
    parse_address_range(text)
        .with_context(|| format!("{text:?} is not an address or CIDR range (203.0.113.0/24)"))
}

/// An event kind by name; an unknown one is refused with the list of kinds.
pub(super) fn event_kind(name: &str) -> anyhow::Result<EventKind> {
    EventKind::parse(name).with_context(|| {
        let kinds: Vec<&str> = EventKind::ALL.iter().map(|kind| kind.as_str()).collect();
        format!(
            "unknown event kind {name:?}; the kinds are: {}",
            kinds.join(", ")
        )
    })
}
