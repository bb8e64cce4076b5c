//! `GET /api/openapi.json`: the document an app's `api()` was given,
//! served as it is without a token; without one, no such route.

mod common;

use aegis::{Aegis, Limits};
use common::*;

const DOCUMENT: &str = "{\"openapi\": \"3.1.0\"}\n";

async fn runtime() -> Aegis {
    Aegis::new(
        aegis::testing::test_database().await,
        aegis::auth::Auth::new(SECRET),
        Limits::default(),
    )
}

#[tokio::test]
async fn the_document_is_served_without_a_token() {
    let router = api().openapi(DOCUMENT).router().with_state(runtime().await);
    let response = tower::ServiceExt::oneshot(
        router,
        aegis::axum::http::Request::get("/api/openapi.json")
            .body(aegis::axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(body, DOCUMENT.as_bytes());
}

#[tokio::test]
async fn without_a_document_there_is_no_route() {
    let router = api().router().with_state(runtime().await);
    let (status, body) = get_from(router, "/api/openapi.json", None).await;
    assert_eq!(status, 404);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["code"], "not_found");
}
