//! `cargo xtask bench fanout`: WebSocket clients subscribed to one
//! feature while a writer commits changes at a fixed rate. Prints
//! deliveries per second and commit-to-receive latency (from the event's
//! timestamp, taken in the committing transaction, to the client's
//! receipt), side by side for each client count.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aegis::testing::TestApp;
use aegis::{Api, ModuleSettings};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::bench::import::Expense;
use crate::measure::quantile;

const RATE_PER_SECOND: u64 = 50;
const WRITES: u64 = 250;

/// How long ago, in ms, the server stamped an event (its `meta.timestamp`,
/// taken in the committing transaction).
pub(crate) fn latency_ms(event: &Value) -> Option<f64> {
    since_ms(event["meta"]["timestamp"].as_str()?)
}

/// How long ago, in ms, an RFC 3339 `timestamp` was.
pub(crate) fn since_ms(timestamp: &str) -> Option<f64> {
    let sent = chrono::DateTime::parse_from_rfc3339(timestamp).ok()?;
    let delay = chrono::Utc::now().signed_duration_since(sent);
    Some(delay.num_microseconds()? as f64 / 1000.0)
}

/// Every reader's latencies, sorted, and when the last event arrived
/// (`started` if none did).
pub(crate) async fn gather(
    readers: Vec<tokio::task::JoinHandle<(Vec<f64>, Instant)>>,
    started: Instant,
) -> Result<(Vec<f64>, Instant), String> {
    let mut latencies = Vec::new();
    let mut finished = started;
    for reader in readers {
        let (mut mine, last) = reader.await.map_err(|e| e.to_string())?;
        latencies.append(&mut mine);
        finished = finished.max(last);
    }
    latencies.sort_by(f64::total_cmp);
    Ok((latencies, finished))
}

struct Figures {
    clients: usize,
    deliveries: usize,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
}

async fn one(clients: usize) -> Result<Figures, String> {
    let api = Api::new().module::<Expense>(ModuleSettings {
        module: "expenses",
        with_events: true,
        with_import: false,
        with_history: true,
        sortable: None,
    });
    let app = Arc::new(TestApp::new(api).await);
    let address = app.serve().await;
    let token = app.admin();

    let mut readers = Vec::new();
    for _ in 0..clients {
        readers.push(tokio::spawn(reader(subscribed(address, &token).await?)));
    }
    // Every client subscribed: the hub counts them.
    for _ in 0..1000 {
        if app.aegis.hub().subscriptions() == clients {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if app.aegis.hub().subscriptions() != clients {
        return Err(format!(
            "only {} of {clients} clients subscribed",
            app.aegis.hub().subscriptions()
        ));
    }

    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / RATE_PER_SECOND));
    for n in 0..WRITES {
        tick.tick().await;
        let body = json!({"label": format!("e{n}"), "amount": 1.5, "year": 2026, "approved": true, "note": null});
        let reply = app
            .call("POST", "/api/expenses", Some(&token), Some(body), &[])
            .await;
        if reply.status.as_u16() != 201 {
            return Err(reply.text);
        }
    }
    let (latencies, finished) = gather(readers, started).await?;
    if latencies.is_empty() {
        return Err("no client received an event".to_owned());
    }
    Ok(Figures {
        clients,
        deliveries: latencies.len(),
        seconds: finished.duration_since(started).as_secs_f64(),
        p50_ms: quantile(&latencies, 0.50),
        p99_ms: quantile(&latencies, 0.99),
    })
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A client connected to `address`, authenticated with `token` and
/// subscribed to the expenses.
async fn subscribed(address: std::net::SocketAddr, token: &str) -> Result<Socket, String> {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{address}/ws"))
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    ws.send(Message::text(
        json!({"type": "auth", "token": token}).to_string(),
    ))
    .await
    .map_err(|e| e.to_string())?;
    ws.send(Message::text(
        json!({"type": "subscribe", "features": ["expenses"]}).to_string(),
    ))
    .await
    .map_err(|e| e.to_string())?;
    Ok(ws)
}

/// Reads events until the last write's: their latencies, and when the
/// last came.
async fn reader(mut ws: Socket) -> (Vec<f64>, Instant) {
    let mut latencies = Vec::with_capacity(WRITES as usize);
    let mut last = Instant::now();
    while let Some(Ok(message)) = ws.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let Ok(frame) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if frame["type"] != "event" {
            continue;
        }
        latencies.extend(latency_ms(&frame));
        last = Instant::now();
        if frame["meta"]["seq"].as_u64() == Some(WRITES) {
            break;
        }
    }
    (latencies, last)
}

pub fn run(sizes: &[usize]) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut results = Vec::new();
    for &clients in sizes {
        results.push(runtime.block_on(one(clients))?);
    }
    println!(
        "fanout: {WRITES} changes at {RATE_PER_SECOND}/s to one feature, in-memory SQLite, clients in the same process"
    );
    println!(
        "{:>8} {:>11} {:>14} {:>9} {:>9}",
        "clients", "deliveries", "deliveries/s", "p50 ms", "p99 ms"
    );
    for f in &results {
        println!(
            "{:>8} {:>11} {:>14.0} {:>9.2} {:>9.2}",
            f.clients,
            f.deliveries,
            f.deliveries as f64 / f.seconds,
            f.p50_ms,
            f.p99_ms
        );
        if f.deliveries != f.clients * WRITES as usize {
            return Err(format!(
                "{} clients received {} events; expected {}",
                f.clients,
                f.deliveries,
                f.clients * WRITES as usize
            ));
        }
    }
    if let [small, large] = &results[..] {
        println!(
            "ratios {}→{} clients: deliveries/s ×{:.2}, p50 ×{:.2}, p99 ×{:.2}",
            small.clients,
            large.clients,
            (large.deliveries as f64 / large.seconds) / (small.deliveries as f64 / small.seconds),
            large.p50_ms / small.p50_ms,
            large.p99_ms / small.p99_ms
        );
    }
    Ok(())
}
