//! Retention: the event log keeps a bounded number of events per feature
//! and none older than the configured age; finished import jobs are
//! forgotten after theirs. Runs on SQLite, and on PostgreSQL with
//! `AEGIS_TEST_DATABASE_URL`.

mod common;

use std::time::Duration;

use aegis::Limits;
use aegis::log::replay;
use aegis::retention::{Pruned, prune};
use common::*;

fn limits() -> Limits {
    Limits {
        event_retention: Some(50),
        // Odd, so the batches do not divide the work evenly.
        prune_batch: 7,
        // The background pass stays out of the way of the test's own.
        prune_interval: Duration::from_secs(3600),
        ..Limits::default()
    }
}

async fn create_many(app: &TestApp, count: usize) {
    for n in 0..count {
        let reply = app
            .call(
                "POST",
                "/api/budgets",
                Some(&app.admin()),
                Some(budget(&format!("b{n}"), 1.0)),
                &[],
            )
            .await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.text);
    }
}

async fn kept_seqs(app: &TestApp) -> Vec<u64> {
    replay(app.aegis.db(), "budgets", 0, 10_000)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq())
        .collect()
}

#[tokio::test]
async fn the_log_keeps_the_newest_events_per_feature() {
    let app = app_with(limits()).await;
    create_many(&app, 120).await;
    assert_eq!(
        app.aegis.prune().await.unwrap(),
        Pruned {
            events: 70,
            history: 0,
            import_jobs: 0
        }
    );
    assert_eq!(kept_seqs(&app).await, (71..=120).collect::<Vec<_>>());
    // Nothing more to do, and the seq goes on.
    assert_eq!(app.aegis.prune().await.unwrap(), Pruned::default());
    create_many(&app, 1).await;
    assert_eq!(kept_seqs(&app).await.last(), Some(&121));
}

#[tokio::test]
async fn events_older_than_the_age_limit_go_whatever_their_number() {
    let limits = Limits {
        event_retention: None,
        event_max_age: Some(Duration::from_secs(3600)),
        ..limits()
    };
    let app = app_with(limits).await;
    create_many(&app, 30).await;
    let now = chrono::Utc::now();
    let pruned = prune(app.aegis.db(), &limits, now).await.unwrap();
    assert_eq!(pruned.events, 0, "younger than an hour");
    let later = now + chrono::Duration::hours(2);
    let pruned = prune(app.aegis.db(), &limits, later).await.unwrap();
    assert_eq!(pruned.events, 30);
    assert!(kept_seqs(&app).await.is_empty());
}

#[tokio::test]
async fn finished_import_jobs_are_forgotten_after_their_age() {
    let limits = limits();
    let app = app_with(limits).await;
    let reply = app
        .import(
            "budgets",
            "name,amount,year,approved,note\nA,1,2026,false,\n",
            false,
        )
        .await;
    let job = reply.body["jobId"].as_str().unwrap().to_owned();
    app.finished_job("budgets", &job).await;
    let status = format!("/api/budgets/import/{job}");

    let pruned = prune(app.aegis.db(), &limits, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(pruned.import_jobs, 0, "a fresh job is kept");
    let found = app
        .call("GET", &status, Some(&app.admin()), None, &[])
        .await;
    assert_eq!(found.status.as_u16(), 200);

    let later = chrono::Utc::now() + chrono::Duration::days(8);
    let pruned = prune(app.aegis.db(), &limits, later).await.unwrap();
    assert_eq!(pruned.import_jobs, 1);
    let gone = app
        .call("GET", &status, Some(&app.admin()), None, &[])
        .await;
    assert_eq!(gone.status.as_u16(), 404, "{}", gone.text);
}
