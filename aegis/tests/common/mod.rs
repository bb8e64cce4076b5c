//! What the router tests share: their entities and an app serving them.

#![allow(dead_code)]

pub mod client;

use aegis::{Api, Limits, ModuleSettings, crud_module};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[allow(unused_imports)]
pub use aegis::testing::{SECRET, TestApp};

#[crud_module(with_events, with_import)]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Budget {
    pub id: i64,
    pub name: String,
    pub amount: f64,
    pub year: i32,
    pub approved: bool,
    pub note: Option<String>,
    pub version: i64,
}

/// No events: changes publish nothing.
#[crud_module(with_import)]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Note {
    pub id: aegis::export::uuid::Uuid,
    pub text: String,
}

pub fn api() -> Api {
    Api::new()
        .module::<Budget>(ModuleSettings {
            module: "budgets",
            with_events: true,
            with_import: true,
            with_history: true,
            sortable: None,
        })
        .module::<Note>(ModuleSettings {
            module: "notes",
            with_events: false,
            with_import: true,
            with_history: true,
            sortable: None,
        })
}

pub async fn app_with(limits: Limits) -> TestApp {
    TestApp::with_limits(api(), limits).await
}

pub async fn app() -> TestApp {
    TestApp::new(api()).await
}

pub fn budget(name: &str, amount: f64) -> Value {
    serde_json::json!({ "name": name, "amount": amount, "year": 2026, "approved": false, "note": null })
}

/// GETs `path` from a router of one's own (not a [`TestApp`]'s), with a
/// bearer token if given: the status and the body's text.
pub async fn get_from(
    router: aegis::axum::Router,
    path: &str,
    token: Option<&str>,
) -> (u16, String) {
    let mut request = aegis::axum::http::Request::get(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = tower::ServiceExt::oneshot(
        router,
        request.body(aegis::axum::body::Body::empty()).unwrap(),
    )
    .await
    .unwrap();
    let status = response.status().as_u16();
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Publishes, on the app's bus alone, an 8 KiB `updated` event of
/// `budgets` for every seq of `seqs`: far more than a socket buffers, for
/// a client that reads nothing.
pub async fn flood(app: &TestApp, seqs: std::ops::Range<u64>) {
    use aegis::protocol::{EventAction, EventMessage, EventMeta, FEATURE_VERSION};
    let data = serde_json::json!({ "pad": "x".repeat(8 * 1024) });
    for seq in seqs {
        let message = EventMessage {
            feature: "budgets".into(),
            entity: "budget".into(),
            action: EventAction::Updated,
            data: data.clone(),
            meta: EventMeta {
                timestamp: chrono::Utc::now(),
                feature_version: FEATURE_VERSION.into(),
                seq,
                user_id: "u1".into(),
                origin: None,
            },
        };
        app.aegis.bus().publish(std::sync::Arc::new(
            aegis::log::StoredEvent::new(message).unwrap(),
        ));
        if seq % 200 == 0 {
            tokio::task::yield_now().await;
        }
    }
}

/// Makes the `audit` table hooks write notes to ([`audit`]).
pub async fn create_audit_table(app: &TestApp) {
    let db = app.aegis.db();
    let sql = format!("CREATE TABLE {} (note TEXT NOT NULL)", db.ident("audit"));
    sqlx::query(&sql).execute(db.pool()).await.unwrap();
}

/// Writes `note` to the `audit` table, in the change's transaction.
pub async fn audit(
    ctx: &mut aegis::hooks::HookContext<'_>,
    note: String,
) -> Result<(), aegis::Error> {
    let sql = format!("INSERT INTO {} (note) VALUES ($1)", ctx.db().ident("audit"));
    sqlx::query(&sql)
        .bind(note)
        .execute(&mut **ctx.tx())
        .await
        .map_err(|e| aegis::Error::Internal(e.to_string()))?;
    Ok(())
}

/// The `audit` table's notes, in order.
pub async fn audit_notes(app: &TestApp) -> Vec<String> {
    let db = app.aegis.db();
    let sql = format!("SELECT note FROM {} ORDER BY note", db.ident("audit"));
    sqlx::query_scalar::<_, String>(&sql)
        .fetch_all(db.pool())
        .await
        .unwrap()
}

/// Creates a budget as the admin; the created row.
pub async fn create(app: &TestApp, name: &str) -> Value {
    let reply = app
        .call(
            "POST",
            "/api/budgets",
            Some(&app.admin()),
            Some(budget(name, 1.0)),
            &[],
        )
        .await;
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.text);
    reply.body
}
