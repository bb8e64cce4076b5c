//! `cargo xtask bench fanout --postgres [N]`: fan-out across two instances
//! sharing one PostgreSQL, Aegis against a Socket.IO v4 baseline
//! (`bench/socketio`: @socket.io/postgres-adapter, the same envelope, the
//! same JWTs) under the same load generator, side by side in one run.
//!
//! For each system: two server processes on a fresh database, N WebSocket
//! clients spread over both and subscribed to `budgets`, and one writer
//! creating budgets at a fixed rate through both. Deliveries per second
//! count every event every client received, over the time from the first
//! write to the last receipt; latency runs from the event's timestamp
//! (taken by the server inside the committing transaction) to its receipt.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aegis::auth::{Auth, Claims};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::postgres::Postgres;
use crate::process::{ServerProcess, example_app};
use crate::{cargo, run_in, workspace_root};

const RATE_PER_SECOND: u64 = 50;
const WRITES: u64 = 250;
const SECRET: &str = "aegis bench secret";
const FEATURE: &str = "budgets";

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[derive(Clone, Copy, PartialEq, Debug)]
enum System {
    Aegis,
    SocketIo,
}

impl System {
    fn name(self) -> &'static str {
        match self {
            System::Aegis => "aegis",
            System::SocketIo => "socket.io v4",
        }
    }
}

struct Figures {
    /// CPU time both servers used from the first write to the last receipt.
    server_cpu: f64,
    deliveries: usize,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
}

impl Figures {
    fn per_second(&self) -> f64 {
        self.deliveries as f64 / self.seconds
    }

    /// Server CPU milliseconds per thousand deliveries.
    fn cpu_per_thousand(&self) -> f64 {
        self.server_cpu * 1e6 / self.deliveries as f64
    }
}

pub fn run(clients: usize) -> Result<(), String> {
    let root = workspace_root();
    run_in(
        &root,
        &[],
        &cargo(),
        &["build", "--release", "--package", "example-app"],
    )?;
    let baseline = root.join("bench/socketio");
    if !baseline.join("node_modules").is_dir() {
        run_in(&baseline, &[], "npm", &["ci", "--no-audit", "--no-fund"])?;
    }
    let postgres = Postgres::start()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut results = Vec::new();
    for system in [System::Aegis, System::SocketIo] {
        let figures = runtime.block_on(measure(system, clients, &root, &postgres))?;
        results.push((system, figures));
    }
    println!(
        "fanout on PostgreSQL: two instances per system, {clients} clients spread over both, \
         {WRITES} creates at {RATE_PER_SECOND}/s through both, one feature"
    );
    println!(
        "{:<14} {:>11} {:>14} {:>9} {:>9} {:>16}",
        "system", "deliveries", "deliveries/s", "p50 ms", "p99 ms", "server CPU ms/1k"
    );
    for (system, f) in &results {
        println!(
            "{:<14} {:>11} {:>14.0} {:>9.2} {:>9.2} {:>16.1}",
            system.name(),
            f.deliveries,
            f.per_second(),
            f.p50_ms,
            f.p99_ms,
            f.cpu_per_thousand()
        );
    }
    let expected = clients * WRITES as usize;
    if let [(_, aegis), (_, baseline)] = &results[..] {
        println!(
            "ratio aegis / socket.io: deliveries/s ×{:.2}, p50 ×{:.2}, p99 ×{:.2}, server CPU per delivery ×{:.2} \
             (below 1 is better for all but deliveries/s)",
            aegis.per_second() / baseline.per_second(),
            aegis.p50_ms / baseline.p50_ms,
            aegis.p99_ms / baseline.p99_ms,
            aegis.cpu_per_thousand() / baseline.cpu_per_thousand()
        );
        if aegis.deliveries != expected {
            return Err(format!(
                "aegis delivered {} events; expected {expected}",
                aegis.deliveries
            ));
        }
        if baseline.deliveries != expected {
            println!(
                "socket.io delivered {} of {expected} events (it has no replay)",
                baseline.deliveries
            );
        }
    }
    Ok(())
}

