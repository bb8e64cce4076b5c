//! OpenTelemetry export (cargo feature `otel`): with an OTLP endpoint, the
//! spans of a request reach the collector, named after the service, with
//! the route and the request id; `finish` sends the last ones.

mod common;

use std::sync::{Arc, Mutex};

use aegis::axum::body::{Body, Bytes};
use aegis::axum::http::{HeaderMap, Request};
use aegis::axum::routing::post;
use aegis::server::{Config, Options, Telemetry};
use common::*;

/// What the collector received: each request's content type and body.
type Received = Arc<Mutex<Vec<(String, Bytes)>>>;

async fn collector() -> (String, Received) {
    let received = Received::default();
    let kept = received.clone();
    let router = aegis::axum::Router::new().route(
        "/v1/traces",
        post(move |headers: HeaderMap, body: Bytes| async move {
            let kind = headers["content-type"].to_str().unwrap_or("").to_owned();
            kept.lock().unwrap().push((kind, body));
            ""
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { aegis::axum::serve(listener, router).await });
    (format!("http://{address}"), received)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_s_span_reaches_the_collector() {
    let (endpoint, received) = collector().await;
    let options = Options {
        otlp_endpoint: Some(format!("{endpoint}/")),
        ..Options::default()
    };
    let config = Config::resolve(options, |name| {
        (name == "OTEL_SERVICE_NAME").then(|| "budgets-service".to_owned())
    })
    .unwrap();
    // Before the app: its callsites then know the subscriber.
    let telemetry = Telemetry::init(&config, "unused").unwrap();
    let app = app().await;
    // An id that is no budget's integer: answered 404 before any query.
    // A query's span would be the request's, and SQLite's driver thread,
    // which enters it to run the query, lets go of it just after handing
    // back the rows: at times after `finish`, and an open span is not
    // exported.
    let request = Request::get("/api/budgets/x9")
        .header("authorization", format!("Bearer {}", app.admin()))
        .header("x-request-id", "otel-req-7")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(request).await.status, 404);
    telemetry.finish().await;

    let received = received.lock().unwrap();
    assert!(!received.is_empty(), "the collector received nothing");
    let all: Vec<u8> = received
        .iter()
        .flat_map(|(_, body)| body.to_vec())
        .collect();
    assert!(
        received
            .iter()
            .all(|(kind, _)| kind == "application/x-protobuf"),
        "{:?}",
        received.iter().map(|(kind, _)| kind).collect::<Vec<_>>()
    );
    // Protobuf keeps strings as they are: the span's name and fields, and
    // the resource's service name, are in the bytes.
    for text in [
        "budgets-service",
        "request",
        "otel-req-7",
        "/api/budgets/{id}",
    ] {
        assert!(contains(&all, text), "`{text}` was not exported");
    }
}
