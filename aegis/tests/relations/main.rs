//! References between modules: an unknown referenced row is a 422 naming
//! the field (a row error in an import); deleting a referenced row is a 409
//! naming who references it, or cascades, or empties the references, in
//! one transaction with the events of every row touched; the referencing
//! columns are indexed. Runs on SQLite, and on PostgreSQL with
//! `AEGIS_TEST_DATABASE_URL`.

use aegis::protocol::EventAction;
use aegis::testing::TestApp;
use aegis::{Api, ModuleSettings, crud_module};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[crud_module(with_events)]
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Department {
    pub id: i64,
    pub name: String,
    pub version: i64,
}

#[crud_module(with_events, with_import)]
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Budget {
    pub id: i64,
    pub name: String,
    #[crud(references = "departments")]
    pub department: i64,
    pub version: i64,
}

/// Notes outlive their budget: the reference is emptied.
#[crud_module(with_events)]
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Note {
    pub id: i64,
    pub text: String,
    #[crud(references = "budgets", on_delete = "set_null")]
    pub budget: Option<i64>,
    pub version: i64,
}

/// Lines belong to their budget: deleted with it.
#[crud_module(with_events)]
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Line {
    pub id: i64,
    pub amount: f64,
    #[crud(references = "budgets", on_delete = "cascade")]
    pub budget: i64,
    pub version: i64,
}

fn settings(module: &'static str, with_import: bool) -> ModuleSettings {
    ModuleSettings {
        module,
        with_events: true,
        with_import,
        with_history: true,
        sortable: None,
    }
}

async fn app() -> TestApp {
    TestApp::new(
        Api::new()
            .module::<Department>(settings("departments", false))
            .module::<Budget>(settings("budgets", true))
            .module::<Note>(settings("notes", false))
            .module::<Line>(settings("lines", false)),
    )
    .await
}

/// Instances starting together on one new database each make the
/// referencing columns' indexes and the link tables, or find them made:
/// none fails on the other's (PostgreSQL's `IF NOT EXISTS` does not guard
/// two transactions at once). Five fresh databases, for the race's sake.
#[tokio::test]
async fn instances_starting_together_make_the_indexes_once() {
    for _ in 0..5 {
        let folder = tempfile::tempdir().unwrap();
        let url = match aegis::testing::fresh_postgres_database().await {
            Some(url) => url,
            None => format!(
                "sqlite://{}?mode=rwc",
                folder.path().join("app.db").display()
            ),
        };
        let runtime = |db| {
            aegis::Aegis::new(
                db,
                aegis::auth::Auth::new(aegis::testing::SECRET),
                aegis::Limits::default(),
            )
        };
        let first = runtime(aegis::store::Db::connect(&url).await.unwrap());
        let second = runtime(aegis::store::Db::connect(&url).await.unwrap());
        let api = || {
            Api::new()
                .module::<Department>(settings("departments", false))
                .module::<Budget>(settings("budgets", true))
                .module::<Note>(settings("notes", false))
                .module::<Line>(settings("lines", false))
                .module::<links::Tag>(settings("tags", false))
                .module::<links::Article>(settings("articles", false))
        };
        let (a, b) = (api(), api());
        let (one, two) = tokio::join!(a.install(&first), b.install(&second));
        one.expect("the first instance starts");
        two.expect("the second instance starts");
    }
}

async fn create(app: &TestApp, feature: &str, body: serde_json::Value) -> i64 {
    let reply = app
        .call(
            "POST",
            &format!("/api/{feature}"),
            Some(&app.admin()),
            Some(body),
            &[],
        )
        .await;
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.text);
    reply.body["id"].as_i64().unwrap()
}

async fn get(app: &TestApp, path: &str) -> aegis::testing::Reply {
    app.call("GET", path, Some(&app.admin()), None, &[]).await
}