async fn measure(
    system: System,
    clients: usize,
    root: &Path,
    postgres: &Postgres,
) -> Result<Figures, String> {
    let name = format!(
        "aegis_bench_{}_{}",
        if system == System::Aegis {
            "aegis"
        } else {
            "socketio"
        },
        std::process::id()
    );
    let admin = aegis::store::Db::connect_only(&postgres.url)
        .await
        .map_err(|e| format!("cannot reach PostgreSQL: {e}"))?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(admin.pool())
        .await
        .map_err(|e| format!("cannot create {name}: {e}"))?;
    admin.pool().close().await;
    let database = postgres.database_url(&name);

    let mut servers = Vec::new();
    for _ in 0..2 {
        servers.push(match system {
            System::Aegis => {
                example_app(&root.join("target/release/example-app"), &database, SECRET)?
            }
            System::SocketIo => {
                let script = root.join("bench/socketio/server.mjs");
                ServerProcess::new(
                    Path::new("node"),
                    &[&script.to_string_lossy()],
                    &[("DATABASE_URL", &database), ("AEGIS_JWT_SECRET", SECRET)],
                )?
            }
        });
    }
    for server in &mut servers {
        server.start()?;
    }
    for server in &servers {
        server.ready().await?;
    }
    let ports: Vec<u16> = servers.iter().map(|s| s.port).collect();
    let token = Auth::new(SECRET.as_bytes())
        .issue(&Claims::new("bench", 3600, &[], &["*"]))
        .map_err(|e| e.to_string())?;

    let subscribed = Arc::new(AtomicUsize::new(0));
    let mut readers = Vec::new();
    for n in 0..clients {
        let port = ports[n % ports.len()];
        let socket = connect(system, port, &token).await?;
        readers.push(tokio::spawn(read(system, socket, subscribed.clone())));
    }
    let waiting = Instant::now();
    while subscribed.load(Ordering::SeqCst) < clients {
        if waiting.elapsed() > Duration::from_secs(60) {
            return Err(format!(
                "{}: only {} of {clients} clients subscribed",
                system.name(),
                subscribed.load(Ordering::SeqCst)
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let cpu = |servers: &[ServerProcess]| {
        servers
            .iter()
            .filter_map(ServerProcess::cpu_seconds)
            .sum::<f64>()
    };
    let http = reqwest::Client::new();
    let cpu_before = cpu(&servers);
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / RATE_PER_SECOND));
    for n in 0..WRITES {
        tick.tick().await;
        let port = ports[n as usize % ports.len()];
        let reply = http
            .post(format!("http://127.0.0.1:{port}/api/{FEATURE}"))
            .bearer_auth(&token)
            .json(&json!({"name": format!("b{n}"), "amount": 1.5, "fiscal_year": 2026, "status": "draft"}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if reply.status().as_u16() != 201 {
            return Err(format!(
                "{}: a write answered {}: {}",
                system.name(),
                reply.status(),
                reply.text().await.unwrap_or_default()
            ));
        }
    }
    let mut latencies = Vec::new();
    let mut finished = started;
    for reader in readers {
        match tokio::time::timeout(Duration::from_secs(30), reader).await {
            Ok(Ok((mut mine, last))) => {
                latencies.append(&mut mine);
                finished = finished.max(last);
            }
            Ok(Err(e)) => return Err(e.to_string()),
            // A client that never saw the last event: what it got counts.
            Err(_) => {}
        }
    }
    let server_cpu = cpu(&servers) - cpu_before;
    if latencies.is_empty() {
        return Err(format!("{}: no client received an event", system.name()));
    }
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    Ok(Figures {
        server_cpu,
        deliveries: latencies.len(),
        seconds: finished.duration_since(started).as_secs_f64(),
        p50_ms: at(0.50),
        p99_ms: at(0.99),
    })
}

async fn send(socket: &mut Socket, text: String) -> Result<(), String> {
    socket
        .send(Message::text(text))
        .await
        .map_err(|e| e.to_string())
}

/// The next text frame.
async fn next_text(socket: &mut Socket) -> Result<String, String> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => return Ok(text.to_string()),
            Some(Ok(Message::Close(_))) | None => return Err("the server closed".to_owned()),
            Some(Err(e)) => return Err(e.to_string()),
            Some(Ok(_)) => {}
        }
    }
}

/// Connects and authenticates; the subscription is sent, its answer read
/// by [`read`].
async fn connect(system: System, port: u16, token: &str) -> Result<Socket, String> {
    let url = match system {
        System::Aegis => format!("ws://127.0.0.1:{port}/ws"),
        System::SocketIo => format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"),
    };
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .map_err(|e| format!("{}: cannot connect: {e}", system.name()))?;
    match system {
        System::Aegis => {
            send(
                &mut socket,
                json!({"type": "auth", "token": token}).to_string(),
            )
            .await?;
            send(
                &mut socket,
                json!({"type": "subscribe", "features": [FEATURE]}).to_string(),
            )
            .await?;
        }
        System::SocketIo => {
            // Engine.IO's open packet, then Socket.IO's CONNECT with the
            // token, then the `subscribe` event with acknowledgement 0.
            let open = next_text(&mut socket).await?;
            if !open.starts_with('0') {
                return Err(format!("socket.io: expected an open packet, got {open}"));
            }
            send(&mut socket, format!("40{}", json!({"token": token}))).await?;
            let connected = next_text(&mut socket).await?;
            if !connected.starts_with("40") {
                return Err(format!(
                    "socket.io: the connection was refused: {connected}"
                ));
            }
            send(&mut socket, format!("420{}", json!(["subscribe", FEATURE]))).await?;
        }
    }
    Ok(socket)
}

/// Reads until the last write's event; each event's latency in ms, and
/// when the last arrived.
async fn read(
    system: System,
    mut socket: Socket,
    subscribed: Arc<AtomicUsize>,
) -> (Vec<f64>, Instant) {
    let mut latencies = Vec::with_capacity(WRITES as usize);
    let mut last = Instant::now();
    while let Ok(text) = next_text(&mut socket).await {
        let event = match system {
            System::Aegis => match serde_json::from_str::<Value>(&text) {
                Ok(frame) if frame["type"] == "subscribed" => {
                    subscribed.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                Ok(frame) if frame["type"] == "event" => frame,
                _ => continue,
            },
            System::SocketIo => {
                if text == "2" {
                    // Engine.IO ping: answer, or the server hangs up.
                    if send(&mut socket, "3".to_owned()).await.is_err() {
                        break;
                    }
                    continue;
                }
                if text.starts_with("430") {
                    subscribed.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                let Some(body) = text.strip_prefix("42") else {
                    continue;
                };
                match serde_json::from_str::<Value>(body) {
                    Ok(Value::Array(mut parts)) if parts.len() == 2 && parts[0] == "event" => {
                        parts.remove(1)
                    }
                    _ => continue,
                }
            }
        };
        latencies.extend(crate::bench_fanout::latency_ms(&event));
        last = Instant::now();
        if event["meta"]["seq"].as_u64() == Some(WRITES) {
            break;
        }
    }
    (latencies, last)
}
