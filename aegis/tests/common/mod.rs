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
            sortable: None,
        })
        .module::<Note>(ModuleSettings {
            module: "notes",
            with_events: false,
            with_import: true,
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
