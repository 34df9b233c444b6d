//! The front-door keys of the configuration: `[[routes]]` (the route policy of forward-auth and
//! the built-in proxy) and `[[upstreams]]` (the applications the built-in proxy serves), read
//! and turned into what the service and HTTP layers take.

use anyhow::{bail, Context};
use portcullis_core::{Access, RoutePolicy, RouteRule};
use portcullis_http::Upstream;
use serde::{Deserialize, Serialize};

/// One `[[routes]]` rule: requests under `prefix` (with one of `methods`, if given) need
/// `access` (`public` or `authenticated`), or any of `roles`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    pub prefix: String,
    #[serde(default)]
    pub methods: Vec<String>,
    pub access: Option<String>,
    pub roles: Option<Vec<String>>,
}

/// One `[[upstreams]]` entry: requests under `prefix` go to `url` + the request path.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    pub prefix: String,
    pub url: String,
}

/// The ordered rules, each saying exactly one of `access` or `roles`.
pub fn route_policy(routes: &[RouteConfig]) -> anyhow::Result<RoutePolicy> {
    let rules = routes
        .iter()
        .map(|route| {
            let access = match (route.access.as_deref(), &route.roles) {
                (Some("public"), None) => Access::Public,
                (Some("authenticated"), None) => Access::Authenticated,
                (None, Some(roles)) => Access::AnyRole(roles.clone()),
                _ => bail!(
                    "route {:?} needs exactly one of access = \"public\" | \"authenticated\" or roles = [...]",
                    route.prefix
                ),
            };
            RouteRule::new(&route.prefix, &route.methods, access)
                .with_context(|| format!("invalid route {:?}", route.prefix))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(RoutePolicy::new(rules))
}

pub fn upstreams(entries: &[UpstreamConfig]) -> anyhow::Result<Vec<Upstream>> {
    let upstreams = entries
        .iter()
        .map(|upstream| Upstream::new(&upstream.prefix, &upstream.url))
        .collect::<Result<_, _>>()?;
    Ok(upstreams)
}
