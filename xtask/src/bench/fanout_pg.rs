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
use std::time::{Duration, Instant};

use aegis::auth::{Auth, Claims};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::bench::fanout::{gather, since_ms};
use crate::measure::quantile;
use crate::postgres::Postgres;
use crate::process::{METRICS_TOKEN, ServerProcess, example_app};
use crate::prom::Buckets;
use crate::{cargo, run_in, workspace_root};

const RATE_PER_SECOND: u64 = 50;
const WRITES: u64 = 250;
const SECRET: &str = "aegis bench secret";
const FEATURE: &str = "budgets";
/// How long a reader waits for the next event before it gives up.
const PATIENCE: Duration = Duration::from_secs(10);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum System {
    Aegis,
    SocketIo,
}

impl System {
    pub(crate) const BOTH: [System; 2] = [System::Aegis, System::SocketIo];

    pub(crate) fn name(self) -> &'static str {
        match self {
            System::Aegis => "aegis",
            System::SocketIo => "socket.io v4",
        }
    }
}

pub(crate) struct Figures {
    /// CPU time both servers used from the first write to the last receipt.
    pub server_cpu: f64,
    /// CPU time this process (the clients and the writer) used meanwhile.
    pub generator_cpu: f64,
    pub deliveries: usize,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Figures {
    pub(crate) fn per_second(&self) -> f64 {
        self.deliveries as f64 / self.seconds
    }

    /// Server CPU milliseconds per thousand deliveries.
    pub(crate) fn cpu_per_thousand(&self) -> f64 {
        self.server_cpu * 1e6 / self.deliveries as f64
    }

    /// The load generator's CPU milliseconds per thousand deliveries.
    pub(crate) fn generator_per_thousand(&self) -> f64 {
        self.generator_cpu * 1e6 / self.deliveries as f64
    }
}

/// Builds the example app and installs the baseline's packages.
pub(crate) fn prepare(root: &Path) -> Result<(), String> {
    run_in(
        root,
        &[],
        &cargo(),
        &["build", "--release", "--package", "example-app"],
    )?;
    let baseline = root.join("bench/socketio");
    if !baseline.join("node_modules").is_dir() {
        run_in(&baseline, &[], "npm", &["ci", "--no-audit", "--no-fund"])?;
    }
    Ok(())
}

pub fn run(clients: usize) -> Result<(), String> {
    let root = workspace_root();
    prepare(&root)?;
    let postgres = Postgres::start()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut results = Vec::new();
    let mut stages = None;
    for system in System::BOTH {
        let figures = runtime.block_on(async {
            let mut cluster = Cluster::start(system, &root, &postgres, &[]).await?;
            let readers = cluster.subscribe(clients, WRITES).await?;
            let before = cluster.scrape().await?;
            let started = cluster.write(RATE_PER_SECOND as f64, WRITES).await?;
            let figures = cluster.collect(readers, started).await?;
            if system == System::Aegis {
                let after = cluster.scrape().await?;
                stages = Some((before, after));
            }
            Ok::<_, String>(figures)
        })?;
        results.push((system, figures));
    }
    println!(
        "fanout on PostgreSQL: two instances per system, {clients} clients spread over both, \
         {WRITES} creates at {RATE_PER_SECOND}/s through both, one feature"
    );
    println!(
        "{:<14} {:>11} {:>14} {:>9} {:>9} {:>16} {:>17}",
        "system",
        "deliveries",
        "deliveries/s",
        "p50 ms",
        "p99 ms",
        "server CPU ms/1k",
        "clients CPU ms/1k"
    );
    for (system, f) in &results {
        println!(
            "{:<14} {:>11} {:>14.0} {:>9.2} {:>9.2} {:>16.1} {:>17.1}",
            system.name(),
            f.deliveries,
            f.per_second(),
            f.p50_ms,
            f.p99_ms,
            f.cpu_per_thousand(),
            f.generator_per_thousand()
        );
    }
    if let (Some((before, after)), Some((_, aegis))) = (&stages, results.first()) {
        print_stages(before, after, aegis);
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

/// An event's path through Aegis, from the commit: the servers' own
/// histograms (between the two scrapes) for the stages inside them, the
/// clients' receipts for the last.
fn print_stages(before: &[String], after: &[String], aegis: &Figures) {
    let stage = |name: &str| Buckets::read(after, name).since(&Buckets::read(before, name));
    let ms = |q: Option<f64>| q.map_or("> 10 s".to_owned(), |s| format!("{:.2}", s * 1000.0));
    println!(
        "aegis, an event's path from its commit (histogram quantiles are interpolated in buckets of 1, 2.5, 5, 10, 25, 50 ms):"
    );
    println!(
        "{:<58} {:>9} {:>9} {:>9}",
        "stage", "count", "p50 ms", "p99 ms"
    );
    for (label, name) in [
        (
            "published on the other instance's bus (NOTIFY, relay)",
            "aegis_relay_lag_seconds",
        ),
        (
            "written to a subscriber's socket (bus, hub, queue)",
            "aegis_ws_delivery_lag_seconds",
        ),
    ] {
        let lag = stage(name);
        println!(
            "{label:<58} {:>9} {:>9} {:>9}",
            lag.count(),
            ms(lag.quantile(0.5)),
            ms(lag.quantile(0.99))
        );
    }
    println!(
        "{:<58} {:>9} {:>9.2} {:>9.2}",
        "received by the client", aegis.deliveries, aegis.p50_ms, aegis.p99_ms
    );
}

/// Clusters started by this process: each has a database of its own.
static CLUSTERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Two server processes of one system on a fresh database of `postgres`.
pub(crate) struct Cluster {
    system: System,
    servers: Vec<ServerProcess>,
    ports: Vec<u16>,
    token: String,
    http: reqwest::Client,
    /// Creates made so far: the seq of the last one.
    written: u64,
    /// The servers' CPU seconds when the last [`Cluster::write`] began.
    cpu_at_write: f64,
    generator_at_write: f64,
}

impl Cluster {
    /// Starts the servers, each under `pin` (a command and its arguments,
    /// such as `taskset -c 0`) when given.
    pub(crate) async fn start(
        system: System,
        root: &Path,
        postgres: &Postgres,
        pin: &[String],
    ) -> Result<Self, String> {
        let name = format!(
            "aegis_bench_{}_{}_{}",
            if system == System::Aegis {
                "aegis"
            } else {
                "socketio"
            },
            std::process::id(),
            CLUSTERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
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
            let mut server = match system {
                System::Aegis => {
                    example_app(&crate::binary("release", "example-app")?, &database, SECRET)?
                }
                System::SocketIo => {
                    let script = root.join("bench/socketio/server.mjs");
                    ServerProcess::new(
                        Path::new("node"),
                        &[&script.to_string_lossy()],
                        &[("DATABASE_URL", &database), ("AEGIS_JWT_SECRET", SECRET)],
                    )?
                }
            };
            server.pin(pin);
            servers.push(server);
        }
        for server in &mut servers {
            server.start()?;
        }
        for server in &servers {
            server.ready().await?;
        }
        let ports = servers.iter().map(|s| s.port).collect();
        let token = Auth::new(SECRET.as_bytes())
            .issue(&Claims::new("bench", 24 * 3600, &[], &["*"]))
            .map_err(|e| e.to_string())?;
        Ok(Cluster {
            system,
            servers,
            ports,
            token,
            http: reqwest::Client::new(),
            written: 0,
            cpu_at_write: 0.0,
            generator_at_write: 0.0,
        })
    }

    /// CPU seconds both servers have used.
    pub(crate) fn cpu(&self) -> f64 {
        self.servers
            .iter()
            .filter_map(ServerProcess::cpu_seconds)
            .sum()
    }

    /// Each Aegis server's `/metrics`; nothing for the baseline.
    pub(crate) async fn scrape(&self) -> Result<Vec<String>, String> {
        if self.system != System::Aegis {
            return Ok(Vec::new());
        }
        let mut scrapes = Vec::new();
        for port in &self.ports {
            let reply = self
                .http
                .get(format!("http://127.0.0.1:{port}/metrics"))
                .bearer_auth(METRICS_TOKEN)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !reply.status().is_success() {
                return Err(format!("/metrics answered {}", reply.status()));
            }
            scrapes.push(reply.text().await.map_err(|e| e.to_string())?);
        }
        Ok(scrapes)
    }

    /// Both servers' resident memory, in KiB.
    pub(crate) fn rss_kib(&self) -> u64 {
        self.servers.iter().filter_map(ServerProcess::rss_kib).sum()
    }

    /// Connects `clients` sockets spread over both servers, authenticated
    /// and subscribed; returns them once every one is.
    pub(crate) async fn connect(&self, clients: usize) -> Result<Vec<Socket>, String> {
        let mut connecting = tokio::task::JoinSet::new();
        let mut sockets = Vec::with_capacity(clients);
        // At most this many handshakes at once, as a crowd of browsers
        // would, not every one in the same instant.
        const AT_ONCE: usize = 200;
        for n in 0..clients {
            if connecting.len() >= AT_ONCE {
                sockets.push(joined(connecting.join_next().await)?);
            }
            let (system, port, token) = (
                self.system,
                self.ports[n % self.ports.len()],
                self.token.clone(),
            );
            connecting.spawn(async move { subscribed(system, port, &token).await });
        }
        while let Some(done) = connecting.join_next().await {
            sockets.push(joined(Some(done))?);
        }
        Ok(sockets)
    }

    /// Connects `clients` readers, each reading until the event of the
    /// `writes`-th create from now.
    pub(crate) async fn subscribe(
        &self,
        clients: usize,
        writes: u64,
    ) -> Result<Vec<tokio::task::JoinHandle<Received>>, String> {
        let last = self.written + writes;
        Ok(self
            .connect(clients)
            .await?
            .into_iter()
            .map(|socket| tokio::spawn(read(self.system, socket, last)))
            .collect())
    }

    /// Creates `writes` budgets at `rate` per second through both servers,
    /// each request on its own (a slow answer does not hold the next back).
    /// When the first was sent.
    pub(crate) async fn write(&mut self, rate: f64, writes: u64) -> Result<Instant, String> {
        self.cpu_at_write = self.cpu();
        self.generator_at_write = own_cpu();
        let started = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut requests = tokio::task::JoinSet::new();
        for n in 0..writes {
            tick.tick().await;
            let port = self.ports[n as usize % self.ports.len()];
            let request = self
                .http
                .post(format!("http://127.0.0.1:{port}/api/{FEATURE}"))
                .bearer_auth(&self.token)
                .json(&json!({"name": format!("b{n}"), "amount": 1.5, "fiscal_year": 2026, "status": "draft"}));
            requests.spawn(async move {
                let reply = request.send().await.map_err(|e| e.to_string())?;
                if reply.status().as_u16() == 201 {
                    return Ok(());
                }
                Err(format!(
                    "a write answered {}: {}",
                    reply.status(),
                    reply.text().await.unwrap_or_default()
                ))
            });
        }
        while let Some(done) = requests.join_next().await {
            done.map_err(|e| e.to_string())?
                .map_err(|e| format!("{}: {e}", self.system.name()))?;
        }
        self.written += writes;
        Ok(started)
    }

    /// What the readers received from `started` on, and the servers' CPU
    /// from the last [`Cluster::write`]'s start.
    pub(crate) async fn collect(
        &self,
        readers: Vec<tokio::task::JoinHandle<Received>>,
        started: Instant,
    ) -> Result<Figures, String> {
        let (latencies, finished) = gather(readers, started).await?;
        let server_cpu = self.cpu() - self.cpu_at_write;
        let generator_cpu = own_cpu() - self.generator_at_write;
        if latencies.is_empty() {
            return Err(format!(
                "{}: no client received an event",
                self.system.name()
            ));
        }
        Ok(Figures {
            server_cpu,
            generator_cpu,
            deliveries: latencies.len(),
            seconds: finished.duration_since(started).as_secs_f64(),
            p50_ms: quantile(&latencies, 0.50),
            p99_ms: quantile(&latencies, 0.99),
        })
    }
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

fn joined(
    done: Option<Result<Result<Socket, String>, tokio::task::JoinError>>,
) -> Result<Socket, String> {
    done.ok_or("no connection")?.map_err(|e| e.to_string())?
}

/// A socket connected, authenticated and subscribed to the feature.
async fn subscribed(system: System, port: u16, token: &str) -> Result<Socket, String> {
    let url = match system {
        System::Aegis => format!("ws://127.0.0.1:{port}/ws"),
        System::SocketIo => format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"),
    };
    // A small read buffer, as the servers have: tungstenite zero-fills
    // the whole buffer on every read, and the default is 128 KiB.
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), false)
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
            loop {
                let text = next_text(&mut socket).await?;
                match serde_json::from_str::<Value>(&text) {
                    Ok(frame) if frame["type"] == "subscribed" => break,
                    Ok(frame) if frame["type"] == "error" => {
                        return Err(format!("aegis: the subscription failed: {text}"));
                    }
                    _ => {}
                }
            }
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
            while !next_text(&mut socket).await?.starts_with("430") {}
        }
    }
    Ok(socket)
}

