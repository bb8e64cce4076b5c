//! CSV import jobs through the real router: counts, rows in the database,
//! events, dry runs and limits.

mod common;

use aegis::Limits;
use aegis::axum::body::Body;
use aegis::axum::http::{Request, StatusCode};
use aegis::protocol::EventAction;
use common::*;
use serde_json::{Value, json};

async fn budgets(app: &TestApp) -> Vec<Value> {
    let reply = app
        .call(
            "GET",
            "/api/budgets?pageSize=200",
            Some(&app.admin()),
            None,
            &[],
        )
        .await;
    reply.body["data"].as_array().unwrap().clone()
}

async fn run(app: &TestApp, csv: &str, dry_run: bool) -> Value {
    let reply = app.import("budgets", csv, dry_run).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
    let job = reply.body["jobId"].as_str().unwrap().to_owned();
    app.finished_job("budgets", &job).await
}

const HEADER: &str = "name,amount,year,approved,note\n";

#[tokio::test]
async fn a_good_file_imports_every_row() {
    let app = app().await;
    let csv = format!("{HEADER}Rent,1200.5,2026,true,monthly\nTravel,300,2026,no,\n");
    let job = run(&app, &csv, false).await;
    assert_eq!(job["state"], "completed");
    assert_eq!(
        (
            job["totalRows"].clone(),
            job["successfulRows"].clone(),
            job["failedRows"].clone()
        ),
        (json!(2), json!(2), json!(0))
    );
    assert_eq!(job["progress"], 100);
    let rows = budgets(&app).await;
    assert_eq!(
        rows,
        [
            json!({"id": 1, "name": "Rent", "amount": 1200.5, "year": 2026, "approved": true, "note": "monthly", "version": 1}),
            json!({"id": 2, "name": "Travel", "amount": 300.0, "year": 2026, "approved": false, "note": null, "version": 1}),
        ]
    );
}

#[tokio::test]
async fn a_bad_file_imports_nothing_and_says_why() {
    let app = app().await;
    let csv = format!("{HEADER}Rent,lots,2026,true,\n,1,20x6,maybe,\n");
    let job = run(&app, &csv, false).await;
    assert_eq!(job["state"], "completed");
    assert_eq!(
        (job["successfulRows"].clone(), job["failedRows"].clone()),
        (json!(0), json!(2))
    );
    assert_eq!(
        job["errors"],
        json!([
            {"row": 1, "field": "amount", "message": "`lots` is not a number"},
            {"row": 2, "field": "year", "message": "`20x6` is not a whole number"},
        ])
    );
    assert!(budgets(&app).await.is_empty());
}

#[tokio::test]
async fn a_mixed_file_imports_the_valid_rows_only() {
    let app = app().await;
    let mut csv = HEADER.to_owned();
    for n in 1..=25 {
        if n % 5 == 0 {
            csv.push_str(&format!("bad {n},{n},not a year,true,\n"));
        } else {
            csv.push_str(&format!("row {n},{n},2026,false,\n"));
        }
    }
    let app_small_batches = app_with(Limits {
        import_batch: 7,
        import_errors: 3,
        ..Limits::default()
    })
    .await;
    for app in [&app, &app_small_batches] {
        let job = run(app, &csv, false).await;
        assert_eq!(
            (
                job["totalRows"].clone(),
                job["successfulRows"].clone(),
                job["failedRows"].clone()
            ),
            (json!(25), json!(20), json!(5))
        );
        let rows = budgets(app).await;
        let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
        let expected: Vec<String> = (1..=25)
            .filter(|n| n % 5 != 0)
            .map(|n| format!("row {n}"))
            .collect();
        assert_eq!(names, expected);
        for row in &rows {
            let n: f64 = row["name"].as_str().unwrap()[4..].parse().unwrap();
            assert_eq!(row["amount"], json!(n));
        }
    }
    // Only the first errors are kept, but every failure is counted.
    let job = run(&app_small_batches, &csv, false).await;
    assert_eq!(job["errors"].as_array().unwrap().len(), 3);
    assert_eq!(job["errors"][0]["row"], 5);
    assert_eq!(job["failedRows"], 5);
}

#[tokio::test]
async fn a_dry_run_writes_nothing_and_reports_the_same() {
    let app = app().await;
    let mut events = app.aegis.bus().subscribe();
    let csv = format!("{HEADER}Rent,1,2026,true,\nBad,x,2026,true,\n");
    let dry = run(&app, &csv, true).await;
    assert_eq!(dry["dryRun"], true);
    // Its events say so, so that lists do not reload for it.
    let mut seen = 0;
    while let Ok(event) = events.try_recv() {
        assert_eq!(event.message.data["dryRun"], true, "{:?}", event.message);
        seen += 1;
    }
    assert!(seen >= 3, "started, progress, completed: {seen}");
    assert_eq!(
        (dry["successfulRows"].clone(), dry["failedRows"].clone()),
        (json!(1), json!(1))
    );
    assert!(budgets(&app).await.is_empty());
    let real = run(&app, &csv, false).await;
    assert_eq!(real["errors"], dry["errors"]);
    assert_eq!(budgets(&app).await.len(), 1);
}

