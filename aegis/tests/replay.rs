//! The hub and the event log: what a client missed is replayed with
//! `since`, a gap it cannot be given is a `resync`, an event committed
//! while it subscribes is not left behind, and the database away for a
//! moment (the log unreadable) loses it nothing.

mod common;

use std::sync::Arc;
use std::time::Duration;

use aegis::Limits;
use common::*;
use serde_json::json;

use common::client::Client;

#[tokio::test]
async fn replay_after_a_disconnect_during_1000_writes_loses_nothing() {
    let app = Arc::new(app().await);
    let address = app.serve().await;
    let writer = {
        let app = app.clone();
        tokio::spawn(async move {
            for n in 0..1000 {
                create(&app, &format!("b{n}")).await;
            }
        })
    };
    let mut received: Vec<(u64, i64)> = Vec::new();
    // From the start: the client has seen nothing (seq 0).
    let mut since = Some(0);
    // Three connections, each dropped part way, then one to the end.
    for stop_after in [150, 300, 200, usize::MAX] {
        let mut client = Client::authed(address, &app.admin()).await;
        let subscribed = client.subscribe("budgets", since).await;
        assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
        assert_eq!(subscribed["recovered"], true, "{subscribed}");
        let mut count = 0;
        while count < stop_after && received.last().is_none_or(|(seq, _)| *seq < 1000) {
            let frame = client.frame().await;
            assert_eq!(frame["type"], "event", "{frame}");
            received.push((
                frame["meta"]["seq"].as_u64().unwrap(),
                frame["data"]["id"].as_i64().unwrap(),
            ));
            count += 1;
        }
        since = received.last().map(|(seq, _)| *seq);
        if since == Some(1000) {
            break;
        }
        drop(client);
    }
    writer.await.unwrap();
    let seqs: Vec<u64> = received.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(
        seqs,
        (1..=1000).collect::<Vec<_>>(),
        "every event once, in order"
    );
    // And they are exactly the database's: ids 1..=1000 created in order.
    let ids: Vec<i64> = received.iter().map(|(_, id)| *id).collect();
    assert_eq!(ids, (1..=1000).collect::<Vec<_>>());
    let log = aegis::log::replay(app.aegis.db(), "budgets", 0, 2000)
        .await
        .unwrap();
    assert_eq!(log.len(), 1000);
}

#[tokio::test]
async fn too_far_behind_is_a_resync() {
    let app = app_with(Limits {
        replay_limit: 5,
        ..Limits::default()
    })
    .await;
    let address = app.serve().await;
    for n in 0..10 {
        create(&app, &format!("b{n}")).await;
    }
    let mut client = Client::authed(address, &app.admin()).await;
    let subscribed = client.subscribe("budgets", Some(1)).await;
    assert_eq!(
        subscribed,
        json!({"type": "subscribed", "feature": "budgets", "seq": 10, "recovered": false})
    );
    assert_eq!(
        client.frame().await,
        json!({"type": "resync", "feature": "budgets", "reason": "gap"})
    );
    // Within the bound, the replay recovers everything.
    let subscribed = client.subscribe("budgets", Some(6)).await;
    assert_eq!(subscribed["recovered"], true);
    for seq in 7..=10 {
        assert_eq!(client.frame().await["meta"]["seq"], seq);
    }
    // A client ahead of the server (a database reset) must reload too.
    let subscribed = client.subscribe("budgets", Some(50)).await;
    assert_eq!(subscribed["recovered"], false);
    assert_eq!(client.frame().await["reason"], "gap");
}

/// A `since` older than what the log keeps is a gap like any other; one
/// within it replays in full.
#[tokio::test]
async fn a_since_older_than_the_retained_log_is_a_resync() {
    let app = app_with(Limits {
        event_retention: Some(4),
        ..Limits::default()
    })
    .await;
    let address = app.serve().await;
    for n in 0..10 {
        create(&app, &format!("b{n}")).await;
    }
    assert_eq!(app.aegis.prune().await.unwrap().events, 6);
    let mut client = Client::authed(address, &app.admin()).await;
    let subscribed = client.subscribe("budgets", Some(5)).await;
    assert_eq!(subscribed["recovered"], false, "{subscribed}");
    assert_eq!(
        client.frame().await,
        json!({"type": "resync", "feature": "budgets", "reason": "gap"})
    );
    let subscribed = client.subscribe("budgets", Some(6)).await;
    assert_eq!(subscribed["recovered"], true, "{subscribed}");
    for seq in 7..=10 {
        assert_eq!(client.frame().await["meta"]["seq"], seq);
    }
    client.in_sync().await;
}

/// Spoils (`true`) or mends the stored frame of `budgets`' event `seq`, so
/// that reading it from the log fails as a database away would.
async fn spoil_frame(app: &aegis::testing::TestApp, seq: u64, spoiled: bool) {
    let frame = if spoiled {
        "substr(frame, 2)"
    } else {
        "'{' || frame"
    };
    sqlx::query(&format!(
        "UPDATE aegis_events SET frame = {frame} WHERE feature = 'budgets' AND seq = {seq}"
    ))
    .execute(app.aegis.db().pool())
    .await
    .expect("the frame is changed");
}

