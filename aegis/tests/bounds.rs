//! Every request's cost is bounded: a view's reads stop at the statement
//! timeout (503, `Retry-After`) and free their connections; a bulk delete
//! selects on a snapshot, never holding the writer; a view's filters and
//! texts to find are counted; an export has places per user and a client
//! that stops reading loses its place. On a SQLite file (an in-memory one
//! has no deadline), and on PostgreSQL with `AEGIS_TEST_DATABASE_URL`.

mod common;

use std::time::Duration;

use aegis::auth::Auth;
use aegis::store::Db;
use aegis::testing::{SECRET, TestApp, fresh_postgres_database};
use aegis::{Aegis, Limits};
use common::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The longest text a field takes by default.
const LONGEST: usize = 10_000;

/// A pattern that costs its length times the text's on every row of
/// `a`s: it matches all but its last character at every place.
fn costly_pattern() -> String {
    format!("{}b", "a".repeat(199))
}

/// An app on a SQLite file, or a fresh PostgreSQL database, with `rows`
/// budgets whose name and note are as long as a field takes; the folder
/// the file is in lives as long as the app.
async fn app_with_long_rows(limits: Limits, rows: usize) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = match fresh_postgres_database().await {
        Some(url) => url,
        None => format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("aegis.db").display()
        ),
    };
    let db = Db::connect(&url).await.unwrap();
    let app = TestApp::on(Aegis::new(db, Auth::new(SECRET), limits), api()).await;
    let long = "a".repeat(LONGEST);
    let mut csv = "name,amount,year,approved,note\n".to_owned();
    for _ in 0..rows {
        csv.push_str(&format!("{long},1,2026,false,{long}\n"));
    }
    let job = app.import("budgets", &csv, false).await;
    assert_eq!(job.status, 202, "{}", job.text);
    let done = app
        .finished_job("budgets", job.body["jobId"].as_str().unwrap())
        .await;
    assert_eq!(done["successfulRows"], rows, "{done}");
    (app, dir)
}

fn quick() -> Limits {
    Limits {
        statement_timeout: Duration::from_millis(250),
        ..Limits::default()
    }
}

#[tokio::test]
async fn a_costly_view_is_stopped_at_the_timeout_and_frees_its_connection() {
    let (app, _dir) = app_with_long_rows(quick(), 500).await;
    let admin = app.admin();
    let costly = format!("/api/budgets?name.contains={}", costly_pattern());
    // As many users at once as there are connections to read views with:
    // each read is stopped, none waits for ever, and the next is served.
    let tokens: Vec<String> = (0..8)
        .map(|n| app.token(&format!("reader {n}"), &["budgets"], &[]))
        .collect();
    let reads = tokens
        .iter()
        .map(|token| app.call("GET", &costly, Some(token), None, &[]));
    for reply in futures_util::future::join_all(reads).await {
        assert_eq!(reply.status, 503, "{}", reply.text);
        assert_eq!(reply.body["code"], "unavailable", "{}", reply.text);
        assert_eq!(reply.headers["retry-after"], "1");
        assert!(
            reply.body["message"]
                .as_str()
                .unwrap()
                .starts_with("the database took longer"),
            "{}",
            reply.text
        );
    }
    let search = format!("/api/budgets?q={}", costly_pattern());
    let reply = app.call("GET", &search, Some(&admin), None, &[]).await;
    assert_eq!(reply.status, 503, "{}", reply.text);
    // The connections are free: another user reads at once. (The users
    // above keep their turns a moment longer: their reads ran to the
    // deadline.)
    let other = app.token("someone else", &["budgets"], &[]);
    let listed = app
        .call("GET", "/api/budgets?pageSize=1", Some(&other), None, &[])
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body["total"], 500);
}

