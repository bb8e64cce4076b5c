//! Several instances sharing one PostgreSQL database: each hears the
//! others' events, large ones too, and none is lost with a LISTEN
//! connection. These need `AEGIS_TEST_DATABASE_URL` (`cargo xtask test`
//! sets it); on SQLite, which one process owns, they have nothing to test.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aegis::auth::Auth;
use aegis::log::StoredEvent;
use aegis::protocol::EventAction;
use aegis::store::Db;
use aegis::testing::{SECRET, TestApp, fresh_postgres_database};
use aegis::{Aegis, Api, Limits, ModuleSettings};
use common::*;
use serde_json::Value;
use tokio::sync::broadcast;

const WAIT: Duration = Duration::from_secs(15);

fn api() -> Api {
    Api::new().module::<Budget>(ModuleSettings {
        module: "budgets",
        with_events: true,
        with_import: true,
        with_history: true,
        sortable: None,
    })
}

/// Two instances on one fresh database, or `None` without PostgreSQL.
async fn two_instances() -> Option<(TestApp, TestApp)> {
    two_instances_at().await.map(|(_, a, b)| (a, b))
}

/// Two instances on one fresh database, and its URL.
async fn two_instances_at() -> Option<(String, TestApp, TestApp)> {
    let Some(url) = fresh_postgres_database().await else {
        eprintln!("skipped: set AEGIS_TEST_DATABASE_URL to a PostgreSQL server");
        return None;
    };
    let mut apps = Vec::new();
    for _ in 0..2 {
        let db = Db::connect(&url).await.expect("the shared database");
        let aegis = Aegis::new(db, Auth::new(SECRET), Limits::default());
        apps.push(TestApp::on(aegis, api()).await);
    }
    let b = apps.pop()?;
    let a = apps.pop()?;
    Some((url, a, b))
}

async fn create(app: &TestApp, name: &str, note: Option<String>) -> Value {
    let mut body = budget(name, 1.0);
    body["note"] = note.map_or(Value::Null, Value::from);
    let reply = app
        .call("POST", "/api/budgets", Some(&app.admin()), Some(body), &[])
        .await;
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.text);
    reply.body
}

/// Collects events of `budgets` from `bus` until seqs `first..=last` are
/// all there, each kept once by seq.
async fn until_seq(
    bus: &mut broadcast::Receiver<Arc<StoredEvent>>,
    seqs: std::ops::RangeInclusive<u64>,
) -> BTreeMap<u64, Arc<StoredEvent>> {
    let mut seen = BTreeMap::new();
    let collect = async {
        while seqs.clone().any(|seq| !seen.contains_key(&seq)) {
            let event = bus.recv().await.expect("the bus stays open");
            seen.insert(event.seq(), event);
        }
    };
    if tokio::time::timeout(WAIT, collect).await.is_err() {
        let missing: Vec<u64> = seqs.clone().filter(|s| !seen.contains_key(s)).collect();
        panic!("events never arrived: {missing:?}");
    }
    seen
}

#[tokio::test]
async fn each_instance_hears_the_others_events_large_ones_too() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    let mut heard_by_a = a.events();
    let mut heard_by_b = b.events();
    // Larger than a NOTIFY payload may be (8000 bytes): events travel by
    // the table, whatever their size.
    let large = "x".repeat(9_000);
    let created = create(&a, "Large", Some(large.clone())).await;
    for n in 0..50 {
        let app = if n % 2 == 0 { &b } else { &a };
        create(app, &format!("Row {n}"), None).await;
    }
    for heard in [&mut heard_by_a, &mut heard_by_b] {
        let events = until_seq(heard, 1..=51).await;
        let first = &events[&1];
        assert_eq!(first.message.action, EventAction::Created);
        assert_eq!(first.message.data, created);
        assert_eq!(first.message.data["note"], large.as_str());
        let names: Vec<&str> = (2..=51)
            .map(|seq| events[&seq].message.data["name"].as_str().unwrap())
            .collect();
        let expected: Vec<String> = (0..50).map(|n| format!("Row {n}")).collect();
        assert_eq!(names, expected);
    }
}