#[tokio::test]
async fn events_start_progress_to_100_and_complete() {
    let app = app_with(Limits {
        import_batch: 10,
        ..Limits::default()
    })
    .await;
    let mut events = app.aegis.bus().subscribe();
    let mut csv = HEADER.to_owned();
    for n in 0..100 {
        csv.push_str(&format!("row {n},{n},2026,true,\n"));
    }
    let job = run(&app, &csv, false).await;
    let mut received = Vec::new();
    while let Ok(event) = events.try_recv() {
        received.push(event);
    }
    let actions: Vec<EventAction> = received.iter().map(|e| e.message.action).collect();
    assert_eq!(actions.first(), Some(&EventAction::ImportStarted));
    assert_eq!(actions.last(), Some(&EventAction::ImportCompleted));
    assert!(
        actions[1..actions.len() - 1]
            .iter()
            .all(|a| *a == EventAction::ImportProgress)
    );
    assert_eq!(
        received[0].message.data,
        json!({"jobId": job["jobId"], "totalRows": 100, "dryRun": false})
    );
    let last_progress = &received[received.len() - 2].message.data;
    assert_eq!(last_progress["progress"], 100);
    assert_eq!(last_progress["processedRows"], 100);
    // Throttled: far fewer progress events than the ten batches' worth.
    assert!(
        actions.len() - 2 <= 10,
        "{} progress events",
        actions.len() - 2
    );
    let completed = &received.last().unwrap().message.data;
    assert_eq!(completed["success"], true);
    assert_eq!(completed["successfulRows"], 100);
    let seqs: Vec<u64> = received.iter().map(|e| e.seq()).collect();
    assert_eq!(seqs, (1..=received.len() as u64).collect::<Vec<_>>());
}

/// A job that fails inside the server says so, and no more: the
/// database's own words (its tables, its statements) go to the log, not
/// to the job's readers or its broadcast `import_completed` event.
#[tokio::test]
async fn a_job_failed_by_the_database_tells_clients_no_details() {
    let app = app().await;
    let mut events = app.aegis.bus().subscribe();
    app.drop_table("budgets").await;
    let job = run(&app, &format!("{HEADER}A,1,2026,true,\n"), false).await;
    assert_eq!(job["state"], "failed", "{job}");
    let completed = std::iter::from_fn(|| events.try_recv().ok())
        .find(|event| event.message.action == EventAction::ImportCompleted)
        .expect("the completed event");
    for said in [&job, &completed.message.data] {
        assert_eq!(
            said["errors"][0]["message"],
            "the import stopped: internal error; the server log has the details",
            "{said}"
        );
        assert!(!said.to_string().contains("budgets`"), "{said}");
        assert!(!said.to_string().contains("table"), "{said}");
    }
}

#[tokio::test]
async fn the_header_is_checked_before_the_job_starts() {
    let app = app().await;
    let unknown = app
        .import("budgets", "name,amount,colour\nx,1,red\n", false)
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    let message = unknown.body["message"].as_str().unwrap();
    assert!(
        message.contains("unknown column `colour`") && message.contains("`approved`"),
        "{message}"
    );
    let twice = app.import("budgets", "name,name\nx,y\n", false).await;
    assert!(
        twice.body["message"]
            .as_str()
            .unwrap()
            .contains("appears twice")
    );
    // Readonly, id and version columns are not inputs.
    let id = app.import("budgets", "id,name\n1,x\n", false).await;
    assert_eq!(id.status, StatusCode::BAD_REQUEST);
    // A file that could import nothing is refused before a job starts.
    for (csv, expected) in [
        (
            "name\nx\n",
            "the file has no column `amount`, `year`, `approved`, which every budget needs",
        ),
        (
            "",
            "the file is empty; expected a header row (name,amount,year,approved,note) and \
             then rows",
        ),
        (" \n\n", "the file is empty"),
        (HEADER, "the file has a header but no rows"),
    ] {
        let reply = app.import("budgets", csv, false).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{csv:?}: {}",
            reply.text
        );
        let message = reply.body["message"].as_str().unwrap();
        assert!(message.starts_with(expected), "{csv:?}: {message}");
    }
    // An optional column may be left out.
    let job = run(&app, "name,amount,year,approved\nx,1,2026,true\n", false).await;
    assert_eq!(job["successfulRows"], 1);
    assert!(budgets(&app).await[0]["note"].is_null());
}

#[tokio::test]
async fn too_large_a_file_is_413() {
    let app = app_with(Limits {
        import_bytes: 64,
        ..Limits::default()
    })
    .await;
    let csv = format!("{HEADER}{}", "Rent,1,2026,true,\n".repeat(10));
    let reply = app.import("budgets", &csv, false).await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.text
    );
    assert_eq!(reply.body["code"], "too_large");
    assert!(budgets(&app).await.is_empty());
}

