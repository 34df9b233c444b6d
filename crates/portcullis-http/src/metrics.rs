//! Counting and timing every HTTP request (`portcullis_http_requests_total`,
//! `portcullis_http_request_duration_seconds`) under a bounded route label: the route template
//! axum matched (`/admin/users/{id}`), never the raw path, which a client could vary at will.
//! A proxied request is labelled by its upstream's prefix; anything else no route matched
//! shares [`UNMATCHED`].

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use portcullis_metrics::Metrics;
use std::sync::Arc;
use std::time::Instant;

/// The route label of a request no route and no upstream took.
pub const UNMATCHED: &str = "unmatched";

/// Set on a response by a handler that has no route template (the proxy fallback): the route
/// label to count it under, from a bounded set.
#[derive(Clone, Debug)]
pub(crate) struct RouteLabel(pub Arc<str>);

/// The middleware: times the request until its response headers are ready, then counts it.
pub(crate) async fn track(
    State(metrics): State<Metrics>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| Arc::<str>::from(path.as_str()));
    let response = next.run(request).await;
    let route = template
        .or_else(|| {
            response
                .extensions()
                .get::<RouteLabel>()
                .map(|label| Arc::clone(&label.0))
        })
        .unwrap_or_else(|| Arc::from(UNMATCHED));
    metrics.http_request(
        &route,
        method.as_str(),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
