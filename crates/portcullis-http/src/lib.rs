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
mod routes;
pub mod views;

pub use cookies::CookieSettings;
pub use error::ApiError;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::Router;
use portcullis_service::Gateway;
use std::sync::Arc;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// JSON bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Browser-facing settings of the HTTP layer.
#[derive(Clone, Debug)]
pub struct WebSettings {
    pub cookie: CookieSettings,
    /// Origins allowed to call the cookie-authenticated endpoints (exact match).
    pub allowed_origins: Vec<String>,
    /// Proxies whose `X-Forwarded-For` is believed for the client address.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub gateway: Arc<Gateway>,
    pub web: Arc<WebSettings>,
}

/// The whole gateway API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(routes::auth::router())
        .merge(routes::account::router())
        .merge(routes::admin::router())
        .merge(routes::verify::router())
        .merge(routes::meta::router())
        .fallback(routes::meta::not_found)
        .method_not_allowed_fallback(routes::meta::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Nothing the gateway answers may be cached by default; JWKS overrides this.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
