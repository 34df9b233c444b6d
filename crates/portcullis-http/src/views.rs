//! JSON views of sessions and security events, shared by the admin API and the admin CLI so
//! both speak the same shape.

use portcullis_core::admin::StoredEvent;
use portcullis_core::Family;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// A session as the security team sees it: live or not, and why it was revoked.
pub fn session_json(family: &Family) -> Value {
    json!({
        "id": family.id,
        "user_id": family.user_id,
        "created_at": rfc3339(family.created_at),
        "last_used_at": rfc3339(family.last_used_at),
        "user_agent": family.last_client.user_agent,
        "ip": family.last_client.ip,
        "live": family.is_live(OffsetDateTime::now_utc()),
        "revoked_at": family.revoked_at.map(rfc3339),
        "revoked_reason": family.revoked_reason.map(|reason| reason.as_str()),
    })
}

pub fn event_json(stored: &StoredEvent) -> Value {
    let event = &stored.event;
    json!({
        "id": stored.id,
        "at": rfc3339(event.at),
        "kind": event.kind.as_str(),
        "user_id": event.user_id,
        "session_id": event.session_id,
        "ip": event.client.ip,
        "user_agent": event.client.user_agent,
        "actor": event.actor,
        "details": serde_json::from_str::<Value>(&event.details).unwrap_or(Value::Null),
    })
}
