//! The WebSocket hub, with a real WebSocket client against the app served
//! on a loopback port.

mod common;

use std::time::Duration;

use aegis::Limits;
use aegis::protocol::FEATURE_VERSION;
use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use common::client::{Client, Next};

#[tokio::test]
async fn the_whole_protocol() {
    let app = app().await;
    let address = app.serve().await;
    let mut client = Client::connect(address).await;
    client
        .send(json!({"type": "auth", "token": app.admin()}))
        .await;
    assert_eq!(
        client.frame().await,
        json!({"type": "ready", "userId": "u1"})
    );
    client.in_sync().await;

    assert_eq!(
        client.subscribe("budgets", None).await,
        json!({"type": "subscribed", "feature": "budgets", "seq": 0, "recovered": false})
    );
    let created = create(&app, "Q1").await;
    let event = client.frame().await;
    assert_eq!(event["type"], "event");
    assert_eq!(event["action"], "created");
    assert_eq!(event["data"], created);
    assert_eq!(event["meta"]["seq"], 1);
    assert_eq!(event["meta"]["featureVersion"], FEATURE_VERSION);

    // Refreshing the token in band keeps the connection and its subscriptions.
    client
        .send(json!({"type": "auth", "token": app.token("u1", &[], &["*"])}))
        .await;
    client.in_sync().await;
    create(&app, "Q2").await;
    assert_eq!(client.frame().await["meta"]["seq"], 2);

    client
        .send(json!({"type": "unsubscribe", "features": ["budgets"]}))
        .await;
    client.in_sync().await;
    create(&app, "Q3").await;
    client.in_sync().await;

    // Subscribing again with `since` replays what was missed.
    let subscribed = client.subscribe("budgets", Some(2)).await;
    assert_eq!(
        subscribed,
        json!({"type": "subscribed", "feature": "budgets", "seq": 3, "recovered": true})
    );
    let replayed = client.frame().await;
    assert_eq!(
        (
            replayed["meta"]["seq"].clone(),
            replayed["data"]["name"].clone()
        ),
        (json!(3), json!("Q3"))
    );
    client.in_sync().await;
    assert_eq!(app.aegis.hub().subscriptions(), 1);
}

#[tokio::test]
async fn forbidden_unknown_and_silent_features_get_errors_and_no_events() {
    let app = app().await;
    let address = app.serve().await;
    let reader = app.token("u2", &["notes"], &[]);
    let mut client = Client::authed(address, &reader).await;
    let error = client.subscribe("budgets", None).await;
    assert_eq!(error["type"], "error");
    assert_eq!(error["code"], "forbidden");
    assert_eq!(error["feature"], "budgets");
    create(&app, "secret").await;
    client.in_sync().await;

    assert_eq!(client.subscribe("nothing", None).await["code"], "not_found");
    // `notes` has no events, so nothing to subscribe to.
    assert_eq!(client.subscribe("notes", None).await["code"], "not_found");
    assert_eq!(app.aegis.hub().subscriptions(), 0);

    // A refreshed token that no longer reads a feature unsubscribes it.
    let mut admin = Client::authed(address, &app.admin()).await;
    admin.subscribe("budgets", None).await;
    admin
        .send(json!({"type": "auth", "token": app.token("u1", &["notes"], &[])}))
        .await;
    let revoked = admin.frame().await;
    assert_eq!(
        (revoked["code"].clone(), revoked["feature"].clone()),
        (json!("forbidden"), json!("budgets"))
    );
    create(&app, "after").await;
    admin.in_sync().await;
}

