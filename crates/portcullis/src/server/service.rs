//! The per-connection service between hyper and the axum router: it gives handlers the peer
//! address (`ConnectInfo`), puts the body deadline on every request body (tower-http's
//! `TimeoutBody`: the client must keep sending, not finish by a fixed time), tells the
//! registry a request is in flight from the call until the response body is dropped, and once
//! the server is stopping marks each response `Connection: close`, its connection's last. On a
//! TLS connection it tells the router so (`Transport`) and marks every response with HSTS.

use super::registry::{Connection, InFlight};
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, StatusCode};
use axum::Router;
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use portcullis_http::Transport;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub struct ConnectionService {
    router: Router,
    peer: SocketAddr,
    transport: Transport,
    connection: Arc<Connection>,
    body_timeout: Duration,
    stopping: CancellationToken,
}

impl ConnectionService {
    pub fn new(
        router: Router,
        peer: SocketAddr,
        transport: Transport,
        connection: Arc<Connection>,
        body_timeout: Duration,
        stopping: CancellationToken,
    ) -> Self {
        Self {
            router,
            peer,
            transport,
            connection,
            body_timeout,
            stopping,
        }
    }
}

impl hyper::service::Service<hyper::Request<Incoming>> for ConnectionService {
    type Response = hyper::Response<ResponseBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, mut request: hyper::Request<Incoming>) -> Self::Future {
        let in_flight = self.connection.request_started();
        request.extensions_mut().insert(ConnectInfo(self.peer));
        request.extensions_mut().insert(self.transport);
        let timeout = self.body_timeout;
        let request = request.map(|body| RequestBody::new(body, timeout));
        let router = self.router.clone();
        let stopping = self.stopping.clone();
        let transport = self.transport;
        Box::pin(async move {
            let mut response = router.oneshot(request).await?;
            if transport == Transport::Tls {
                crate::tls::add_strict_transport_security(response.headers_mut());
            }
            // A request that began as the server stopped is served, and is the last on its
            // connection: the client must not send another here (hyper closes after it). An
            // upgrade keeps its own `Connection` header: the tunnel is not HTTP any more.
            let upgrade = response.status() == StatusCode::SWITCHING_PROTOCOLS;
            if stopping.is_cancelled() && !upgrade {
                let close = HeaderValue::from_static("close");
                response.headers_mut().insert(header::CONNECTION, close);
            }
            Ok(response.map(|body| ResponseBody {
                body,
                _in_flight: in_flight,
            }))
        })
    }
}

/// The client's body under the inactivity deadline. `TimeoutBody` does not pass on whether the
/// body is over or how long it is, so this keeps them: an empty body must stay empty (the proxy
/// would otherwise send `DELETE`s with a chunked empty body), and lengths must stay known.
pub struct RequestBody {
    // Boxed: `TimeoutBody` holds a timer and cannot move once polled.
    body: Pin<Box<TimeoutBody<Incoming>>>,
    remaining: SizeHint,
    ended: bool,
}

impl RequestBody {
    fn new(body: Incoming, timeout: Duration) -> Self {
        Self {
            remaining: body.size_hint(),
            ended: body.is_end_stream(),
            body: Box::pin(TimeoutBody::new(timeout, body)),
        }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let frame = ready!(self.body.as_mut().poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    self.remaining = less(self.remaining, data.len() as u64);
                }
            }
            None | Some(Err(_)) => self.ended = true,
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.remaining.exact() == Some(0)
    }

    fn size_hint(&self) -> SizeHint {
        self.remaining
    }
}

/// `hint` after `taken` bytes were read.
fn less(hint: SizeHint, taken: u64) -> SizeHint {
    let mut left = SizeHint::new();
    if let Some(upper) = hint.upper() {
        left.set_upper(upper.saturating_sub(taken));
    }
    // Never above the upper bound: both shrank by the same amount, saturating at zero.
    left.set_lower(hint.lower().saturating_sub(taken));
    left
}

/// The router's response body, keeping its request counted as in flight until it is dropped.
pub struct ResponseBody {
    body: axum::body::Body,
    _in_flight: InFlight,
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_length_shrinks_as_bytes_are_read() {
        let left = less(SizeHint::with_exact(10), 4);
        assert_eq!(left.exact(), Some(6));
        assert_eq!(less(left, 6).exact(), Some(0));
        let unknown = less(SizeHint::new(), 4);
        assert_eq!((unknown.lower(), unknown.upper()), (0, None));
    }
}
