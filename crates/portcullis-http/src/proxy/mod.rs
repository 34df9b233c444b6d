//! The built-in reverse proxy, for deployments without nginx or Traefik in front: requests
//! under an upstream's prefix are authorised exactly like a forward-auth check, then streamed
//! to the upstream with the identity headers; WebSocket upgrades are tunnelled after the check.
//!
//! The proxy never answers for the gateway's own paths, and it forwards the path it judged
//! (normalised, see `RequestPath`), so the upstream cannot be reached under a spelling the
//! route policy did not see.

mod headers;

use crate::error::ApiError;
use crate::extract::bearer_token;
use crate::forward_auth::{identity_headers, request_path, target_of};
use crate::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use headers::{client_response_headers, requested_upgrade, upstream_request_headers, Forwarding};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use portcullis_core::RequestPath;
use std::net::SocketAddr;
use std::time::Duration;

/// Paths the gateway answers itself; no upstream prefix may cover them.
pub const RESERVED_PREFIXES: [&str; 5] = ["/auth", "/.well-known", "/admin", "/healthz", "/readyz"];

/// Marks a response that came from an upstream, so the gateway's own response headers (such
/// as `Cache-Control: no-store`) are not forced onto the application's responses.
#[derive(Clone, Copy, Debug)]
pub struct Proxied;

/// One `[[upstreams]]` entry: requests under `prefix` go to `base` + the request path.
#[derive(Clone, Debug)]
pub struct Upstream {
    prefix: RequestPath,
    /// `http://host:port`, optionally with a base path, never with a query.
    base: Uri,
}

impl Upstream {
    pub fn new(prefix: &str, url: &str) -> Result<Self, String> {
        let prefix_path = RequestPath::parse_canonical(prefix)
            .ok_or_else(|| format!("upstream prefix {prefix:?} must be a plain absolute path"))?;
        if covers_gateway_route(&prefix_path) {
            return Err(format!(
                "upstream prefix {prefix:?} would shadow the gateway's own routes ({})",
                RESERVED_PREFIXES.join(", ")
            ));
        }
        let base: Uri = url
            .parse()
            .map_err(|_| format!("upstream url {url:?} is not a URL"))?;
        if base.scheme_str() != Some("http") || base.authority().is_none() || base.query().is_some()
        {
            return Err(format!(
                "upstream url {url:?} must be http://host:port with an optional path"
            ));
        }
        Ok(Self {
            prefix: prefix_path,
            base,
        })
    }

    fn target(&self, path: &RequestPath, query: Option<&str>) -> Option<Uri> {
        let base_path = self.base.path().trim_end_matches('/');
        let mut path_and_query = format!("{base_path}{}", path.to_uri_path());
        if let Some(query) = query {
            path_and_query.push('?');
            path_and_query.push_str(query);
        }
        Uri::builder()
            .scheme("http")
            .authority(self.base.authority()?.clone())
            .path_and_query(path_and_query)
            .build()
            .ok()
    }
}

/// The upstreams and the HTTP client that reaches them.
#[derive(Clone)]
pub struct Proxy {
    upstreams: Vec<Upstream>,
    /// Paths never proxied: the gateway's own.
    reserved: Vec<RequestPath>,
    /// Until the upstream's response headers arrive; bodies and tunnels are not limited.
    timeout: Duration,
    client: Client<HttpConnector, Body>,
}

impl Proxy {
    pub fn new(upstreams: Vec<Upstream>, timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(timeout));
        connector.set_nodelay(true);
        Self {
            upstreams,
            reserved: RESERVED_PREFIXES
                .iter()
                .filter_map(|prefix| RequestPath::parse_canonical(prefix))
                .collect(),
            timeout,
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    /// Keeps requests under `prefix` from ever being proxied (a route the gateway adds).
    pub fn reserve(&mut self, prefix: &str) {
        self.reserved.extend(RequestPath::parse_canonical(prefix));
    }

    fn is_reserved(&self, path: &RequestPath) -> bool {
        self.reserved
            .iter()
            .any(|reserved| path.starts_with(reserved))
    }

    /// Sends a prepared request; the answer must start within the timeout.
    async fn send(
        &self,
        request: Request,
        upstream: &Upstream,
    ) -> Result<axum::http::Response<hyper::body::Incoming>, ApiError> {
        match tokio::time::timeout(self.timeout, self.client.request(request)).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(error)) => {
                tracing::warn!(%error, upstream = %upstream.base, "upstream request failed");
                Err(bad_gateway("the upstream could not be reached"))
            }
            Err(_) => Err(ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "upstream_timeout",
                "the upstream did not answer in time",
            )),
        }
    }

    /// The upstream with the longest prefix covering `path`.
    fn route(&self, path: &RequestPath) -> Option<&Upstream> {
        self.upstreams
            .iter()
            .filter(|upstream| path.starts_with(&upstream.prefix))
            .max_by_key(|upstream| upstream.prefix.segments().len())
    }
}