#[tokio::test]
async fn bad_missing_and_expired_auth_close_4401() {
    let app = app_with(Limits {
        auth_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let address = app.serve().await;

    let mut silent = Client::connect(address).await;
    assert_eq!(silent.next().await, Next::Closed(Some(4401)));

    let mut bad = Client::connect(address).await;
    bad.send(json!({"type": "auth", "token": "not.a.token"}))
        .await;
    assert_eq!(bad.next().await, Next::Closed(Some(4401)));

    let mut claims = aegis::auth::Claims::new("u1", 0, &["*"], &[]);
    claims.exp -= 10;
    let expired = aegis::auth::Auth::new(SECRET).issue(&claims).unwrap();
    let mut late = Client::connect(address).await;
    late.send(json!({"type": "auth", "token": expired})).await;
    assert_eq!(late.next().await, Next::Closed(Some(4401)));

    let mut eager = Client::connect(address).await;
    eager
        .send(json!({"type": "subscribe", "features": ["budgets"]}))
        .await;
    assert_eq!(eager.next().await, Next::Closed(Some(4401)));

    // A token that expires while connected ends the connection (two
    // seconds, counted in whole ones: at least one, so it is still valid
    // when the server reads it).
    let short = aegis::auth::Auth::new(SECRET)
        .issue(&aegis::auth::Claims::new("u1", 2, &["*"], &[]))
        .unwrap();
    let mut brief = Client::authed(address, &short).await;
    assert_eq!(brief.next().await, Next::Closed(Some(4401)));
}

/// A token's times are the client's to choose: `exp` at the largest
/// number and at 0, over REST and the WebSocket, get an answer (the first
/// is valid, the second expired), never a panic.
#[tokio::test]
async fn tokens_expiring_at_the_extremes_are_answered() {
    let app = app().await;
    let address = app.serve().await;
    let token = |exp: u64| {
        let mut claims = aegis::auth::Claims::new("u1", 0, &[], &["*"]);
        claims.exp = exp;
        aegis::auth::Auth::new(SECRET).issue(&claims).unwrap()
    };
    let (forever, never) = (token(u64::MAX), token(0));

    let read = app
        .call("GET", "/api/budgets", Some(&forever), None, &[])
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    let refused = app
        .call("GET", "/api/budgets", Some(&never), None, &[])
        .await;
    assert_eq!(refused.status, 401, "{}", refused.text);

    let mut lasting = Client::authed(address, &forever).await;
    let subscribed = lasting.subscribe("budgets", None).await;
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
    // A refresh with the same far expiry, then an event: the connection lives.
    lasting
        .send(json!({"type": "auth", "token": forever}))
        .await;
    create(&app, "after a far refresh").await;
    assert_eq!(lasting.frame().await["action"], "created");
    lasting.in_sync().await;

    let mut expired = Client::connect(address).await;
    expired.send(json!({"type": "auth", "token": never})).await;
    assert_eq!(expired.next().await, Next::Closed(Some(4401)));
}

/// Every accepted connection has `TCP_NODELAY`: a frame is sent at once,
/// not held until the client acknowledges the one before.
#[tokio::test]
async fn accepted_connections_have_tcp_nodelay() {
    use aegis::axum::serve::Listener as _;
    let mut listener = aegis::nodelay(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
    let address = listener.local_addr().unwrap();
    let (accepted, client) =
        tokio::join!(listener.accept(), tokio::net::TcpStream::connect(address));
    client.unwrap();
    assert!(accepted.0.nodelay().unwrap());
    let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = plain.local_addr().unwrap();
    let (accepted, _client) = tokio::join!(plain.accept(), tokio::net::TcpStream::connect(address));
    assert!(!accepted.unwrap().0.nodelay().unwrap(), "off unless set");
}

/// `auth` replaces the time allowed to authenticate with the token's
/// expiry, and a refresh moves that expiry: a connection lives past both
/// earlier deadlines, and closes 4401 at the one it has.
#[tokio::test]
async fn auth_and_refresh_move_the_deadline() {
    let app = app_with(Limits {
        auth_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let address = app.serve().await;
    // Expiries in whole seconds from now, with seconds to spare, so that a
    // slow machine cannot pass one before the test looks.
    let start = jsonwebtoken::get_current_timestamp();
    let expiring_at = |exp| {
        let mut claims = aegis::auth::Claims::new("u1", 0, &["*"], &[]);
        claims.exp = exp;
        aegis::auth::Auth::new(SECRET).issue(&claims).unwrap()
    };
    let mut client = Client::authed(address, &expiring_at(start + 3)).await;
    // Past the time allowed to authenticate (300 ms): still there.
    tokio::time::sleep(Duration::from_millis(600)).await;
    client.in_sync().await;
    client
        .send(json!({"type": "auth", "token": expiring_at(start + 7)}))
        .await;
    // Past the first token's expiry: still there.
    while jsonwebtoken::get_current_timestamp() <= start + 3 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    client.in_sync().await;
    let closed = tokio::time::timeout(Duration::from_secs(8), client.next())
        .await
        .expect("closed at the refreshed token's expiry");
    assert_eq!(closed, Next::Closed(Some(4401)));
}

/// A client that answers nothing (not even the server's pings) for the
/// idle timeout is closed; one that reads (and so answers the pings)
/// stays. (The close's code, 1001, cannot be read here: the silent
/// client's late pongs meet a closed socket, whose reset drops the
/// frame.)
#[tokio::test]
async fn a_silent_client_is_closed_as_idle() {
    let app = app_with(Limits {
        ping_interval: Duration::from_millis(100),
        idle_timeout: Duration::from_millis(400),
        ..Limits::default()
    })
    .await;
    let address = app.serve().await;
    let mut silent = Client::authed(address, &app.admin()).await;
    let mut reading = Client::authed(address, &app.admin()).await;
    let watched = tokio::spawn(async move {
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_millis(900) {
            let _ = tokio::time::timeout(Duration::from_millis(50), reading.ws.next()).await;
        }
        reading
    });
    assert_eq!(app.aegis.hub().connections(), 2);
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(app.aegis.hub().connections(), 1);
    assert!(matches!(silent.next().await, Next::Closed(_)));
    let mut reading = watched.await.unwrap();
    reading.in_sync().await;
}

/// Before `auth`, any other frame closes 4401 at once: not JSON, not a
/// known frame, or binary.
#[tokio::test]
async fn anything_but_auth_first_closes_4401() {
    let app = app().await;
    let address = app.serve().await;
    for text in ["hello", "{}", "{\"type\":\"pong\"}", "{\"type\":\"auth\"}"] {
        let mut client = Client::connect(address).await;
        client.text(text).await;
        assert_eq!(client.next().await, Next::Closed(Some(4401)), "{text}");
    }
    let mut binary = Client::connect(address).await;
    binary
        .ws
        .send(Message::binary(vec![0_u8, 159, 146, 150]))
        .await
        .unwrap();
    assert_eq!(binary.next().await, Next::Closed(Some(4401)));
}

#[tokio::test]
async fn thirty_kinds_of_malformed_frames_are_answered_and_the_connection_lives() {
    let app = app().await;
    let address = app.serve().await;
    let mut client = Client::authed(address, &app.admin()).await;
    let frames = [
        "",
        "{",
        "}",
        "null",
        "42",
        "\"auth\"",
        "[]",
        "[{\"type\":\"ping\"}]",
        "{}",
        "{\"type\":null}",
        "{\"type\":7}",
        "{\"type\":\"\"}",
        "{\"type\":\"PING\"}",
        "{\"type\":\"shout\"}",
        "{\"kind\":\"ping\"}",
        "{\"type\":\"auth\"}",
        "{\"type\":\"auth\",\"token\":5}",
        "{\"type\":\"subscribe\"}",
        "{\"type\":\"subscribe\",\"features\":\"budgets\"}",
        "{\"type\":\"subscribe\",\"features\":[1,2]}",
        "{\"type\":\"subscribe\",\"features\":[\"budgets\"],\"since\":[]}",
        "{\"type\":\"subscribe\",\"features\":[\"budgets\"],\"since\":{\"budgets\":-1}}",
        "{\"type\":\"subscribe\",\"features\":[\"budgets\"],\"since\":{\"budgets\":\"x\"}}",
        "{\"type\":\"unsubscribe\"}",
        "{\"type\":\"unsubscribe\",\"features\":{}}",
        "{\"type\":\"subscribe\",\"features\":[null]}",
        "{\"type\":\"ping\"} trailing",
        "{\"type\":\"ping\",}",
        "\u{0}\u{1}\u{2}",
        "{\"type\":\"subscribe\",\"features\":[\"budgets\"],\"since\":{\"budgets\":1.5}}",
    ];
    assert_eq!(frames.len(), 30);
    for frame in frames {
        client.text(frame).await;
        let answer = client.frame().await;
        assert_eq!(answer["type"], "error", "{frame:?} got {answer}");
        assert_eq!(answer["code"], "bad_request", "{frame:?} got {answer}");
        assert!(!answer["message"].as_str().unwrap().is_empty());
    }
    client
        .ws
        .send(Message::binary(vec![1, 2, 3]))
        .await
        .unwrap();
    assert_eq!(client.frame().await["code"], "bad_request");
    client.in_sync().await;
    assert_eq!(
        client.subscribe("budgets", None).await["type"],
        "subscribed"
    );
    // The server is fine for others too.
    let mut other = Client::authed(address, &app.admin()).await;
    other.in_sync().await;
}

#[tokio::test]
async fn a_frame_many_times_the_read_buffer_but_within_the_limit_is_read() {
    // The hub reads into a small buffer; a larger frame (a long token, a
    // long feature list) is still read whole.
    let app = app().await;
    let address = app.serve().await;
    let mut client = Client::authed(address, &app.admin()).await;
    let padded = format!("{{\"type\":\"ping\"}}{}", " ".repeat(60 * 1024));
    client.text(&padded).await;
    assert_eq!(client.frame().await, json!({"type": "pong"}));
    client.in_sync().await;
}

#[tokio::test]
async fn a_frame_over_the_size_limit_closes_that_connection_only() {
    let app = app_with(Limits {
        max_frame_bytes: 1024,
        ..Limits::default()
    })
    .await;
    let address = app.serve().await;
    let mut client = Client::authed(address, &app.admin()).await;
    let huge = format!("{{\"type\":\"ping\",\"pad\":\"{}\"}}", "x".repeat(4096));
    let _ = client.ws.send(Message::text(huge)).await;
    assert!(matches!(client.next().await, Next::Closed(_)));
    let mut other = Client::authed(address, &app.admin()).await;
    other.in_sync().await;
}

#[tokio::test]
async fn a_slow_reader_gets_resync_not_unbounded_memory() {
    let app = app_with(Limits {
        event_backlog: 16,
        ..Limits::default()
    })
    .await;
    let address = app.serve().await;
    let mut client = Client::authed(address, &app.admin()).await;
    client.subscribe("budgets", None).await;
    // Far more than the socket buffers hold, while the client reads nothing.
    flood(&app, 1..4001).await;
    assert_eq!(
        client.until_resync(4000).await,
        json!({"type": "resync", "feature": "budgets", "reason": "lagging"})
    );
}

#[tokio::test]
async fn a_thousand_subscribe_cycles_leave_nothing_behind() {
    let app = app().await;
    let address = app.serve().await;
    let mut client = Client::authed(address, &app.admin()).await;
    for _ in 0..1000 {
        client
            .send(json!({"type": "subscribe", "features": ["budgets"]}))
            .await;
        client
            .send(json!({"type": "unsubscribe", "features": ["budgets"]}))
            .await;
    }
    for _ in 0..1000 {
        assert_eq!(client.frame().await["type"], "subscribed");
    }
    client.in_sync().await;
    assert_eq!(app.aegis.hub().subscriptions(), 0);
    assert_eq!(app.aegis.hub().connections(), 1);
    client.subscribe("budgets", None).await;
    drop(client);
    for _ in 0..500 {
        if app.aegis.hub().connections() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        app.aegis.hub().connections(),
        0,
        "the connection's task ended"
    );
    assert_eq!(app.aegis.hub().subscriptions(), 0);
}
