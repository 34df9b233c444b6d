//! The HTTP layer of Portcullis: the axum router, the extractors (bearer authentication, client
//! info, JSON bodies), and [`ApiError`], the only place that knows status codes.
//!
//! Handlers stay thin: extract, call one `Gateway` use case, shape the response. No rule about
//! tokens or sessions lives here.

mod client;
mod cookies;
mod csrf;
mod error;
mod extract;
mod forward_auth;
mod header_spelling;
mod identity;
mod method_override;
mod metrics;
mod openapi;
mod proxy;
mod routes;
mod transport;
pub mod views;

pub use cookies::CookieSettings;
pub use error::ApiError;
pub use metrics::UNMATCHED;
pub use proxy::{Upstream, UpstreamError, RESERVED_PREFIXES};
pub use routes::meta::JWKS_MAX_AGE;
pub use transport::Transport;

use axum::body::HttpBody;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use portcullis_service::Gateway;
use proxy::{Proxied, Proxy};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

/// JSON bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Browser-facing and proxying settings of the HTTP layer.
#[derive(Clone, Debug)]
pub struct WebSettings {
    pub cookie: CookieSettings,
    /// Origins allowed to call the cookie-authenticated endpoints (exact match), and the only
    /// origins CORS admits on `/auth/*`.
    pub allowed_origins: Vec<String>,
    /// Proxies whose `X-Forwarded-For` is believed for the client address.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Applications the built-in proxy serves, by path prefix.
    pub upstreams: Vec<Upstream>,
    /// How long an upstream may take to start answering before the client gets a 504.
    pub upstream_timeout: Duration,
    /// How long a request to the gateway's own routes may take in all, body included (then
    /// 408). Proxied requests have no such bound: they stream for as long as they move.
    pub own_request_timeout: Duration,
    /// Development mode: serve the demo single-page app under `/demo/`.
    pub demo: bool,
    /// The URL clients reach the gateway at, without a trailing slash; the discovery document
    /// is published only when it is known.
    pub public_url: Option<String>,
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub gateway: Arc<Gateway>,
    pub web: Arc<WebSettings>,
    /// Set by the binary when a stop signal arrives.
    pub draining: Draining,
    proxy: Arc<Proxy>,
    openapi: openapi::Published,
}

/// The gateway alone, for handlers that need nothing else: one reference count to take per
/// request instead of the whole state's.
impl FromRef<AppState> for Arc<Gateway> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.gateway)
    }
}

/// Whether the process is on its way out: from the stop signal on, `/readyz` answers 503 so
/// load balancers stop sending traffic while the listener still serves. Clones share it.
#[derive(Clone, Debug, Default)]
pub struct Draining(Arc<AtomicBool>);

impl Draining {
    pub fn begin(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl AppState {
    pub fn new(gateway: Arc<Gateway>, web: WebSettings) -> Self {
        let mut proxy = Proxy::new(web.upstreams.clone(), web.upstream_timeout);
        if web.demo {
            proxy.reserve(routes::demo::DEMO_PREFIX);
        }
        let openapi = openapi::Published::new(&openapi_document(&web));
        Self {
            gateway,
            web: Arc::new(web),
            draining: Draining::default(),
            proxy: Arc::new(proxy),
            openapi,
        }
    }
}

/// The whole gateway: its own API, and the built-in proxy as the fallback. Every request is
/// counted in the gateway's metrics, by route template.
pub fn router(state: AppState) -> Router {
    let metrics = state.gateway.metrics().clone();
    let (own, _) = api(&state.web).split_for_parts();
    let demo = match state.web.demo {
        true => routes::demo::router(),
        false => Router::new(),
    };
    // The gateway's own bodies are small (`MAX_BODY_BYTES`), so the whole request gets a
    // deadline: a body trickled just fast enough to dodge the inactivity timeout would
    // otherwise hold its connection (never evictable while in flight) for good.
    // `route_layer`, not `layer`: the latter would also wrap the proxy fallback below.
    let deadline = ServiceBuilder::new()
        .layer(axum::middleware::map_response(timed_out_as_json))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.web.own_request_timeout,
        ));
    own.merge(demo)
        .route_layer(deadline)
        .fallback(proxy::fallback)
        .method_not_allowed_fallback(routes::meta::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(own_response_headers))
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            metrics::track,
        ))
        .with_state(state)
}

/// The gateway's own API: every route group, each registering its handlers together with their
/// documentation. The router serves exactly this, and the OpenAPI document is made of exactly
/// this, so neither can have a route the other lacks. The demo app is not part of the API.
fn api(web: &WebSettings) -> OpenApiRouter<AppState> {
    // `/auth/verify` stays outside: a CORS layer answers `OPTIONS` preflights itself, and a
    // forward-auth check about an `OPTIONS` request must meet the route policy like any other.
    let (browser_facing, browser_facing_paths) = OpenApiRouter::new()
        .merge(routes::auth::router())
        .merge(routes::account::router())
        .split_for_parts();
    // Set before the CORS layer so that preflights (OPTIONS) pass through it; a fallback
    // set later on the whole router would replace the layered one.
    let browser_facing =
        browser_facing.method_not_allowed_fallback(routes::meta::method_not_allowed);
    let browser_facing = match cors(&web.allowed_origins) {
        Some(cors) => browser_facing.layer(cors),
        None => browser_facing,
    };
    OpenApiRouter::with_openapi(browser_facing_paths)
        .merge(browser_facing.into())
        .merge(routes::verify::router())
        .merge(routes::admin::router())
        .merge(routes::signing_keys::router())
        .merge(routes::meta::router())
        .merge(routes::discovery::router())
        .merge(openapi::router())
}

/// The OpenAPI document of the gateway's own API, as `GET /openapi.json` serves it.
pub fn openapi_document(web: &WebSettings) -> utoipa::openapi::OpenApi {
    openapi::document(&api(web))
}

/// CORS for the browser-facing `/auth/*` routes: the allowed origins only, with credentials
/// (the refresh cookie), never a wildcard. No origins configured means same-origin only.
fn cors(allowed_origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = allowed_origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_credentials(true)
            .allow_methods([Method::GET, Method::POST, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static(csrf::CSRF_HEADER),
            ])
            .expose_headers([header::WWW_AUTHENTICATE, header::RETRY_AFTER])
            .max_age(Duration::from_secs(600)),
    )
}

/// tower-http's timeout answers with an empty 408; give it the API's error shape. Nothing else
/// answers an empty 408: handlers do so only through [`ApiError`], whose body is never empty.
async fn timed_out_as_json(response: Response) -> Response {
    if response.status() != StatusCode::REQUEST_TIMEOUT || !response.body().is_end_stream() {
        return response;
    }
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        "the request was not complete in time",
    )
    .into_response()
}

/// Security headers of the gateway's own responses. Responses relayed from an upstream are
/// the application's business and pass unchanged.
async fn own_response_headers(mut response: Response) -> Response {
    if response.extensions().get::<Proxied>().is_some() {
        return response;
    }
    let headers = response.headers_mut();
    // Nothing the gateway answers may be cached by default (tokens, identities); JWKS opts in.
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
