//! Probes and a graceful stop: `/healthz`, `/readyz` (the database, the
//! installed schema, a stop begun), WebSockets closed with 1012, the
//! import running when the stop begins failed and reported, and a commit
//! whose caller stops waiting (its client hung up) still published.

mod common;

use std::time::Duration;

use aegis::protocol::{CLOSE_RESTARTING, EventAction};
use aegis::{Aegis, Limits};
use common::client::{Client, Next};
use common::*;
use serde_json::json;

#[tokio::test]
async fn probes_say_alive_and_ready() {
    let app = app().await;
    let alive = app.call("GET", "/healthz", None, None, &[]).await;
    assert_eq!(alive.status, 200);
    assert_eq!(alive.body["status"], "ok");
    let ready = app.call("GET", "/readyz", None, None, &[]).await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    assert_eq!(ready.body["checks"]["database"], "ok");
    assert_eq!(ready.body["checks"]["schema"], "ok");
    assert_eq!(ready.body["checks"]["stopping"], "ok");
    if app.aegis.db().dialect() == aegis::store::Dialect::Postgres {
        assert_eq!(ready.body["checks"]["relay"], "ok");
    }

    // A runtime whose modules are not installed yet is alive, not ready.
    let fresh = Aegis::new(
        aegis::testing::test_database().await,
        aegis::auth::Auth::new(SECRET),
        Limits::default(),
    );
    let router = api().router().with_state(fresh);
    let (status, body) = get_from(router, "/readyz", None).await;
    assert_eq!(status, 503);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["checks"]["schema"], "not installed yet");

    // A database that is gone: unreachable, and no more (anyone may ask;
    // the driver's own words are for the log).
    app.aegis.db().pool().close().await;
    let ready = app.call("GET", "/readyz", None, None, &[]).await;
    assert_eq!(ready.status, 503, "{}", ready.text);
    assert_eq!(ready.body["checks"]["database"], "unreachable");
}

#[tokio::test]
async fn a_stop_closes_websockets_with_1012_and_fails_readiness() {
    let app = app().await;
    let address = app.serve().await;
    let mut client = Client::authed(address, &app.admin()).await;
    assert_eq!(
        client.subscribe("budgets", None).await["type"],
        "subscribed"
    );
    assert_eq!(app.aegis.hub().connections(), 1);

    app.aegis.stop();
    assert_eq!(client.next().await, Next::Closed(Some(CLOSE_RESTARTING)));
    assert!(
        app.aegis.stopped(Duration::from_secs(5)).await,
        "the hub's tasks ended"
    );
    assert_eq!(app.aegis.hub().connections(), 0);

    let ready = app.call("GET", "/readyz", None, None, &[]).await;
    assert_eq!(ready.status, 503);
    assert_eq!(ready.body["checks"]["stopping"], "stopping");
    // A connection that arrives now is told the same at once.
    let mut late = Client::connect(address).await;
    assert_eq!(late.next().await, Next::Closed(Some(CLOSE_RESTARTING)));
    // Requests are still answered until the server stops accepting them.
    let listed = app
        .call("GET", "/api/budgets", Some(&app.admin()), None, &[])
        .await;
    assert_eq!(listed.status, 200);
}

#[tokio::test]
async fn a_stop_fails_the_running_import_and_reports_it() {
    // Small slices: the import is still running when the stop begins.
    let limits = Limits {
        import_batch: 10,
        ..Limits::default()
    };
    let app = TestApp::with_limits(api(), limits).await;
    let mut events = app.events();
    let mut csv = String::from("name,amount,year,approved,note\n");
    for n in 0..50_000 {
        csv.push_str(&format!("Row {n},{n},2026,false,\n"));
    }
    let accepted = app.import("budgets", &csv, false).await;
    assert_eq!(accepted.status, 202, "{}", accepted.text);
    let job = accepted.body["jobId"].as_str().unwrap().to_owned();
    // Once it has written something, stop.
    loop {
        let event = tokio::time::timeout(Duration::from_secs(30), events.recv())
            .await
            .expect("the import progresses")
            .unwrap();
        if event.message.action == EventAction::ImportProgress {
            break;
        }
    }
    app.aegis.stop();
    assert!(
        app.aegis.stopped(Duration::from_secs(10)).await,
        "the job reported"
    );

    let status = app
        .call(
            "GET",
            &format!("/api/budgets/import/{job}"),
            Some(&app.admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(status.body["state"], "failed", "{}", status.text);
    let successful = status.body["successfulRows"].as_u64().unwrap();
    assert!(successful > 0 && successful < 50_000, "{successful}");
    assert_eq!(status.body["failedRows"], json!(50_000 - successful));
    let last_error = status.body["errors"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        last_error["message"],
        "the import stopped: the server shut down"
    );
    // What was written stays, and says so.
    let listed = app
        .call(
            "GET",
            "/api/budgets?pageSize=1",
            Some(&app.admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(listed.body["total"].as_u64(), Some(successful));
    let mut completed = None;
    while let Ok(event) = events.try_recv() {
        if event.message.action == EventAction::ImportCompleted {
            completed = Some(event.message.data.clone());
        }
    }
    let completed = completed.expect("an import_completed event");
    assert_eq!(completed["success"], false);
    assert_eq!(completed["jobId"], job);
}

/// A commit under way completes and publishes its events though its caller
/// stops waiting for it, as a request's handler is dropped when its client
/// hangs up: else a committed change would reach this instance's
/// subscribers only with the feature's next event.
#[tokio::test]
async fn a_commit_whose_caller_stops_waiting_still_publishes_its_events() {
    use futures_util::FutureExt;

    let app = app().await;
    let mut events = app.events();
    let mut change = app.aegis.change().await.unwrap();
    let seq = change
        .import_event::<Budget>(EventAction::ImportStarted, &json!({"jobId": "j1"}), "u1")
        .await
        .unwrap();
    // Polled once, then dropped.
    let _ = change.commit().now_or_never();
    let published = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("the event is published")
        .unwrap();
    assert_eq!((published.feature(), published.seq()), ("budgets", seq));
    let log = aegis::log::replay(app.aegis.db(), "budgets", 0, 10)
        .await
        .unwrap();
    assert_eq!(log.iter().map(|e| e.seq()).collect::<Vec<_>>(), [seq]);
}
