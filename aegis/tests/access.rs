//! Per-row access: a module's read filter (its hooks' `read_filter`)
//! decides what each user lists, reads, changes, exports, imports and
//! deletes in bulk — a row outside it is "not found" — and which events
//! each WebSocket connection receives, deletes and replays included, also
//! across instances. On SQLite, and on PostgreSQL with
//! `AEGIS_TEST_DATABASE_URL`.

mod common;

use aegis::access::RowFilter;
use aegis::auth::User;
use aegis::hooks::CrudHooks;
use aegis::testing::TestApp;
use aegis::{Api, ModuleSettings, crud_module};
use common::client::{Client, Next};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[crud_module(with_events, with_import)]
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Note {
    pub id: i64,
    pub text: String,
    pub owner: String,
    pub version: i64,
}

/// A note is its owner's; `boss` reads them all.
struct Private;

impl CrudHooks<Note> for Private {
    fn read_filter(&self, user: &User) -> Option<RowFilter> {
        (user.id() != "boss").then(|| RowFilter::equals("owner", user.id()))
    }
}

fn api() -> Api {
    Api::new()
        .module::<Note>(ModuleSettings {
            module: "notes",
            with_events: true,
            with_import: true,
            with_history: true,
            sortable: None,
        })
        .hooks::<Note>(Private)
}

fn token(app: &TestApp, user: &str) -> String {
    app.token(user, &[], &["notes"])
}

async fn call(
    app: &TestApp,
    user: &str,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let reply = app
        .call(method, uri, Some(&token(app, user)), body, &[])
        .await;
    (reply.status.as_u16(), reply.body)
}