/// Whether `path` lies under one of the gateway's own routes.
fn covers_gateway_route(path: &RequestPath) -> bool {
    RESERVED_PREFIXES.iter().any(|reserved| {
        RequestPath::parse(reserved).is_ok_and(|reserved| path.starts_with(&reserved))
    })
}

/// The router's fallback: proxy the request if an upstream covers it, else a JSON 404.
pub async fn fallback(State(state): State<AppState>, request: Request) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    match forward(&state, peer, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn forward(
    state: &AppState,
    peer: Option<SocketAddr>,
    mut request: Request,
) -> Result<Response, ApiError> {
    let path = request_path(target_of(request.uri()))?;
    let upstream = match state.proxy.route(&path) {
        Some(upstream) if !state.proxy.is_reserved(&path) => upstream,
        _ => return Err(crate::routes::meta::not_found().await),
    };
    let authorization = state
        .gateway
        .authorize(
            bearer_token(request.headers()),
            request.method().as_str(),
            &path,
        )
        .await?;
    let uri = upstream
        .target(&path, request.uri().query())
        .ok_or_else(|| bad_gateway("the upstream address could not be formed"))?;
    let peer = peer.map_or(std::net::Ipv4Addr::LOCALHOST.into(), |addr| addr.ip());
    let forwarding = Forwarding {
        peer,
        peer_trusted: state
            .web
            .trusted_proxies
            .iter()
            .any(|net| net.contains(&peer)),
    };
    let headers = upstream_request_headers(
        request.headers(),
        identity_headers(&authorization),
        &forwarding,
    );
    let client_upgrade =
        requested_upgrade(request.headers()).map(|_| hyper::upgrade::on(&mut request));
    let (mut parts, body) = request.into_parts();
    parts.uri = uri;
    parts.headers = headers;
    parts.version = axum::http::Version::HTTP_11;

    let mut response = state
        .proxy
        .send(Request::from_parts(parts, body), upstream)
        .await?;
    let switching = response.status() == StatusCode::SWITCHING_PROTOCOLS;
    if let (true, Some(client_upgrade)) = (switching, client_upgrade) {
        tokio::spawn(tunnel(client_upgrade, hyper::upgrade::on(&mut response)));
    }
    client_response_headers(response.headers_mut(), switching);
    let mut response = response.map(Body::new);
    response.extensions_mut().insert(Proxied);
    Ok(response)
}

/// Copies bytes both ways between the upgraded client and upstream connections until either
/// side closes.
async fn tunnel(client: hyper::upgrade::OnUpgrade, upstream: hyper::upgrade::OnUpgrade) {
    let (client, upstream) = tokio::join!(client, upstream);
    match (client, upstream) {
        (Ok(client), Ok(upstream)) => {
            let (mut client, mut upstream) = (TokioIo::new(client), TokioIo::new(upstream));
            if let Err(error) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
                tracing::debug!(%error, "upgraded connection ended");
            }
        }
        (client, upstream) => {
            tracing::warn!(
                client_ok = client.is_ok(),
                upstream_ok = upstream.is_ok(),
                "an upgrade could not be completed"
            );
        }
    }
}

fn bad_gateway(message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_GATEWAY, "upstream_unavailable", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_cannot_shadow_the_gateway() {
        for prefix in ["/auth", "/auth/x", "/admin", "/.well-known", "/healthz"] {
            assert!(
                Upstream::new(prefix, "http://127.0.0.1:9000").is_err(),
                "{prefix}"
            );
        }
        for prefix in ["/", "/api", "/authors", "/app/"] {
            assert!(
                Upstream::new(prefix, "http://127.0.0.1:9000").is_ok(),
                "{prefix}"
            );
        }
        for url in [
            "https://x",
            "ftp://x",
            "http://x/?q=1",
            "/relative",
            "nonsense url",
        ] {
            assert!(Upstream::new("/api", url).is_err(), "{url}");
        }
    }

    #[test]
    fn the_longest_prefix_wins_and_the_judged_path_is_forwarded() {
        let proxy = Proxy::new(
            vec![
                Upstream::new("/", "http://127.0.0.1:1").expect("upstream"),
                Upstream::new("/api", "http://127.0.0.1:2/v1/").expect("upstream"),
            ],
            Duration::from_secs(1),
        );
        let path = RequestPath::parse("/api/x/../orders").expect("path");
        let upstream = proxy.route(&path).expect("an upstream");
        assert_eq!(
            upstream.target(&path, Some("a=1")).map(|u| u.to_string()),
            Some("http://127.0.0.1:2/v1/api/orders?a=1".to_owned())
        );
        let other = RequestPath::parse("/index.html").expect("path");
        assert_eq!(
            proxy.route(&other).map(|u| u.base.to_string()),
            Some("http://127.0.0.1:1/".to_owned())
        );
    }
}
