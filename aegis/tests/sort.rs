//! Sorting: what a list sorts by is what the settings say (aegis-build
//! lists what its table offers), points in time sort as times, enums and
//! booleans sort, and anything else is a 400 naming what does sort. On
//! SQLite, and on PostgreSQL with `AEGIS_TEST_DATABASE_URL`.

use aegis::testing::TestApp;
use aegis::{Api, ModuleSettings, crud_module};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Low,
    High,
    Medium,
}

#[crud_module(with_events)]
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Task {
    pub id: i64,
    pub title: String,
    pub level: Level,
    pub done: bool,
    pub due: chrono::DateTime<chrono::Utc>,
    pub tags: Vec<String>,
    pub version: i64,
}

fn settings(sortable: Option<&'static [&'static str]>) -> ModuleSettings {
    ModuleSettings {
        module: "tasks",
        with_events: true,
        with_import: false,
        with_history: true,
        sortable,
    }
}

async fn app(sortable: Option<&'static [&'static str]>) -> TestApp {
    let app = TestApp::new(Api::new().module::<Task>(settings(sortable))).await;
    // Stored text order is not time order: `…00Z` > `…00.500Z` as text.
    for (title, level, done, due) in [
        ("a", "high", true, "2026-01-01T00:00:00Z"),
        ("b", "low", false, "2026-01-01T00:00:00.500Z"),
        ("c", "medium", true, "2025-12-31T23:59:59.999Z"),
    ] {
        let reply = app
            .call(
                "POST",
                "/api/tasks",
                Some(&app.admin()),
                Some(json!({"title": title, "level": level, "done": done, "due": due, "tags": []})),
                &[],
            )
            .await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.text);
    }
    app
}

async fn titles(app: &TestApp, sort: &str) -> Result<Vec<String>, Value> {
    let reply = app
        .call(
            "GET",
            &format!("/api/tasks?sort={sort}"),
            Some(&app.admin()),
            None,
            &[],
        )
        .await;
    if reply.status.as_u16() != 200 {
        return Err(reply.body);
    }
    Ok(reply.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_owned())
        .collect())
}

#[tokio::test]
async fn listed_fields_sort_times_as_times_and_enums_and_booleans_too() {
    let app = app(Some(&["id", "title", "level", "done", "due"])).await;
    assert_eq!(titles(&app, "due").await.unwrap(), ["c", "a", "b"]);
    assert_eq!(titles(&app, "-due").await.unwrap(), ["b", "a", "c"]);
    assert_eq!(titles(&app, "level").await.unwrap(), ["a", "b", "c"]);
    assert_eq!(titles(&app, "done").await.unwrap(), ["b", "a", "c"]);
    assert_eq!(titles(&app, "-title").await.unwrap(), ["c", "b", "a"]);
    let refused = titles(&app, "tags").await.unwrap_err();
    assert_eq!(refused["code"], "bad_request");
    assert_eq!(
        refused["message"],
        "cannot sort tasks by `tags`; it sorts by `id`, `title`, `level`, `done`, `due`"
    );
    assert!(titles(&app, "version").await.is_err(), "not listed");
}

#[tokio::test]
async fn without_a_list_what_is_stored_as_json_does_not_sort() {
    let app = app(None).await;
    assert_eq!(titles(&app, "due").await.unwrap(), ["c", "a", "b"]);
    assert_eq!(titles(&app, "done").await.unwrap(), ["b", "a", "c"]);
    assert!(
        titles(&app, "level").await.is_err(),
        "an enum is JSON to the runtime alone"
    );
    assert!(titles(&app, "tags").await.is_err());
}