/// An event frame's fields a reader looks at; serde skips the rest.
#[derive(Deserialize)]
struct EventFrame {
    #[serde(rename = "type")]
    kind: String,
    meta: Option<EventMeta>,
}

#[derive(Deserialize)]
struct EventMeta {
    seq: u64,
    timestamp: String,
}

/// Each event's latency in ms, and when the last arrived.
pub(crate) type Received = (Vec<f64>, Instant);

/// Reads until the event of seq `last` (or [`PATIENCE`] without one).
async fn read(system: System, mut socket: Socket, last: u64) -> Received {
    let mut latencies = Vec::new();
    let mut received = Instant::now();
    while let Ok(Ok(text)) = tokio::time::timeout(PATIENCE, next_text(&mut socket)).await {
        let event = match system {
            System::Aegis => serde_json::from_str::<EventFrame>(&text).ok(),
            System::SocketIo => {
                if text == "2" {
                    // Engine.IO ping: answer, or the server hangs up.
                    if send(&mut socket, "3".to_owned()).await.is_err() {
                        break;
                    }
                    continue;
                }
                text.strip_prefix("42")
                    .and_then(|body| serde_json::from_str::<(String, EventFrame)>(body).ok())
                    .filter(|(name, _)| name == "event")
                    .map(|(_, frame)| frame)
            }
        };
        let Some(EventFrame {
            kind,
            meta: Some(meta),
        }) = event
        else {
            continue;
        };
        if kind != "event" {
            continue;
        }
        let Some(latency) = since_ms(&meta.timestamp) else {
            continue;
        };
        latencies.push(latency);
        received = Instant::now();
        if meta.seq >= last {
            break;
        }
    }
    (latencies, received)
}

/// The CPU time this process has used, in seconds.
fn own_cpu() -> f64 {
    crate::process::cpu_seconds_of("self").unwrap_or_default()
}