#[tokio::test]
async fn a_reference_to_a_row_that_does_not_exist_is_refused() {
    let app = app().await;
    let admin = app.admin();
    let reply = app
        .call(
            "POST",
            "/api/budgets",
            Some(&admin),
            Some(json!({ "name": "Roads", "department": 42 })),
            &[],
        )
        .await;
    assert_eq!(reply.status.as_u16(), 422, "{}", reply.text);
    assert_eq!(reply.body["fields"][0]["field"], "department");
    assert_eq!(
        reply.body["fields"][0]["message"],
        "refers to department 42, which does not exist"
    );
    assert_eq!(get(&app, "/api/budgets").await.body["total"], 0);

    let works = create(&app, "departments", json!({ "name": "Works" })).await;
    let roads = create(
        &app,
        "budgets",
        json!({ "name": "Roads", "department": works }),
    )
    .await;
    let moved = json!({ "name": "Roads", "department": 7, "version": 1 });
    let reply = app
        .call(
            "PUT",
            &format!("/api/budgets/{roads}"),
            Some(&admin),
            Some(moved),
            &[],
        )
        .await;
    assert_eq!(reply.status.as_u16(), 422, "{}", reply.text);
    assert_eq!(reply.body["fields"][0]["field"], "department");
    assert_eq!(
        get(&app, &format!("/api/budgets/{roads}")).await.body["department"],
        works
    );
}