async fn note(app: &TestApp, user: &str, text: &str) -> i64 {
    let (status, body) = call(
        app,
        user,
        "POST",
        "/api/notes",
        Some(json!({"text": text, "owner": user})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().unwrap()
}

async fn texts(app: &TestApp, user: &str, query: &str) -> (Vec<String>, u64) {
    let (status, body) = call(app, user, "GET", &format!("/api/notes?{query}"), None).await;
    assert_eq!(status, 200, "{body}");
    let texts = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["text"].as_str().unwrap().to_owned())
        .collect();
    (texts, body["total"].as_u64().unwrap())
}

#[tokio::test]
async fn a_user_lists_reads_changes_and_exports_only_the_rows_they_may_read() {
    let app = TestApp::new(api()).await;
    let hers = note(&app, "alice", "alice's").await;
    let his = note(&app, "bob", "bob's").await;
    note(&app, "alice", "alice's too").await;

    assert_eq!(
        texts(&app, "alice", "").await,
        (vec!["alice's".into(), "alice's too".into()], 2)
    );
    assert_eq!(texts(&app, "bob", "q=alice").await, (vec![], 0));
    assert_eq!(texts(&app, "boss", "").await.1, 3);

    // Another's row is not found, whatever the verb; one's own is there.
    let path = format!("/api/notes/{his}");
    assert_eq!(call(&app, "alice", "GET", &path, None).await.0, 404);
    let change = json!({"text": "mine now", "owner": "alice", "version": 1});
    let (status, body) = call(&app, "alice", "PUT", &path, Some(change)).await;
    assert_eq!(
        (status, body["message"].as_str().unwrap()),
        (404, &*format!("no note with id `{his}`"))
    );
    assert_eq!(call(&app, "alice", "DELETE", &path, None).await.0, 404);
    assert_eq!(
        call(&app, "alice", "GET", &format!("/api/notes/{hers}"), None)
            .await
            .0,
        200
    );
    assert_eq!(
        call(&app, "bob", "GET", &path, None).await.1["text"],
        "bob's"
    );

    // A row one could not read is not created for one.
    let (status, body) = call(
        &app,
        "alice",
        "POST",
        "/api/notes",
        Some(json!({"text": "x", "owner": "bob"})),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["message"],
        "you may only create notes you can read: `owner` does not allow it"
    );
    // Nor is one's own row moved into another's view, and it stays as it was.
    let path = format!("/api/notes/{hers}");
    let moved = json!({"text": "yours now", "owner": "bob", "version": 1});
    let (status, body) = call(&app, "alice", "PUT", &path, Some(moved)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["message"],
        "you may only change notes into ones you can read: `owner` does not allow it"
    );
    assert_eq!(texts(&app, "bob", "").await, (vec!["bob's".into()], 1));
    assert_eq!(
        call(&app, "alice", "GET", &path, None).await.1["text"],
        "alice's"
    );

    let reply = app
        .call(
            "GET",
            "/api/notes/export",
            Some(&token(&app, "bob")),
            None,
            &[],
        )
        .await;
    assert_eq!(reply.text, "text,owner\nbob's,bob\n");
}

#[tokio::test]
async fn bulk_deletes_and_imports_stay_inside_the_filter() {
    let app = TestApp::new(api()).await;
    let hers = note(&app, "alice", "a1").await;
    let his = note(&app, "bob", "b1").await;
    note(&app, "alice", "a2").await;

    // Ids: another's is not found, and nothing is deleted.
    let (status, _) = call(
        &app,
        "alice",
        "POST",
        "/api/notes/bulk-delete",
        Some(json!({"ids": [hers, his]})),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(texts(&app, "boss", "").await.1, 3);
    // A view: only the rows the user reads.
    let (status, body) = call(
        &app,
        "alice",
        "POST",
        "/api/notes/bulk-delete",
        Some(json!({"query": ""})),
    )
    .await;
    assert_eq!((status, body), (200, json!({"deleted": 2})));
    assert_eq!(texts(&app, "boss", "").await, (vec!["b1".into()], 1));

    // An import creates one's own rows; another's is that row's error.
    let csv = "text,owner\nmine,alice\ntheirs,bob\n";
    let request = aegis::axum::http::Request::builder()
        .method("POST")
        .uri("/api/notes/import")
        .header("authorization", format!("Bearer {}", token(&app, "alice")))
        .header("content-type", "text/csv")
        .body(aegis::axum::body::Body::from(csv))
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status.as_u16(), 202, "{}", reply.text);
    let job = app
        .finished_job("notes", reply.body["jobId"].as_str().unwrap())
        .await;
    assert_eq!(
        (job["successfulRows"].clone(), job["failedRows"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(job["errors"][0]["row"], 2);
    assert_eq!(job["errors"][0]["field"], "owner");
    assert_eq!(texts(&app, "boss", "sort=text").await.0, ["b1", "mine"]);
}

/// The next `count` events' actions and row ids.
async fn heard(client: &mut Client, count: usize) -> Vec<(String, i64)> {
    let mut heard = Vec::new();
    for _ in 0..count {
        let frame = client.frame().await;
        heard.push((
            frame["action"].as_str().unwrap().to_owned(),
            frame["data"]["id"].as_i64().unwrap(),
        ));
    }
    heard
}

/// The next frame, or `None` when nothing comes within a moment.
async fn quiet(client: &mut Client) -> Option<Value> {
    client.send(json!({"type": "ping"})).await;
    match client.next().await {
        Next::Frame(frame) if frame == json!({"type": "pong"}) => None,
        Next::Frame(frame) => Some(frame),
        closed => panic!("the server {closed:?}"),
    }
}

#[tokio::test]
async fn a_connection_hears_only_of_rows_its_user_may_read_deletes_and_replays_too() {
    let app = TestApp::new(api()).await;
    let address = app.serve().await;
    let mut alice = Client::authed(address, &token(&app, "alice")).await;
    let mut boss = Client::authed(address, &token(&app, "boss")).await;
    for client in [&mut alice, &mut boss] {
        assert_eq!(client.subscribe("notes", None).await["type"], "subscribed");
    }

    let his = note(&app, "bob", "b1").await;
    let hers = note(&app, "alice", "a1").await;
    let path = format!("/api/notes/{his}");
    let change = json!({"text": "b2", "owner": "bob", "version": 1});
    assert_eq!(call(&app, "bob", "PUT", &path, Some(change)).await.0, 200);
    assert_eq!(call(&app, "bob", "DELETE", &path, None).await.0, 204);
    assert_eq!(
        call(&app, "alice", "DELETE", &format!("/api/notes/{hers}"), None)
            .await
            .0,
        204
    );

    // Alice hears of her note alone: its create and its delete.
    let created = alice.frame().await;
    assert_eq!(
        (created["action"].as_str(), created["data"]["id"].as_i64()),
        (Some("created"), Some(hers))
    );
    let deleted = alice.frame().await;
    assert_eq!(
        (deleted["action"].as_str(), deleted["data"]["id"].as_i64()),
        (Some("deleted"), Some(hers))
    );
    assert_eq!(quiet(&mut alice).await, None);
    // The boss hears all five, in order.
    let mut seqs = Vec::new();
    for _ in 0..5 {
        seqs.push(boss.frame().await["meta"]["seq"].as_u64().unwrap());
    }
    assert_eq!(seqs, [1, 2, 3, 4, 5]);

    // A replay is filtered alike.
    let mut again = Client::authed(address, &token(&app, "alice")).await;
    let subscribed = again.subscribe("notes", Some(0)).await;
    assert_eq!(subscribed["recovered"], true, "{subscribed}");
    assert_eq!(
        heard(&mut again, 2).await,
        [("created".to_owned(), hers), ("deleted".to_owned(), hers)]
    );
    assert_eq!(quiet(&mut again).await, None);
}

#[tokio::test]
async fn across_instances_a_delete_keeps_its_row_for_the_filters() {
    use aegis::auth::Auth;
    use aegis::store::Db;
    use aegis::{Aegis, Limits};
    let Some(url) = aegis::testing::fresh_postgres_database().await else {
        eprintln!("skipped: set AEGIS_TEST_DATABASE_URL to a PostgreSQL server");
        return;
    };
    let mut apps = Vec::new();
    for _ in 0..2 {
        let db = Db::connect(&url).await.expect("the shared database");
        let aegis = Aegis::new(db, Auth::new(common::SECRET), Limits::default());
        apps.push(TestApp::on(aegis, api()).await);
    }
    let (writer, reader) = (&apps[0], &apps[1]);
    let address = reader.serve().await;
    let mut alice = Client::authed(address, &token(reader, "alice")).await;
    assert_eq!(alice.subscribe("notes", None).await["type"], "subscribed");

    // Written on one instance, heard on the other: the deletes' rows cross
    // through the log, not the notification.
    let his = note(writer, "bob", "b1").await;
    let hers = note(writer, "alice", "a1").await;
    assert_eq!(
        call(writer, "bob", "DELETE", &format!("/api/notes/{his}"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        call(
            writer,
            "alice",
            "DELETE",
            &format!("/api/notes/{hers}"),
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(
        heard(&mut alice, 2).await,
        [("created".to_owned(), hers), ("deleted".to_owned(), hers)]
    );
    assert_eq!(quiet(&mut alice).await, None);
}

#[tokio::test]
async fn an_event_log_from_before_scopes_gains_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/old.db?mode=rwc", dir.path().display());
    let db = aegis::store::Db::connect(&url).await.unwrap();
    sqlx::query("ALTER TABLE aegis_events DROP COLUMN scope")
        .execute(db.pool())
        .await
        .unwrap();
    db.pool().close().await;
    let db = aegis::store::Db::connect(&url).await.unwrap();
    let columns: Vec<String> =
        sqlx::query_scalar("SELECT name FROM pragma_table_info('aegis_events')")
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert!(columns.contains(&"scope".to_owned()), "{columns:?}");
}
