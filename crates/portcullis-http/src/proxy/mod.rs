//! The built-in reverse proxy, for deployments without nginx or Traefik in front: requests
//! under an upstream's prefix are authorised exactly like a forward-auth check, then streamed
//! to the upstream with the identity headers; WebSocket handshakes are tunnelled after the
//! check, and no other protocol upgrade is ever relayed.
//!
//! The proxy never answers for the gateway's own paths, and it forwards the path it judged
//! (normalised, see `RequestPath`), so the upstream cannot be reached under a spelling the
//! route policy did not see.

mod headers;

use crate::error::ApiError;
use crate::extract::bearer_token;
use crate::forward_auth::{request_path, target_of};
use crate::identity::identity_headers;
use crate::method_override::methods_read_as;
use crate::metrics::RouteLabel;
use crate::transport::Transport;
use crate::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::uri::InvalidUri;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use headers::{
    client_response_headers, is_websocket_acceptance, is_websocket_handshake,
    upstream_request_headers, Forwarding,
};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use portcullis_core::{PathError, RequestPath};
use std::net::SocketAddr;
use std::sync::Arc;
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
    /// What its requests are counted under: `upstream:` and the prefix as configured.
    route_label: Arc<str>,
}

/// Why an `[[upstreams]]` entry was refused.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("upstream prefix {0:?} must be a plain absolute path")]
    PrefixNotPlain(String),
    #[error("upstream prefix {0:?} would shadow the gateway's own routes ({reserved})", reserved = RESERVED_PREFIXES.join(", "))]
    ShadowsGateway(String),
    #[error("upstream url {url:?} is not a URL")]
    NotAUrl {
        url: String,
        #[source]
        source: InvalidUri,
    },
    #[error("upstream url {0:?} must be http://host:port with an optional path")]
    NotPlainHttp(String),
}

impl Upstream {
    pub fn new(prefix: &str, url: &str) -> Result<Self, UpstreamError> {
        let prefix_path = RequestPath::parse_canonical(prefix)
            .ok_or_else(|| UpstreamError::PrefixNotPlain(prefix.to_owned()))?;
        if covers_gateway_route(&prefix_path) {
            return Err(UpstreamError::ShadowsGateway(prefix.to_owned()));
        }
        let base: Uri = url.parse().map_err(|source| UpstreamError::NotAUrl {
            url: url.to_owned(),
            source,
        })?;
        if base.scheme_str() != Some("http") || base.authority().is_none() || base.query().is_some()
        {
            return Err(UpstreamError::NotPlainHttp(url.to_owned()));
        }
        Ok(Self {
            prefix: prefix_path,
            base,
            route_label: Arc::from(format!("upstream:{prefix}")),
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

    /// Whether `path` is one of the gateway's own; a spelling variant of one is refused.
    fn is_reserved(&self, path: &RequestPath) -> Result<bool, PathError> {
        for reserved in &self.reserved {
            if path.within(reserved)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Sends a prepared request; the answer must start within the timeout. A client body that
    /// stalled past `http_body_timeout` is the client's fault (408), not the upstream's.
    async fn send(
        &self,
        request: Request,
        upstream: &Upstream,
    ) -> Result<axum::http::Response<hyper::body::Incoming>, ApiError> {
        match tokio::time::timeout(self.timeout, self.client.request(request)).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(error)) if crate::extract::caused_by_body_timeout(&error) => {
                tracing::debug!(upstream = %upstream.base, "the client's request body stalled");
                Err(crate::extract::body_timed_out())
            }
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

    /// The upstream with the longest prefix covering `path`; a spelling variant of any
    /// upstream's prefix is refused, as route policies refuse it.
    fn route(&self, path: &RequestPath) -> Result<Option<&Upstream>, PathError> {
        let mut best: Option<&Upstream> = None;
        for upstream in &self.upstreams {
            let longer = best
                .is_none_or(|best| upstream.prefix.segments().len() > best.prefix.segments().len());
            if path.within(&upstream.prefix)? && longer {
                best = Some(upstream);
            }
        }
        Ok(best)
    }
}

/// Whether `path` lies under one of the gateway's own routes, in any spelling.
fn covers_gateway_route(path: &RequestPath) -> bool {
    RESERVED_PREFIXES.iter().any(|reserved| {
        RequestPath::parse(reserved).is_ok_and(|reserved| path.within(&reserved) != Ok(false))
    })
}

/// The router's fallback: proxy the request if an upstream covers it, else a JSON 404. Every
/// answer about an upstream's path, refusals included, is counted under that upstream.
pub async fn fallback(State(state): State<AppState>, request: Request) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    let (path, upstream) = match upstream_for(&state, request.uri()).await {
        Ok(found) => found,
        Err(error) => return error.into_response(),
    };
    let mut response = match forward(&state, upstream, path, peer, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    let label = RouteLabel(Arc::clone(&upstream.route_label));
    response.extensions_mut().insert(label);
    response
}

/// The path as judged, and the upstream that serves it; a 404 when none does.
async fn upstream_for<'a>(
    state: &'a AppState,
    uri: &Uri,
) -> Result<(RequestPath, &'a Upstream), ApiError> {
    let path = request_path(target_of(uri))?;
    let reserved = state.proxy.is_reserved(&path)?;
    match state.proxy.route(&path)? {
        Some(upstream) if !reserved => Ok((path, upstream)),
        _ => Err(crate::routes::meta::not_found().await),
    }
}

async fn forward(
    state: &AppState,
    upstream: &Upstream,
    path: RequestPath,
    peer: Option<SocketAddr>,
    mut request: Request,
) -> Result<Response, ApiError> {
    let methods = methods_read_as(
        request.method().as_str(),
        target_of(request.uri()),
        request.headers(),
    );
    let authorization = state
        .gateway
        .authorize(bearer_token(request.headers()), &methods, &path)
        .await?;
    let uri = upstream
        .target(&path, request.uri().query())
        .ok_or_else(|| bad_gateway("the upstream address could not be formed"))?;
    let peer = peer.map_or(std::net::Ipv4Addr::LOCALHOST.into(), crate::client::peer_ip);
    let forwarding = Forwarding {
        peer,
        peer_trusted: crate::client::is_trusted(peer, &state.web.trusted_proxies),
        transport: Transport::of(request.extensions()),
    };
    let websocket = is_websocket_handshake(request.method(), request.headers());
    let mut headers = upstream_request_headers(
        request.headers(),
        identity_headers(&authorization),
        &forwarding,
        websocket,
    );
    // A `__Host-` refresh cookie lives on `/` and so travels with every request; it is the
    // gateway's alone and never reaches an application.
    state.web.cookie.remove_from(&mut headers);
    let client_upgrade = websocket.then(|| hyper::upgrade::on(&mut request));
    let (mut parts, body) = request.into_parts();
    parts.uri = uri;
    parts.headers = headers;
    parts.version = axum::http::Version::HTTP_11;

    let mut response = state
        .proxy
        .send(Request::from_parts(parts, body), upstream)
        .await?;
    let switching = response.status() == StatusCode::SWITCHING_PROTOCOLS;
    match client_upgrade {
        Some(client_upgrade) if switching && is_websocket_acceptance(response.headers()) => {
            tokio::spawn(tunnel(client_upgrade, hyper::upgrade::on(&mut response)));
        }
        // An upstream that switches protocols unasked would be relayed into a connection the
        // gateway no longer reads: never pass a 101 on.
        _ if switching => {
            tracing::warn!(upstream = %upstream.base, "the upstream switched protocols unasked");
            return Err(bad_gateway("the upstream switched protocols unasked"));
        }
        _ => {}
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
mod tests;