#[tokio::test]
async fn deleting_a_referenced_row_is_refused_and_changes_nothing() {
    let app = app().await;
    let works = create(&app, "departments", json!({ "name": "Works" })).await;
    create(
        &app,
        "budgets",
        json!({ "name": "Roads", "department": works }),
    )
    .await;
    create(
        &app,
        "budgets",
        json!({ "name": "Parks", "department": works }),
    )
    .await;
    let reply = app
        .call(
            "DELETE",
            &format!("/api/departments/{works}"),
            Some(&app.admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(reply.status.as_u16(), 409, "{}", reply.text);
    assert_eq!(reply.body["code"], "conflict");
    assert_eq!(
        reply.body["message"],
        "department 1 is referenced by 2 rows of budgets (`department`); change or delete them \
         first"
    );
    assert_eq!(
        get(&app, &format!("/api/departments/{works}"))
            .await
            .status
            .as_u16(),
        200
    );
}

#[tokio::test]
async fn a_delete_cascades_and_empties_references_with_their_events() {
    let app = app().await;
    let works = create(&app, "departments", json!({ "name": "Works" })).await;
    let roads = create(
        &app,
        "budgets",
        json!({ "name": "Roads", "department": works }),
    )
    .await;
    let parks = create(
        &app,
        "budgets",
        json!({ "name": "Parks", "department": works }),
    )
    .await;
    let line_a = create(&app, "lines", json!({ "amount": 1.5, "budget": roads })).await;
    let line_b = create(&app, "lines", json!({ "amount": 2.5, "budget": roads })).await;
    let kept_line = create(&app, "lines", json!({ "amount": 3.5, "budget": parks })).await;
    let note = create(&app, "notes", json!({ "text": "asphalt", "budget": roads })).await;

    let mut events = app.events();
    let reply = app
        .call(
            "DELETE",
            &format!("/api/budgets/{roads}"),
            Some(&app.admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.text);

    assert_eq!(
        get(&app, &format!("/api/lines/{line_a}"))
            .await
            .status
            .as_u16(),
        404
    );
    assert_eq!(
        get(&app, &format!("/api/lines/{line_b}"))
            .await
            .status
            .as_u16(),
        404
    );
    assert_eq!(
        get(&app, &format!("/api/lines/{kept_line}"))
            .await
            .status
            .as_u16(),
        200
    );
    let kept_note = get(&app, &format!("/api/notes/{note}")).await;
    assert_eq!(kept_note.body["budget"], serde_json::Value::Null);
    assert_eq!(
        kept_note.body["version"], 2,
        "an emptied reference is a change"
    );

    let mut seen = Vec::new();
    while let Ok(event) = events.try_recv() {
        let message = &event.message;
        seen.push((
            message.feature.clone(),
            message.action,
            message.data["id"].clone(),
        ));
    }
    assert_eq!(
        seen,
        [
            ("notes".to_owned(), EventAction::Updated, json!(note)),
            ("lines".to_owned(), EventAction::Deleted, json!(line_a)),
            ("lines".to_owned(), EventAction::Deleted, json!(line_b)),
            ("budgets".to_owned(), EventAction::Deleted, json!(roads)),
        ]
    );
    // Each touched row's history says so, as its own change would.
    let app = &app;
    let last_entry = |path: String| async move {
        let reply = get(app, &path).await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
        let entry = reply.body["data"][0].clone();
        let changes: Vec<_> = entry["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["field"].clone(), c["old"].clone(), c["new"].clone()))
            .collect();
        (entry["action"].clone(), changes)
    };
    let (action, changes) = last_entry(format!("/api/notes/{note}/history")).await;
    assert_eq!(action, "updated");
    assert_eq!(changes, [(json!("budget"), json!(roads), json!(null))]);
    let (action, _) = last_entry(format!("/api/lines/{line_a}/history")).await;
    assert_eq!(action, "deleted");
}

#[tokio::test]
async fn referencing_columns_are_indexed() {
    let app = app().await;
    let db = app.aegis.db();
    let sql = match db.dialect() {
        aegis::store::Dialect::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'aegis_ref_%' ORDER BY name"
        }
        aegis::store::Dialect::Postgres => {
            "SELECT CAST(indexname AS TEXT) FROM pg_indexes WHERE indexname LIKE 'aegis_ref_%' ORDER BY 1"
        }
    };
    let names: Vec<String> = sqlx::query_scalar(sql).fetch_all(db.pool()).await.unwrap();
    assert_eq!(
        names,
        [
            "aegis_ref_budgets_department",
            "aegis_ref_lines_budget",
            "aegis_ref_notes_budget"
        ]
    );
}

#[tokio::test]
async fn an_import_row_with_an_unknown_reference_is_a_row_error() {
    let app = app().await;
    let works = create(&app, "departments", json!({ "name": "Works" })).await;
    let csv = format!("name,department\nRoads,{works}\nParks,99\nLibraries,{works}\n");
    let reply = app.import("budgets", &csv, false).await;
    assert_eq!(reply.status.as_u16(), 202, "{}", reply.text);
    let job = app
        .finished_job("budgets", reply.body["jobId"].as_str().unwrap())
        .await;
    assert_eq!(job["successfulRows"], 2, "{job}");
    assert_eq!(job["errors"][0]["row"], 2);
    assert_eq!(job["errors"][0]["field"], "department");
    assert_eq!(
        job["errors"][0]["message"],
        "refers to department 99, which does not exist"
    );
}

#[tokio::test]
async fn a_dry_run_reports_unknown_references_and_writes_nothing() {
    let app = app().await;
    let works = create(&app, "departments", json!({ "name": "Works" })).await;
    let csv = format!("name,department\nRoads,{works}\nParks,99\n");
    let reply = app.import("budgets", &csv, true).await;
    assert_eq!(reply.status.as_u16(), 202, "{}", reply.text);
    let job = app
        .finished_job("budgets", reply.body["jobId"].as_str().unwrap())
        .await;
    assert_eq!(job["successfulRows"], 1, "{job}");
    assert_eq!(job["failedRows"], 1, "{job}");
    assert_eq!(job["errors"][0]["row"], 2);
    assert_eq!(job["errors"][0]["field"], "department");
    assert_eq!(
        get(&app, "/api/budgets").await.body["total"],
        0,
        "a dry run writes nothing"
    );
}

mod access;
#[path = "../common/client.rs"]
#[allow(dead_code)]
mod client;
mod files;
mod links;