/// The event log unreadable for longer than the patience: `subscribe` is
/// an `internal` error and leaves the feature unsubscribed, so no later
/// event follows it with the missed ones left out; subscribed again once
/// the log reads, the client gets every event once, in order.
#[tokio::test]
async fn a_subscribe_the_log_cannot_answer_leaves_the_feature_unsubscribed() {
    let app = app_with(Limits {
        event_log_patience: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let address = app.serve().await;
    for n in 0..3 {
        create(&app, &format!("b{n}")).await;
    }
    spoil_frame(&app, 2, true).await;
    let mut client = Client::authed(address, &app.admin()).await;
    let answer = client.subscribe("budgets", Some(1)).await;
    assert_eq!(
        (&answer["type"], &answer["code"], &answer["feature"]),
        (&json!("error"), &json!("internal"), &json!("budgets")),
        "{answer}"
    );
    // A later event reaches a subscriber who joined the shard after this
    // client: the shard has passed this client by, and sent it nothing.
    let mut witness = Client::authed(address, &app.admin()).await;
    witness.subscribe("budgets", None).await;
    create(&app, "b3").await;
    assert_eq!(witness.frame().await["meta"]["seq"], 4);
    client.in_sync().await;

    spoil_frame(&app, 2, false).await;
    let subscribed = client.subscribe("budgets", Some(1)).await;
    assert_eq!(subscribed["recovered"], true, "{subscribed}");
    for seq in 2..=4 {
        assert_eq!(client.frame().await["meta"]["seq"], seq);
    }
    client.in_sync().await;
}

/// The event log unreadable for a moment (the database restarting):
/// `subscribe` waits for it and replays in full.
#[tokio::test]
async fn a_subscribe_waits_for_the_log_to_read_again() {
    let app = Arc::new(app().await);
    let address = app.serve().await;
    for n in 0..3 {
        create(&app, &format!("b{n}")).await;
    }
    spoil_frame(&app, 2, true).await;
    let mend = {
        let app = app.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            spoil_frame(&app, 2, false).await;
        })
    };
    let mut client = Client::authed(address, &app.admin()).await;
    let subscribed = client.subscribe("budgets", Some(1)).await;
    assert_eq!(subscribed["recovered"], true, "{subscribed}");
    for seq in 2..=3 {
        assert_eq!(client.frame().await["meta"]["seq"], seq);
    }
    client.in_sync().await;
    mend.await.unwrap();
}

/// An event committed while a client subscribes is either within the
/// seq `subscribed` names or follows it, even with no event after it.
#[tokio::test]
async fn an_event_committed_while_subscribing_is_not_left_behind() {
    let app = Arc::new(app().await);
    let address = app.serve().await;
    for n in 0..300 {
        let mut client = Client::authed(address, &app.admin()).await;
        let created = {
            let app = app.clone();
            tokio::spawn(async move { create(&app, &format!("b{n}")).await })
        };
        let subscribed = client.subscribe("budgets", None).await;
        let seq = created.await.unwrap()["id"].as_u64().unwrap();
        if subscribed["seq"].as_u64() < Some(seq) {
            assert_eq!(client.frame().await["meta"]["seq"], seq, "round {n}");
        }
        client.in_sync().await;
    }
}

/// Creates `count` budgets whose name and note are as long as a field
/// takes (each event is about 20 KB).
async fn create_long(app: &aegis::testing::TestApp, count: usize) {
    let long = "x".repeat(10_000);
    for _ in 0..count {
        let mut body = budget(&long, 1.0);
        body["note"] = json!(long);
        let reply = app
            .call("POST", "/api/budgets", Some(&app.admin()), Some(body), &[])
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
}

/// A replay of more bytes than `Limits::replay_bytes` is a resync, read
/// from the log as a count and a size, not as the frames.
#[tokio::test]
async fn a_replay_of_too_many_bytes_is_a_resync() {
    let app = app_with(Limits {
        replay_bytes: 50_000,
        ..Limits::default()
    })
    .await;
    let address = app.serve().await;
    create_long(&app, 4).await;
    let mut client = Client::authed(address, &app.admin()).await;
    // Two events (about 40 KB) fit; three (about 60 KB) do not.
    let subscribed = client.subscribe("budgets", Some(2)).await;
    assert_eq!(subscribed["recovered"], true, "{subscribed}");
    for seq in 3..=4 {
        assert_eq!(client.frame().await["meta"]["seq"], seq);
    }
    client.in_sync().await;
    client
        .send(json!({"type": "unsubscribe", "features": ["budgets"]}))
        .await;
    // Nothing missed: `subscribed`, first, with nothing to replay.
    let subscribed = client.subscribe("budgets", Some(4)).await;
    assert_eq!(subscribed["recovered"], true, "{subscribed}");
    client.in_sync().await;
    client
        .send(json!({"type": "unsubscribe", "features": ["budgets"]}))
        .await;
    let subscribed = client.subscribe("budgets", Some(1)).await;
    assert_eq!(subscribed["recovered"], false, "{subscribed}");
    assert_eq!(
        client.frame().await,
        json!({"type": "resync", "feature": "budgets", "reason": "gap"})
    );
    client.in_sync().await;
}

/// A client that stops reading while its replay is written is given up
/// at the write's deadline (`Limits::socket_write_timeout`): its
/// connection ends, and holds nothing.
#[tokio::test]
async fn a_client_that_stops_reading_its_replay_is_given_up() {
    let app = app_with(Limits {
        socket_write_timeout: Duration::from_millis(300),
        replay_bytes: 64 * 1024 * 1024,
        ..Limits::default()
    })
    .await;
    let address = app.serve().await;
    // About 10 MB: more than a socket buffers for a reader that reads nothing.
    create_long(&app, 500).await;
    let mut client = Client::authed(address, &app.admin()).await;
    client
        .send(json!({"type": "subscribe", "features": ["budgets"], "since": {"budgets": 0}}))
        .await;
    for _ in 0..2000 {
        if app.aegis.hub().connections() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the connection of a client that reads nothing is still there");
}