#[tokio::test]
async fn creates_written_together_reach_the_other_instance_in_order() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    let mut heard_by_b = b.events();
    // Sent at once: one transaction, one statement of events and notices.
    let large = "x".repeat(9_000);
    let creates = (0..30).map(|n| {
        let note = (n == 7).then(|| large.clone());
        let a = &a;
        async move { create(a, &format!("Batch {n}"), note).await }
    });
    let created = futures_util::future::join_all(creates).await;
    let events = until_seq(&mut heard_by_b, 1..=30).await;
    assert_eq!(events.len(), 30);
    for (n, body) in created.iter().enumerate() {
        let seq = body["id"].as_u64().unwrap();
        assert_eq!(events[&seq].message.data, *body, "create {n}");
    }
    assert_eq!(events[&8].message.data["note"], large.as_str());
}

#[tokio::test]
async fn a_lost_listen_connection_loses_no_event() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    let mut heard_by_b = b.events();
    create(&a, "Before", None).await;
    until_seq(&mut heard_by_b, 1..=1).await;
    // Cut every LISTEN connection on this database, then write at once:
    // these notifications go nowhere, yet B must publish the events.
    let cut = sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
    )
    .fetch_all(a.aegis.db().pool())
    .await
    .expect("the LISTEN connections are cut");
    assert_eq!(cut.len(), 2, "one LISTEN connection per instance");
    for n in 0..20 {
        create(&a, &format!("After {n}"), None).await;
    }
    let events = until_seq(&mut heard_by_b, 2..=21).await;
    assert_eq!(events[&21].message.data["name"], "After 19");
}

/// Any role that can connect may notify on the channel: a forged
/// notification (a frame of its own, this instance's own name with a seq
/// far ahead, another's with a seq the log does not hold, features that
/// do not exist) reaches no client, and no instance loses an event.
#[tokio::test]
async fn forged_notifications_reach_no_client_and_lose_no_event() {
    let Some((url, a, b)) = two_instances_at().await else {
        return;
    };
    let address = b.serve().await;
    let mut client = common::client::Client::authed(address, &b.admin()).await;
    assert_eq!(
        client.subscribe("budgets", None).await["type"],
        "subscribed"
    );
    let mut heard_by_b = b.events();
    let forged_frame = serde_json::json!({
        "type": "event", "feature": "budgets", "entity": "budget", "action": "created",
        "data": {"id": 1, "name": "FORGED"},
        "meta": {"timestamp": "2026-01-01T00:00:00Z", "featureVersion": "1", "seq": 1, "userId": "u1"},
    });
    let (own, other) = (b.aegis.db().instance(), a.aegis.db().instance());
    let mut payloads = vec![
        format!("{other} budgets 1\n{forged_frame}"),
        forged_frame.to_string(),
        format!("{own} budgets 1000000"),
        "forger budgets 1000000".to_owned(),
        format!("{other} budgets 1"),
    ];
    payloads.extend((0..100).map(|n| format!("forger made_up_{n} 1")));
    // From a connection of its own, as a stranger would.
    let stranger = Db::connect_only(&url).await.unwrap();
    for payload in &payloads {
        sqlx::query("SELECT pg_notify('aegis_events', $1)")
            .bind(payload)
            .execute(stranger.pool())
            .await
            .unwrap();
    }
    // Then real events, from both instances.
    create(&a, "Real 1", None).await;
    create(&b, "Real 2", None).await;
    let events = until_seq(&mut heard_by_b, 1..=2).await;
    assert_eq!(events[&1].message.data["name"], "Real 1");
    assert_eq!(events[&2].message.data["name"], "Real 2");
    for name in ["Real 1", "Real 2"] {
        let frame = client.frame().await;
        assert_eq!(frame["data"]["name"], name, "{frame}");
    }
    client.in_sync().await;
}

#[tokio::test]
async fn any_instance_answers_for_an_import_job() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    let csv = "name,amount,year,approved,note\nRent,1,2026,true,\nBad,x,2026,true,\n";
    let accepted = a.import("budgets", csv, false).await;
    assert_eq!(accepted.status.as_u16(), 202, "{}", accepted.text);
    let job = accepted.body["jobId"].as_str().unwrap();
    let status = b.finished_job("budgets", job).await;
    assert_eq!(status["state"], "completed");
    assert_eq!(
        (
            status["successfulRows"].as_u64(),
            status["failedRows"].as_u64()
        ),
        (Some(1), Some(1))
    );
}
