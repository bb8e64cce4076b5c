//! The hub's shards: tasks that each write the bus's events to up to 128
//! connections, with a real WebSocket client against the app served on a
//! loopback port.

mod common;

use std::time::Duration;

use aegis::Limits;
use common::*;
use serde_json::json;

use common::client::Client;

/// Connections are written to by shards of 128: 130 clients make two.
#[tokio::test]
async fn every_connection_of_several_shards_gets_every_event_in_order() {
    let app = app().await;
    let address = app.serve().await;
    let mut clients = Vec::new();
    for _ in 0..130 {
        let mut client = Client::authed(address, &app.admin()).await;
        client.subscribe("budgets", None).await;
        clients.push(client);
    }
    assert_eq!(app.aegis.hub().shards(), 2);
    for n in 1..=5 {
        create(&app, &format!("b{n}")).await;
    }
    for client in &mut clients {
        for seq in 1..=5 {
            assert_eq!(client.frame().await["meta"]["seq"], seq);
        }
    }
    drop(clients);
    for _ in 0..500 {
        if app.aegis.hub().connections() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(app.aegis.hub().connections(), 0);
    assert_eq!(app.aegis.hub().shards(), 0, "an empty shard ends");
}

/// A shard never waits for one of its connections: a client that reads
/// nothing, its socket full, holds back no other client of its shard.
#[tokio::test]
async fn a_client_that_reads_nothing_holds_back_no_other() {
    let app = app_with(Limits {
        event_backlog: 64,
        ..Limits::default()
    })
    .await;
    let address = app.serve().await;
    let mut slow = Client::authed(address, &app.admin()).await;
    slow.subscribe("budgets", None).await;
    let mut reader = Client::authed(address, &app.admin()).await;
    reader.subscribe("budgets", None).await;
    assert_eq!(app.aegis.hub().shards(), 1);
    let reading = tokio::spawn(async move {
        let mut seqs = Vec::new();
        while seqs.len() < 3000 {
            let frame = reader.frame().await;
            assert_eq!(frame["type"], "event", "{frame}");
            seqs.push(frame["meta"]["seq"].as_u64().unwrap());
        }
        seqs
    });
    // 24 MB of events, far more than the slow client's socket holds, at a
    // pace the bus's ring keeps up with.
    for start in (1..3001).step_by(10) {
        flood(&app, start..start + 10).await;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let seqs = tokio::time::timeout(Duration::from_secs(30), reading)
        .await
        .expect("the reading client gets every event in time")
        .unwrap();
    assert_eq!(seqs, (1..=3000).collect::<Vec<u64>>());
    // The slow one, reading at last, was left behind and is told so.
    assert_eq!(
        slow.until_resync(3000).await,
        json!({"type": "resync", "feature": "budgets", "reason": "lagging"})
    );
}