#[tokio::test]
async fn a_costly_bulk_delete_selects_beside_the_writer_and_deletes_nothing() {
    // The selection costs several times the timeout on any machine (one
    // once finished 1,000 rows inside 3 s, and found none: the pattern
    // matches no row), and the timeout is still long beside a create.
    let limits = Limits {
        statement_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let (app, _dir) = app_with_long_rows(limits, 2_000).await;
    let admin = app.admin();
    let query = format!("name.contains={}", costly_pattern());
    let bulk = app.call(
        "POST",
        "/api/budgets/bulk-delete",
        Some(&admin),
        Some(json!({ "query": query })),
        &[],
    );
    tokio::pin!(bulk);
    // While it selects, the writer takes a create.
    let create = app.call(
        "POST",
        "/api/budgets",
        Some(&admin),
        Some(budget("meanwhile", 1.0)),
        &[],
    );
    tokio::select! {
        biased;
        created = create => assert_eq!(created.status, 201, "{}", created.text),
        refused = &mut bulk => panic!("the bulk delete ended before a create: {}", refused.text),
    }
    let refused = bulk.await;
    assert_eq!(refused.status, 503, "{}", refused.text);
    let other = app.token("someone else", &["budgets"], &[]);
    let listed = app
        .call("GET", "/api/budgets?pageSize=1", Some(&other), None, &[])
        .await;
    assert_eq!(listed.body["total"], 2_001, "nothing deleted");
}

#[tokio::test]
async fn a_text_takes_the_default_longest_length_by_rest_and_import() {
    let app = app().await;
    let admin = app.admin();
    let create = |name: String| {
        app.call(
            "POST",
            "/api/budgets",
            Some(&admin),
            Some(budget(&name, 1.0)),
            &[],
        )
    };
    assert_eq!(create("a".repeat(LONGEST)).await.status, 201);
    let over = create("a".repeat(LONGEST + 1)).await;
    assert_eq!(over.status, 422, "{}", over.text);
    let field = &over.body["fields"][0];
    assert_eq!(field["field"], "name", "{}", over.text);
    assert_eq!(field["message"], "must be at most 10000 characters");
    let csv = format!(
        "name,amount,year,approved,note\nkept,1,2026,false,\nrefused,1,2026,false,{}\n",
        "n".repeat(LONGEST + 1)
    );
    let job = app.import("budgets", &csv, false).await;
    assert_eq!(job.status, 202, "{}", job.text);
    let done = app
        .finished_job("budgets", job.body["jobId"].as_str().unwrap())
        .await;
    assert_eq!(done["successfulRows"], 1, "{done}");
    assert_eq!(done["failedRows"], 1, "{done}");
    let error = done["errors"][0]["message"].as_str().unwrap();
    assert!(error.contains("must be at most 10000 characters"), "{done}");
}

#[tokio::test]
async fn a_view_counts_its_filters_and_its_texts_to_find() {
    let app = app_with(Limits {
        max_filters: 3,
        max_pattern_chars: 10,
        ..Limits::default()
    })
    .await;
    let admin = app.admin();
    let (app, admin) = (&app, admin.as_str());
    let ask = |query: String| async move {
        app.call(
            "GET",
            &format!("/api/budgets?{query}"),
            Some(admin),
            None,
            &[],
        )
        .await
    };
    assert_eq!(
        ask("year.gte=1&year.lte=3000&amount.gte=0".to_owned())
            .await
            .status,
        200
    );
    let four = ask("year.gte=1&year.lte=3000&amount.gte=0&amount.lte=9".to_owned()).await;
    assert_eq!(four.status, 400, "{}", four.text);
    assert_eq!(
        four.body["message"],
        "a view takes at most 3 filters; this one has 4"
    );
    assert_eq!(
        ask("q=abcde&name.contains=fghij".to_owned()).await.status,
        200
    );
    let long = ask("q=abcde&name.contains=fghij&note.contains=k".to_owned()).await;
    assert_eq!(long.status, 400, "{}", long.text);
    assert!(
        long.body["message"]
            .as_str()
            .unwrap()
            .starts_with("the texts to find (`q` and every `contains`) may have 10 characters"),
        "{}",
        long.text
    );
    // The export and the bulk delete read the same view.
    let export = app
        .call(
            "GET",
            "/api/budgets/export?year.gte=1&year.lte=3000&amount.gte=0&amount.lte=9",
            Some(admin),
            None,
            &[],
        )
        .await;
    assert_eq!(export.status, 400, "{}", export.text);
    let bulk = app
        .call(
            "POST",
            "/api/budgets/bulk-delete",
            Some(admin),
            Some(json!({"query": "q=abcdefghijk"})),
            &[],
        )
        .await;
    assert_eq!(bulk.status, 400, "{}", bulk.text);
}

/// Sends `GET path` with `token` on a raw socket and reads nothing back.
async fn stalled_download(
    address: std::net::SocketAddr,
    path: &str,
    token: &str,
) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(address).await.unwrap();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

#[tokio::test]
async fn an_export_has_places_per_user_and_a_client_that_stops_reading_loses_its_own() {
    let limits = Limits {
        // Long enough that the checks below run while it waits.
        export_send_timeout: Duration::from_secs(2),
        ..Limits::default()
    };
    let (app, _dir) = app_with_long_rows(limits, 500).await;
    let address = app.serve().await;
    let (alice, bob) = (
        app.token("alice", &["budgets"], &[]),
        app.token("bob", &["budgets"], &[]),
    );
    let mut stalled = stalled_download(address, "/api/budgets/export", &alice).await;
    // Its answer has begun: it holds alice's place.
    let mut head = [0u8; 12];
    stalled.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    let app = &app;
    let export = |token: String| async move {
        let path = "/api/budgets/export?name.eq=none";
        app.call("GET", path, Some(&token), None, &[]).await
    };
    let second = export(alice.clone()).await;
    assert_eq!(second.status, 429, "{}", second.text);
    assert!(
        second.body["message"]
            .as_str()
            .unwrap()
            .contains("your exports")
    );
    assert_eq!(
        export(bob.clone()).await.status,
        200,
        "bob has his own place"
    );
    // The export that waits on its client longer than it may ends, and
    // gives the place back.
    let mut freed = false;
    for _ in 0..1000 {
        if export(alice.clone()).await.status == 200 {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(freed, "the stalled export kept its place");
    // Its client sees a cut download, not a file that looks whole.
    let mut received = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), stalled.read_to_end(&mut received)).await;
    assert!(
        !received.ends_with(b"\r\n0\r\n\r\n"),
        "a whole chunked body"
    );
}

/// A request body that records whether anyone read it.
fn watched_body(
    text: &'static str,
) -> (
    aegis::axum::body::Body,
    std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    let read = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = read.clone();
    let chunks = futures_util::stream::once(async move {
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
        Ok::<_, std::io::Error>(aegis::axum::body::Bytes::from_static(text.as_bytes()))
    });
    (aegis::axum::body::Body::from_stream(chunks), read)
}

#[tokio::test]
async fn an_import_past_its_place_or_the_room_for_uploads_is_refused_unread() {
    let app = app_with(Limits {
        imports_per_user: 1,
        import_bytes: 4_000,
        import_bytes_in_flight: 1_000,
        ..Limits::default()
    })
    .await;
    let csv = "name,amount,year,approved\nx,1,2026,true\n";
    let import = |length: Option<usize>, token: String| {
        let (body, read) = watched_body(csv);
        let mut request = aegis::axum::http::Request::post("/api/budgets/import?dryRun=true")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "text/csv");
        if let Some(length) = length {
            request = request.header("content-length", length.to_string());
        }
        (request.body(body).unwrap(), read)
    };
    // More than the room for uploads: 503, the body never read.
    let (request, read) = import(Some(2_000), app.admin());
    let reply = app.send(request).await;
    assert_eq!(reply.status, 503, "{}", reply.text);
    assert_eq!(reply.body["code"], "unavailable");
    assert!(!read.load(std::sync::atomic::Ordering::SeqCst));
    // No size said: the most an import takes is claimed, also too much.
    let (request, read) = import(None, app.admin());
    assert_eq!(app.send(request).await.status, 503);
    assert!(!read.load(std::sync::atomic::Ordering::SeqCst));
    // Within it: read and accepted.
    let (request, read) = import(Some(csv.len()), app.admin());
    let first = app.send(request).await;
    assert_eq!(first.status, 202, "{}", first.text);
    assert!(read.load(std::sync::atomic::Ordering::SeqCst));
    app.finished_job("budgets", first.body["jobId"].as_str().unwrap())
        .await;

    // While a long import runs its user has no place: 429, unread.
    let app = app_with(Limits {
        imports_per_user: 1,
        ..Limits::default()
    })
    .await;
    let big = format!(
        "name,amount,year,approved\n{}",
        "x,1,2026,true\n".repeat(50_000)
    );
    let running = app.import("budgets", &big, true).await;
    assert_eq!(running.status, 202, "{}", running.text);
    let (request, read) = import(Some(csv.len()), app.admin());
    let second = app.send(request).await;
    assert_eq!(second.status, 429, "{}", second.text);
    assert!(!read.load(std::sync::atomic::Ordering::SeqCst));
    app.finished_job("budgets", running.body["jobId"].as_str().unwrap())
        .await;
}