#[tokio::test]
async fn multipart_uploads_and_the_template() {
    let app = app().await;
    let boundary = "XyZ";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.csv\"\r\nContent-Type: text/csv\r\n\r\n{HEADER}Rent,1,2026,true,\r\n--{boundary}--\r\n"
    );
    let request = Request::post("/api/budgets/import")
        .header("authorization", format!("Bearer {}", app.admin()))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
    let job = app
        .finished_job("budgets", reply.body["jobId"].as_str().unwrap())
        .await;
    assert_eq!(job["successfulRows"], 1);

    let template = app
        .call(
            "GET",
            "/api/budgets/import/template",
            Some(&app.admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(template.status, StatusCode::OK);
    assert_eq!(template.text, "name,amount,year,approved,note\n");
    let unknown = app
        .call(
            "GET",
            "/api/budgets/import/no-such-job",
            Some(&app.admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_module_without_events_imports_silently() {
    let app = app().await;
    let mut events = app.aegis.bus().subscribe();
    let reply = app.import("notes", "text\nhello\nworld\n", false).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    let job = app
        .finished_job("notes", reply.body["jobId"].as_str().unwrap())
        .await;
    assert_eq!(job["successfulRows"], 2);
    assert!(events.try_recv().is_err());
}

async fn job_status(app: &TestApp, job: &Value) -> (StatusCode, Value) {
    let path = format!("/api/budgets/import/{}", job["jobId"].as_str().unwrap());
    let reply = app.call("GET", &path, Some(&app.admin()), None, &[]).await;
    (reply.status, reply.body)
}

#[tokio::test]
async fn finished_jobs_beyond_the_limit_are_forgotten_oldest_first() {
    let app = app_with(Limits {
        import_jobs: 2,
        ..Limits::default()
    })
    .await;
    let csv = format!("{HEADER}Rent,1,2026,true,\n");
    let mut jobs = Vec::new();
    for _ in 0..3 {
        jobs.push(run(&app, &csv, false).await);
    }
    let found: Vec<StatusCode> = {
        let mut found = Vec::new();
        for job in &jobs {
            found.push(job_status(&app, job).await.0);
        }
        found
    };
    assert_eq!(
        found,
        [StatusCode::NOT_FOUND, StatusCode::OK, StatusCode::OK]
    );
}

#[tokio::test]
async fn a_running_job_whose_server_went_away_reads_as_failed() {
    let app = app().await;
    let job = run(&app, &format!("{HEADER}Rent,1,2026,true,\n"), false).await;
    // As if the server running it had stopped an hour ago, mid-import.
    let mut running = job.clone();
    running["state"] = json!("running");
    sqlx::query(
        "UPDATE aegis_import_jobs SET state = 'running', job = $1, updated_ms = updated_ms - 3600000",
    )
    .bind(running.to_string())
    .execute(app.aegis.db().pool())
    .await
    .unwrap();
    let (status, body) = job_status(&app, &job).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["state"], "failed");
    let last_error = body["errors"].as_array().unwrap().last().unwrap().clone();
    assert!(
        last_error["message"]
            .as_str()
            .unwrap()
            .contains("the server running it went away"),
        "{last_error}"
    );
}

#[tokio::test]
async fn on_sqlite_a_job_left_running_by_the_last_run_fails_at_start_with_its_event() {
    let app = app().await;
    let job = run(
        &app,
        &format!("{HEADER}Rent,1,2026,true,\nRates,2,2026,true,\n"),
        false,
    )
    .await;
    // As if the server had stopped a moment ago, before writing a row.
    let mut running = job.clone();
    running["state"] = json!("running");
    running["successfulRows"] = json!(0);
    running["processedRows"] = json!(0);
    sqlx::query("UPDATE aegis_import_jobs SET state = 'running', job = $1")
        .bind(running.to_string())
        .execute(app.aegis.db().pool())
        .await
        .unwrap();
    let mut events = app.aegis.bus().subscribe();
    // The restart.
    api().install(&app.aegis).await.unwrap();
    let (_, body) = job_status(&app, &job).await;
    if app.aegis.db().dialect() == aegis::store::Dialect::Postgres {
        // Several instances share PostgreSQL: another may still run it.
        assert_eq!(body["state"], "running");
        assert!(events.try_recv().is_err());
        return;
    }
    assert_eq!(body["state"], "failed");
    assert_eq!(body["failedRows"], 2, "every row it did not import");
    let event = events.try_recv().expect("an import_completed event");
    assert_eq!(event.message.action, EventAction::ImportCompleted);
    assert_eq!(event.message.data["success"], false);
    assert_eq!(event.message.data["failedRows"], 2);
    assert_eq!(
        event.message.data["errors"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()["message"],
        "the import stopped: the server restarted"
    );
}
