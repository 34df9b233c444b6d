//! The keys of the HTTP layer (refresh cookie, allowed origins, trusted proxies, the built-in
//! proxy's upstreams), checked and turned into [`WebSettings`].

use super::{front_door, Config};
use anyhow::bail;
use cookie::SameSite;
use portcullis_http::{CookieSettings, WebSettings};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The refresh cookie's `SameSite` attribute: `Strict`, `Lax` or `None`, in any case.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CookieSameSite {
    #[default]
    Strict,
    Lax,
    None,
}

impl CookieSameSite {
    const NAMES: &'static [&'static str] = &["Strict", "Lax", "None"];
}

// Hand-written rather than derived: the value has always been read in any case.
impl<'de> Deserialize<'de> for CookieSameSite {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.to_ascii_lowercase().as_str() {
            "strict" => Ok(Self::Strict),
            "lax" => Ok(Self::Lax),
            "none" => Ok(Self::None),
            _ => Err(serde::de::Error::unknown_variant(&text, Self::NAMES)),
        }
    }
}

impl Serialize for CookieSameSite {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(match self {
            Self::Strict => "Strict",
            Self::Lax => "Lax",
            Self::None => "None",
        })
    }
}

impl From<CookieSameSite> for SameSite {
    fn from(same_site: CookieSameSite) -> Self {
        match same_site {
            CookieSameSite::Strict => SameSite::Strict,
            CookieSameSite::Lax => SameSite::Lax,
            CookieSameSite::None => SameSite::None,
        }
    }
}

impl Config {
    pub fn web_settings(&self) -> anyhow::Result<WebSettings> {
        let name_ok = !self.cookie_name.is_empty()
            && self
                .cookie_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !name_ok {
            bail!("cookie_name may only contain letters, digits, '-', '_' and '.'");
        }
        let host_named = self
            .cookie_name
            .get(.."__Host-".len())
            .is_some_and(|head| head.eq_ignore_ascii_case("__Host-"));
        if host_named && !self.cookie_prefix_host {
            // Browsers refuse a `__Host-` cookie on `Path=/auth`: it would never be stored.
            bail!("a cookie_name starting with __Host- needs cookie_prefix_host = true");
        }
        for origin in &self.allowed_origins {
            if origin == "*"
                || origin == "null"
                || !(origin.starts_with("https://") || origin.starts_with("http://"))
            {
                bail!("allowed_origins entries must be exact origins such as https://app.example.com, not {origin:?}");
            }
        }
        Ok(WebSettings {
            cookie: CookieSettings::new(
                &self.cookie_name,
                self.cookie_samesite.into(),
                self.cookie_prefix_host,
            ),
            allowed_origins: self.allowed_origins.clone(),
            trusted_proxies: self
                .trusted_proxies
                .iter()
                .map(|entry| parse_net(entry))
                .collect::<anyhow::Result<_>>()?,
            upstreams: front_door::upstreams(&self.upstreams)?,
            upstream_timeout: self.upstream_timeout,
            own_request_timeout: self.http_body_timeout,
            demo: self.demo,
            public_url: self.public_url()?,
        })
    }
}

/// An address or CIDR range, canonical: peers are compared in canonical form, so
/// `::ffff:10.0.0.0/104` is `10.0.0.0/8` (written mapped, it would never match).
fn parse_net(text: &str) -> anyhow::Result<ipnet::IpNet> {
    let net = portcullis_core::admin::parse_address_range(text).ok_or_else(|| {
        anyhow::anyhow!("trusted_proxies entries must be addresses or CIDR ranges, not {text:?}")
    })?;
    let mapped_v4 = match net {
        ipnet::IpNet::V6(v6) if v6.prefix_len() >= 96 => v6
            .addr()
            .to_ipv4_mapped()
            .and_then(|v4| ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).ok()),
        _ => None,
    };
    Ok(mapped_v4.map_or(net, ipnet::IpNet::V4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_trusted_proxies_are_read_as_ipv4() {
        for (text, expected) in [
            ("::ffff:10.0.0.2", "10.0.0.2/32"),
            ("::ffff:10.0.0.0/104", "10.0.0.0/8"),
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("2001:db8::/32", "2001:db8::/32"),
        ] {
            assert_eq!(
                parse_net(text).expect("net").to_string(),
                expected,
                "{text}"
            );
        }
    }
}
