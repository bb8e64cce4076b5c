//! The view corpus (`views-corpus.json`): each case's query, sent to the
//! list route, keeps the corpus's rows the case names, in its order. The
//! web runtime's `list-view.ts` is run through the same corpus
//! (`list-view.corpus.spec.ts`), so the two decide a view alike. On
//! SQLite, and on PostgreSQL with `AEGIS_TEST_DATABASE_URL`.

use aegis::testing::TestApp;
use aegis::{Api, ModuleSettings, crud_module};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Low,
    High,
}

#[crud_module]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Fruit {
    pub id: i64,
    pub name: String,
    pub level: Level,
    pub amount: f64,
    pub count: i64,
    pub done: bool,
    pub day: chrono::NaiveDate,
    pub note: Option<String>,
}

const SORTABLE: &[&str] = &[
    "id", "name", "level", "amount", "count", "done", "day", "note",
];

fn corpus() -> Value {
    serde_json::from_str(include_str!("views-corpus.json")).expect("the corpus is JSON")
}

#[tokio::test]
async fn every_view_of_the_corpus_keeps_its_rows_in_its_order() {
    let corpus = corpus();
    let api = Api::new().module::<Fruit>(ModuleSettings {
        module: "fruits",
        with_events: false,
        with_import: false,
        with_history: true,
        sortable: Some(SORTABLE),
    });
    let app = TestApp::new(api).await;
    let admin = app.admin();
    let fields = corpus["fields"].as_object().unwrap();
    assert_eq!(
        fields.keys().collect::<Vec<_>>().len(),
        SORTABLE.len(),
        "the corpus's fields are the module's"
    );
    for (index, row) in corpus["rows"].as_array().unwrap().iter().enumerate() {
        let reply = app
            .call("POST", "/api/fruits", Some(&admin), Some(row.clone()), &[])
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        assert_eq!(reply.body["id"], index + 1, "rows get ids in order");
    }
    let mut wrong = Vec::new();
    for case in corpus["cases"].as_array().unwrap() {
        let query = case["query"].as_str().unwrap();
        let path = format!("/api/fruits?pageSize=200&{query}");
        let reply = app.call("GET", &path, Some(&admin), None, &[]).await;
        assert_eq!(reply.status, 200, "`{query}`: {}", reply.text);
        let ids: Vec<Value> = reply.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["id"].clone())
            .collect();
        if ids != *case["ids"].as_array().unwrap() {
            wrong.push(format!(
                "`{query}`: expected {}, listed {ids:?}",
                case["ids"]
            ));
        }
        assert_eq!(reply.body["total"], ids.len(), "`{query}`");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The corpus's fields carry the operators the generator gives each view
/// field (`ops`); the list route takes exactly those, so the filter panel
/// offers nothing the server refuses and hides nothing it takes.
#[tokio::test]
async fn each_field_takes_the_operators_its_view_field_lists() {
    let corpus = corpus();
    let api = Api::new().module::<Fruit>(ModuleSettings {
        module: "fruits",
        with_events: false,
        with_import: false,
        with_history: true,
        sortable: Some(SORTABLE),
    });
    let app = TestApp::new(api).await;
    let admin = app.admin();
    let sample = |field: &str| match field {
        "name" => "apple",
        "level" => "low",
        "done" => "true",
        "day" => "2026-01-05",
        "note" => "tab",
        _ => "1",
    };
    for (field, view) in corpus["fields"].as_object().unwrap() {
        let listed: Vec<&str> = view["ops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|op| op.as_str().unwrap())
            .collect();
        for op in aegis_protocol::query::FilterOp::ALL {
            let name = op.as_str();
            let value = if name == "empty" {
                "true"
            } else {
                sample(field)
            };
            let path = format!("/api/fruits?{field}.{name}={value}");
            let reply = app.call("GET", &path, Some(&admin), None, &[]).await;
            let expected = if listed.contains(&name) { 200 } else { 400 };
            assert_eq!(reply.status, expected, "`{field}.{name}`: {}", reply.text);
        }
    }
}