/// A user's reads of lists beyond `Limits::reads_per_user` wait their
/// turn, within their time: one user's costly reads never take the
/// connections another's reads run on.
#[tokio::test]
async fn a_user_reads_within_their_own_turns() {
    let limits = Limits {
        reads_per_user: 1,
        statement_timeout: Duration::from_millis(500),
        ..Limits::default()
    };
    let (app, _dir) = app_with_long_rows(limits, 500).await;
    let (mallory, alice) = (
        app.token("mallory", &["budgets"], &[]),
        app.token("alice", &["budgets"], &[]),
    );
    let costly = format!("/api/budgets?name.contains={}", costly_pattern());
    let first = app.call("GET", &costly, Some(&mallory), None, &[]);
    let second = app.call("GET", "/api/budgets?pageSize=1", Some(&mallory), None, &[]);
    let other = app.call("GET", "/api/budgets?pageSize=1", Some(&alice), None, &[]);
    let (first, second, other) = tokio::join!(first, second, other);
    assert_eq!(first.status, 503, "{}", first.text);
    assert_eq!(
        other.status, 200,
        "another user reads at once: {}",
        other.text
    );
    // Mallory's second read waited for her one turn, which the costly one
    // held until its time was up: it is either served after it or, its own
    // time spent waiting, told to try again.
    match second.status.as_u16() {
        200 => {}
        503 => assert!(
            second.body["message"].as_str().unwrap().contains("turns"),
            "{}",
            second.text
        ),
        other => panic!("{other}: {}", second.text),
    }
}
