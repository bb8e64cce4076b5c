//! Tracing of requests: every request gets an id (the `x-request-id` it
//! came with, or a new UUID), echoed in the response, and one span,
//! `request`, carrying its method, route, id and, when it ends, status and
//! latency; a WebSocket connection's span, `ws`, carries the id of the
//! request that opened it and its user once authenticated.

use axum::Router;
use axum::extract::MatchedPath;
use axum::http::{HeaderName, Request};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

/// The header a request id comes and goes in.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of a request, as the id layer set it (empty when missing).
pub(crate) fn request_id<B>(request: &Request<B>) -> &str {
    request
        .headers()
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

fn span<B>(request: &Request<B>) -> tracing::Span {
    // The route, not the path: one name per route, ids left out.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(request.uri().path(), MatchedPath::as_str);
    tracing::info_span!(
        "request",
        method = %request.method(),
        route,
        request_id = request_id(request),
    )
}

/// Counts a request and its time by method, route and status
/// ([`crate::metrics`]); a path that is no route counts as `unmatched`.
async fn measure(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    crate::metrics::http_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// Adds the request id, the span and the request metrics to every route
/// of `router`.
pub(crate) fn layer<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    // Listed innermost first: the id is set (outermost) before the span
    // reads it, and copied to the response inside the span.
    router
        .layer(axum::middleware::from_fn(measure))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(span)
                .on_response(DefaultOnResponse::new().level(Level::INFO))
                .on_failure(DefaultOnFailure::new().level(Level::WARN)),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}
