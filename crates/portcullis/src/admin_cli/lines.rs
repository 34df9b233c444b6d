//! The text lines `portcullis admin` prints for people (scripts read `--json`, rendered from the
//! shared views instead).

use portcullis_core::account::UserSummary;
use portcullis_core::admin::StoredEvent;
use portcullis_core::webhook_outbox::{DeliveryState, UndeliveredEntry};
use portcullis_core::Family;
use portcullis_http::views::rfc3339;

pub(super) fn session_line(family: &Family) -> String {
    let state = match (family.revoked_at, family.revoked_reason) {
        (Some(at), reason) => format!(
            "revoked {} ({})",
            rfc3339(at),
            reason.map_or("unknown", |r| r.as_str())
        ),
        (None, _) => "live".to_owned(),
    };
    format!(
        "{}\t{state}\tlast used {} from {}\t{}",
        family.id,
        rfc3339(family.last_used_at),
        family.last_client.ip.as_deref().unwrap_or("-"),
        family.last_client.user_agent.as_deref().unwrap_or("-"),
    )
}

pub(super) fn event_line(stored: &StoredEvent) -> String {
    let event = &stored.event;
    format!(
        "{}\t{}\tuser {}\tactor {}\tfrom {}\tagent {}\t{}",
        rfc3339(event.at),
        event.kind.as_str(),
        event.user_id.map_or("-".to_owned(), |id| id.to_string()),
        event.actor.as_deref().unwrap_or("-"),
        event.client.ip.as_deref().unwrap_or("-"),
        event.client.user_agent.as_deref().unwrap_or("-"),
        event.details,
    )
}

pub(super) fn user_line(user: &UserSummary) -> String {
    let roles = if user.roles.is_empty() {
        "no roles".to_owned()
    } else {
        format!("roles {}", user.roles.join(","))
    };
    format!(
        "{}\t{}\t{}\t{roles}\tcreated {}\tlast login {}",
        user.email,
        user.id,
        if user.locked { "locked" } else { "active" },
        rfc3339(user.created_at),
        user.last_login_at.map_or("never".to_owned(), rfc3339),
    )
}

/// "1 session", "2 sessions", "0 sessions".
pub(super) fn sessions(count: usize) -> String {
    match count {
        1 => "1 session".to_owned(),
        n => format!("{n} sessions"),
    }
}

pub(super) fn webhook_line(entry: &UndeliveredEntry) -> String {
    let next = match entry.state {
        DeliveryState::Pending => format!("next attempt {}", rfc3339(entry.next_attempt_at)),
        DeliveryState::Failed | DeliveryState::Delivered => "not retried".to_owned(),
    };
    format!(
        "event {}\t{}\t{}\t{} attempts\t{next}\t{}",
        entry.event_id,
        entry.kind.as_str(),
        entry.state.as_str(),
        entry.attempts,
        entry.last_error.as_deref().unwrap_or("-"),
    )
}
