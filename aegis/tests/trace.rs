//! Request ids and spans: an id given in `x-request-id` is kept, a missing
//! one is made, both are echoed, and the request's span (method, route,
//! id) carries every log line of the request, as the JSON log shows it.

mod common;

use std::sync::{Arc, Mutex, OnceLock};

use aegis::axum::body::Body;
use aegis::axum::http::Request;
use common::*;

/// A log written into memory, one JSON object a line.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The binary's one subscriber, installed as the global default before
/// either test builds an app. A scoped subscriber (`set_default`) raced
/// with the other test: whichever thread first reached a callsite fixed
/// its interest, so the request's lines could go nowhere.
fn log() -> &'static Log {
    static LOG: OnceLock<Log> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Log::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        log
    })
}

impl Log {
    fn lines(&self) -> Vec<serde_json::Value> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }
}

async fn get(app: &TestApp, path: &str, request_id: Option<&str>) -> aegis::axum::http::HeaderMap {
    let mut request = Request::get(path).header("authorization", format!("Bearer {}", app.admin()));
    if let Some(id) = request_id {
        request = request.header("x-request-id", id);
    }
    app.send(request.body(Body::empty()).unwrap()).await.headers
}

#[tokio::test]
async fn request_ids_are_kept_or_made_and_echoed() {
    log();
    let app = app().await;
    let kept = get(&app, "/api/budgets", Some("req-42")).await;
    assert_eq!(kept["x-request-id"], "req-42");
    let made = get(&app, "/api/budgets", None).await;
    let id = made["x-request-id"].to_str().unwrap();
    assert!(aegis::export::uuid::Uuid::parse_str(id).is_ok(), "{id}");
    // Errors too.
    let missing = get(&app, "/api/budgets/99", Some("req-43")).await;
    assert_eq!(missing["x-request-id"], "req-43");
}

#[tokio::test]
async fn the_request_span_carries_its_id_and_route() {
    let log = log();
    let app = app().await;
    get(&app, "/api/budgets/99", Some("req-7")).await;

    let lines = log.lines();
    let finished = lines
        .iter()
        .find(|line| line["span"]["request_id"] == "req-7")
        .unwrap_or_else(|| panic!("a line of the request's span: {lines:?}"));
    assert_eq!(finished["span"]["name"], "request");
    assert_eq!(finished["span"]["method"], "GET");
    assert_eq!(
        finished["span"]["route"], "/api/budgets/{id}",
        "the route, not the path"
    );
    assert_eq!(finished["fields"]["status"], 404);
    assert!(finished["fields"]["latency"].is_string(), "{finished}");
}
