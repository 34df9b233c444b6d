//! What the security team works with: admin API keys, filters for sessions and events, and the
//! pure matching rules of mass revocation.

use crate::event::{EventKind, SecurityEvent};
use crate::ids::{TokenHash, UserId};
use crate::session::Family;
use std::net::IpAddr;
use time::OffsetDateTime;

/// Prefix of every admin API key, so a leaked key is recognisable (and scannable) as one.
pub const ADMIN_KEY_PREFIX: &str = "pcl_admin_";

/// An admin API key as stored: its SHA-256, never its text.
#[derive(Clone, Debug)]
pub struct AdminKey {
    pub name: String,
    pub hash: TokenHash,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

/// Which security events to list, newest first. `before_id` is the pagination cursor: the id of
/// the last event of the previous page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventQuery {
    pub user: Option<UserId>,
    pub kind: Option<EventKind>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// A security event with its position in the trail.
#[derive(Clone, Debug)]
pub struct StoredEvent {
    pub id: i64,
    pub event: SecurityEvent,
}

/// Reads an address or CIDR range (`203.0.113.7`, `203.0.113.0/24`, `2001:db8::/32`); a single
/// address is a range of one.
pub fn parse_address_range(text: &str) -> Option<ipnet::IpNet> {
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(ipnet::IpNet::from))
        .ok()
}

/// Which live sessions a mass revocation hits; every given criterion must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionFilter {
    pub created_before: Option<OffsetDateTime>,
    /// Sessions whose last use came from this range.
    pub last_ip_in: Option<ipnet::IpNet>,
    /// Sessions of users holding this role.
    pub role: Option<String>,
}

impl SessionFilter {
    pub fn is_empty(&self) -> bool {
        self.created_before.is_none() && self.last_ip_in.is_none() && self.role.is_none()
    }

    /// The address criterion, applied to sessions the store selected by the other criteria.
    pub fn address_matches(&self, family: &Family) -> bool {
        match &self.last_ip_in {
            None => true,
            Some(net) => family
                .last_client
                .ip
                .as_deref()
                .and_then(|ip| ip.parse::<IpAddr>().ok())
                .is_some_and(|ip| net.contains(&ip)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_a_range_of_one_and_anything_else_is_refused() {
        let range = |text| parse_address_range(text).map(|net| net.to_string());
        assert_eq!(range("203.0.113.0/24").as_deref(), Some("203.0.113.0/24"));
        assert_eq!(range("203.0.113.7").as_deref(), Some("203.0.113.7/32"));
        assert_eq!(range("2001:db8::1").as_deref(), Some("2001:db8::1/128"));
        for bad in ["", "not-a-range", "203.0.113.0/33", "10.0.0.0/"] {
            assert_eq!(range(bad), None, "{bad}");
        }
    }
    use crate::ids::SessionId;
    use crate::session::ClientInfo;

    fn family_from(ip: Option<&str>) -> Family {
        let now = OffsetDateTime::UNIX_EPOCH;
        Family {
            id: SessionId::new(),
            user_id: UserId::new(),
            created_at: now,
            last_used_at: now,
            idle_expires_at: now,
            absolute_expires_at: now,
            current_generation: 0,
            last_client: ClientInfo {
                ip: ip.map(str::to_owned),
                user_agent: None,
            },
            revoked_at: None,
            revoked_reason: None,
        }
    }

    #[test]
    fn the_address_criterion_matches_the_last_use() {
        let filter = SessionFilter {
            last_ip_in: Some("10.0.0.0/8".parse().expect("net")),
            ..SessionFilter::default()
        };
        assert!(filter.address_matches(&family_from(Some("10.1.2.3"))));
        assert!(!filter.address_matches(&family_from(Some("192.0.2.1"))));
        assert!(
            !filter.address_matches(&family_from(None)),
            "an unknown address is not in any range"
        );
        assert!(SessionFilter::default().address_matches(&family_from(None)));
        assert!(SessionFilter::default().is_empty());
    }
}
