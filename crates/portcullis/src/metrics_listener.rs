//! The metrics listener: `GET /metrics` in the Prometheus text format on its own address
//! (`metrics_listen`), never on the public listener, so the numbers stay on the operator's
//! network. It is served by the same accept loop as the public listener (the same deadlines),
//! with a small connection cap: its clients are a few scrapers.

use crate::server::{self, ServerSettings};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use portcullis_metrics::{Metrics, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Connections the metrics listener keeps open at most.
pub const MAX_CONNECTIONS: usize = 8;

/// Serves `/metrics` on `listener` until `stop` is cancelled.
pub fn spawn(
    listener: TcpListener,
    metrics: Metrics,
    settings: ServerSettings,
    stop: CancellationToken,
) -> JoinHandle<()> {
    let router = Router::new()
        .route("/metrics", get(scrape))
        .with_state(metrics);
    tokio::spawn(async move {
        // Plain HTTP even when the public listener serves TLS: scrapers sit on the operator's
        // own network.
        let served = server::serve(listener, router, settings, None, stop.cancelled_owned());
        if let Err(error) = served.await {
            tracing::error!(%error, "metrics listener failed");
        }
    })
}

/// The Prometheus text format, or OpenMetrics for a scraper that asks for it.
async fn scrape(State(metrics): State<Metrics>, headers: HeaderMap) -> Response {
    let openmetrics = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|accept| accept.contains("application/openmetrics-text"));
    let (encoded, content_type) = match openmetrics {
        true => (metrics.encode_openmetrics(), OPENMETRICS_CONTENT_TYPE),
        false => (metrics.encode_prometheus(), PROMETHEUS_CONTENT_TYPE),
    };
    match encoded {
        Ok(text) => ([(header::CONTENT_TYPE, content_type)], text).into_response(),
        Err(error) => {
            tracing::error!(%error, "metrics could not be encoded");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
