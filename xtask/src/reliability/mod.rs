//! `cargo xtask reliability`: proof that no event is lost across instances.
//!
//! Two example-app processes share one PostgreSQL database. WebSocket
//! clients, spread over both, keep a copy of the budgets from the events
//! alone, and each hangs up at random moments and comes back, on either
//! instance, with `since`. Writers send 10,000 creates, updates and deletes
//! through both instances. At the end every client's copy must equal the
//! database, with no event lost, none twice and none out of order. Three
//! runs: undisturbed; one instance killed and restarted mid-run; a rolling
//! restart (each instance stopped with SIGTERM and started again in turn:
//! its clients are closed with 1012 and must be back within a second);
//! PostgreSQL restarted mid-run (the instances must recover by themselves).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aegis::auth::{Auth, Claims};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

mod clients;

use clients::{ClientReport, client};

use crate::postgres::Postgres;
use crate::process::example_app;
use crate::{cargo, run_in, workspace_root};

const WRITES: u64 = 10_000;
const CLIENTS: usize = 20;
const WRITERS: usize = 6;
const MIN_DISCONNECTS: u64 = 200;
const FEATURE: &str = "budgets";
const SECRET: &str = "aegis reliability secret";
/// How long clients may take to catch up once the writes are done.
const SETTLE: Duration = Duration::from_secs(60);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    None,
    KillInstance,
    RollingRestart,
    RestartPostgres,
}

impl Fault {
    fn describe(self) -> &'static str {
        match self {
            Fault::None => "two instances",
            Fault::KillInstance => "two instances, one killed and restarted mid-run",
            Fault::RollingRestart => {
                "two instances, each stopped with SIGTERM and restarted in turn"
            }
            Fault::RestartPostgres => "two instances, PostgreSQL restarted mid-run",
        }
    }
}

/// Builds the example app, starts a throwaway PostgreSQL, runs the suite
/// (or the runs named: `calm`, `kill`, `rolling`, `postgres`).
pub fn run(args: &[&str]) -> Result<(), String> {
    let mut faults = Vec::new();
    for arg in args {
        faults.push(match *arg {
            "calm" => Fault::None,
            "kill" => Fault::KillInstance,
            "rolling" => Fault::RollingRestart,
            "postgres" => Fault::RestartPostgres,
            other => {
                return Err(format!(
                    "unknown reliability run `{other}`: calm, kill, rolling or postgres"
                ));
            }
        });
    }
    if faults.is_empty() {
        faults = ALL.to_vec();
    }
    let root = workspace_root();
    run_in(&root, &[], &cargo(), &["build", "--package", "example-app"])?;
    let postgres = Postgres::start()?;
    run_faults(&postgres, &faults)
}

const ALL: [Fault; 4] = [
    Fault::None,
    Fault::KillInstance,
    Fault::RollingRestart,
    Fault::RestartPostgres,
];

/// How soon a client closed with 1012 must be back (ready on an
/// instance): the web runtime's first backoff step is at most 500 ms.
const BACK_WITHIN: Duration = Duration::from_secs(1);

/// Runs the suite with the example app already built, on `postgres`
/// (which it restarts in the last run).
pub fn run_built(postgres: &Postgres) -> Result<(), String> {
    run_faults(postgres, &ALL)
}

fn run_faults(postgres: &Postgres, faults: &[Fault]) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a tokio runtime: {e}"))?;
    let bin = crate::binary("debug", "example-app")?;
    for (n, fault) in faults.iter().copied().enumerate() {
        let report = runtime.block_on(scenario(&bin, postgres, fault, n))?;
        println!("reliability ({}): {report}", fault.describe());
    }
    Ok(())
}

/// What clients and writers share.
struct Shared {
    http: reqwest::Client,
    token: String,
    ports: [u16; 2],
    /// Acknowledged writes.
    writes: AtomicU64,
    /// Writes that failed (an instance or the database away, a conflict).
    failed_writes: AtomicU64,
    /// Once the writes are done: the feature's last seq, which every
    /// client must reach.
    target: AtomicU64,
}

/// A page of the list, and the feature's seq.
struct Page {
    rows: Vec<Value>,
    total: u64,
    seq: u64,
}

impl Shared {
    fn api(&self, port: u16, path: &str) -> String {
        format!("http://127.0.0.1:{port}/api/{FEATURE}{path}")
    }

    async fn list(&self, port: u16, page: u64, size: u64) -> Result<Page, String> {
        let reply = self
            .http
            .get(self.api(port, &format!("?page={page}&pageSize={size}&sort=id")))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !reply.status().is_success() {
            return Err(format!("list answered {}", reply.status()));
        }
        let body: Value = reply.json().await.map_err(|e| e.to_string())?;
        Ok(Page {
            rows: body["data"].as_array().cloned().unwrap_or_default(),
            total: body["total"].as_u64().unwrap_or(0),
            seq: body["seq"].as_u64().unwrap_or(0),
        })
    }

    /// Every row by id, and the seq read with the first page.
    async fn everything(&self, port: u16) -> Result<(BTreeMap<i64, Value>, u64), String> {
        let first = self.list(port, 1, 200).await?;
        let mut rows: BTreeMap<i64, Value> = BTreeMap::new();
        let pages = first.total.div_ceil(200).max(1);
        let seq = first.seq;
        for row in first.rows {
            rows.insert(row["id"].as_i64().unwrap_or(0), row);
        }
        for page in 2..=pages {
            for row in self.list(port, page, 200).await?.rows {
                rows.insert(row["id"].as_i64().unwrap_or(0), row);
            }
        }
        Ok((rows, seq))
    }
}

/// Writes through both instances until the suite has its writes; its own
/// rows only, so a conflict means a lost acknowledgement, not a race.
async fn writer(shared: Arc<Shared>, index: usize) {
    let mut rng = fastrand::Rng::new();
    let mut own: Vec<(i64, i64)> = Vec::new();
    let mut n = 0u64;
    while shared.writes.load(Ordering::SeqCst) < WRITES {
        n += 1;
        let port = shared.ports[rng.usize(0..2)];
        let roll = rng.u8(0..100);
        let outcome = if own.is_empty() || roll < 55 {
            let body = json!({
                "name": format!("w{index} #{n}"),
                "amount": n as f64,
                "fiscal_year": 2026,
                "status": "draft",
            });
            write(
                &shared,
                reqwest::Method::POST,
                shared.api(port, ""),
                Some(body),
            )
            .await
            .map(|(status, body)| {
                if status == 201 {
                    own.push((body["id"].as_i64().unwrap_or(0), 1));
                }
                status == 201
            })
        } else {
            let at = rng.usize(0..own.len());
            let (id, version) = own[at];
            let path = shared.api(port, &format!("/{id}"));
            if roll < 88 {
                let body = json!({
                    "name": format!("w{index} #{n} (edited)"),
                    "amount": n as f64,
                    "fiscal_year": 2027,
                    "status": "submitted",
                    "version": version,
                });
                write(&shared, reqwest::Method::PUT, path, Some(body))
                    .await
                    .map(|(status, body)| match status {
                        200 => {
                            own[at].1 = body["version"].as_i64().unwrap_or(version + 1);
                            true
                        }
                        409 => {
                            // An earlier update committed without its answer.
                            own[at].1 = body["current"]["version"].as_i64().unwrap_or(version);
                            false
                        }
                        404 => {
                            own.swap_remove(at);
                            false
                        }
                        _ => false,
                    })
            } else {
                write(&shared, reqwest::Method::DELETE, path, None)
                    .await
                    .map(|(status, _)| {
                        if status == 204 || status == 404 {
                            own.swap_remove(at);
                        }
                        status == 204
                    })
            }
        };
        if outcome == Ok(true) {
            shared.writes.fetch_add(1, Ordering::SeqCst);
        } else {
            shared.failed_writes.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn write(
    shared: &Shared,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> Result<(u16, Value), String> {
    let mut request = shared.http.request(method, url).bearer_auth(&shared.token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let reply = request.send().await.map_err(|e| e.to_string())?;
    let status = reply.status().as_u16();
    let body = reply.json().await.unwrap_or(Value::Null);
    Ok((status, body))
}

async fn scenario(
    bin: &Path,
    postgres: &Postgres,
    fault: Fault,
    n: usize,
) -> Result<String, String> {
    let database = fresh_database(postgres, n).await?;
    let mut instances = [
        example_app(bin, &database, SECRET)?,
        example_app(bin, &database, SECRET)?,
    ];
    let token = Auth::new(SECRET.as_bytes())
        .issue(&Claims::new("reliability", 3600, &[], &["*"]))
        .map_err(|e| e.to_string())?;
    let shared = Arc::new(Shared {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?,
        token,
        ports: [instances[0].port, instances[1].port],
        writes: AtomicU64::new(0),
        failed_writes: AtomicU64::new(0),
        target: AtomicU64::new(0),
    });
    for instance in &mut instances {
        instance.start()?;
    }
    for instance in &instances {
        instance.ready().await?;
    }

    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| tokio::spawn(client(shared.clone(), c % 2)))
        .collect();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| tokio::spawn(writer(shared.clone(), w)))
        .collect();
    let started = Instant::now();

    // The fault, once a third of the writes are in.
    while fault != Fault::None && shared.writes.load(Ordering::SeqCst) < WRITES / 3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    inject(fault, &mut instances, postgres).await?;
    for writer in writers {
        writer.await.map_err(|e| format!("a writer failed: {e}"))?;
    }
    let writing = started.elapsed();

    let (rows, last_seq) = shared.everything(shared.ports[0]).await?;
    shared.target.store(last_seq.max(1), Ordering::SeqCst);
    let mut reports = Vec::new();
    for client in clients {
        match tokio::time::timeout(SETTLE, client).await {
            Ok(Ok(report)) => reports.push(report),
            Ok(Err(e)) => return Err(format!("a client failed: {e}")),
            Err(_) => {
                return Err(format!(
                    "a client did not reach seq {last_seq} within {SETTLE:?}"
                ));
            }
        }
    }
    let totals = Totals::of(&reports, &rows);
    let summary = totals.summary(&shared, writing, last_seq, rows.len());
    let problems = totals.problems(fault);
    if problems.is_empty() {
        return Ok(summary);
    }
    print_logs(&instances);
    Err(format!(
        "reliability ({}): {summary}\n{}",
        fault.describe(),
        problems.join("\n")
    ))
}

/// A database of its own for run `n`, on `postgres`; its URL.
async fn fresh_database(postgres: &Postgres, n: usize) -> Result<String, String> {
    let name = format!("aegis_reliability_{}_{n}", std::process::id());
    let admin = aegis::store::Db::connect_only(&postgres.url)
        .await
        .map_err(|e| format!("cannot reach PostgreSQL: {e}"))?;
    sqlx_execute(&admin, &format!("CREATE DATABASE {name}")).await?;
    admin.pool().close().await;
    Ok(postgres.database_url(&name))
}

/// Brings about `fault`: an instance killed and started again, both
/// stopped with SIGTERM in turn, or PostgreSQL restarted.
async fn inject(
    fault: Fault,
    instances: &mut [crate::process::ServerProcess; 2],
    postgres: &Postgres,
) -> Result<(), String> {
    match fault {
        Fault::None => {}
        Fault::KillInstance => {
            instances[1].kill();
            tokio::time::sleep(Duration::from_secs(1)).await;
            instances[1].start()?;
            instances[1].ready().await?;
        }
        Fault::RollingRestart => {
            for index in [1, 0] {
                let graceful = tokio::task::block_in_place(|| {
                    instances[index].terminate(Duration::from_secs(15))
                });
                if !graceful {
                    return Err(format!(
                        "the instance on port {} did not stop on its own after SIGTERM",
                        instances[index].port
                    ));
                }
                instances[index].start()?;
                instances[index].ready().await?;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        Fault::RestartPostgres => {
            tokio::task::block_in_place(|| postgres.restart())?;
        }
    }
    Ok(())
}

/// What the clients saw, added up.
struct Totals<'a> {
    lost: u64,
    duplicated: u64,
    out_of_order: u64,
    resyncs: u64,
    disconnects: u64,
    dropped: u64,
    delivered: u64,
    restarted: u64,
    slowest_return: Duration,
    /// Clients whose rows differ from the database's.
    unequal: usize,
    errors: Vec<&'a String>,
}

impl<'a> Totals<'a> {
    fn of(reports: &'a [ClientReport], rows: &BTreeMap<i64, Value>) -> Self {
        let sum = |f: fn(&ClientReport) -> u64| reports.iter().map(f).sum::<u64>();
        Totals {
            lost: sum(|r| r.skipped),
            duplicated: sum(|r| r.duplicated),
            out_of_order: sum(|r| r.out_of_order),
            resyncs: sum(|r| r.resyncs),
            disconnects: sum(|r| r.disconnects),
            dropped: sum(|r| r.dropped),
            delivered: sum(|r| r.applied),
            restarted: sum(|r| r.restarted),
            slowest_return: reports
                .iter()
                .map(|r| r.slowest_return)
                .max()
                .unwrap_or_default(),
            unequal: reports.iter().filter(|r| r.rows != *rows).count(),
            errors: reports.iter().flat_map(|r| &r.errors).collect(),
        }
    }

    /// The run in one line.
    fn summary(&self, shared: &Shared, writing: Duration, last_seq: u64, rows: usize) -> String {
        let Totals {
            lost,
            duplicated,
            out_of_order,
            resyncs,
            disconnects,
            dropped,
            delivered,
            restarted,
            ..
        } = self;
        format!(
            "{} writes ({} failed and retried) in {:.1} s, {CLIENTS} clients, {disconnects} hang-ups \
             and {dropped} dropped connections; {last_seq} events, {delivered} delivered; \
             lost {lost}, duplicated {duplicated}, out of order {out_of_order}, resyncs {resyncs}; \
             {} of {CLIENTS} clients equal the database ({rows} rows){}",
            shared.writes.load(Ordering::SeqCst),
            shared.failed_writes.load(Ordering::SeqCst),
            writing.as_secs_f64(),
            CLIENTS - self.unequal,
            if *restarted > 0 {
                format!(
                    "; {restarted} connections closed with 1012, every client back within {} ms",
                    self.slowest_return.as_millis()
                )
            } else {
                String::new()
            },
        )
    }

    /// What fails the run under `fault`.
    fn problems(&self, fault: Fault) -> Vec<String> {
        let mut problems = Vec::new();
        if self.lost + self.duplicated + self.out_of_order + self.resyncs > 0 {
            problems
                .push("events were lost, repeated, reordered or replaced by a resync".to_owned());
        }
        if self.unequal > 0 {
            problems.push(format!("{} clients differ from the database", self.unequal));
        }
        if self.disconnects < MIN_DISCONNECTS {
            problems.push(format!(
                "only {} hang-ups, fewer than {MIN_DISCONNECTS}",
                self.disconnects
            ));
        }
        if !self.errors.is_empty() {
            problems.push(format!("clients saw errors: {:?}", self.errors));
        }
        if fault == Fault::RollingRestart && self.restarted == 0 {
            problems.push("no connection was closed with 1012".to_owned());
        }
        if self.slowest_return > BACK_WITHIN {
            problems.push(format!(
                "a client closed with 1012 took {} ms to be back, more than {} ms",
                self.slowest_return.as_millis(),
                BACK_WITHIN.as_millis()
            ));
        }
        problems
    }
}

/// The last lines each instance logged, for a failed run.
fn print_logs(instances: &[crate::process::ServerProcess]) {
    for instance in instances {
        let log = std::fs::read_to_string(instance.log()).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        eprintln!(
            "--- the instance on port {} logged (last lines):",
            instance.port
        );
        for line in tail.into_iter().rev() {
            eprintln!("{line}");
        }
    }
}

async fn sqlx_execute(db: &aegis::store::Db, statement: &str) -> Result<(), String> {
    sqlx::query(statement)
        .execute(db.pool())
        .await
        .map(drop)
        .map_err(|e| format!("`{statement}` failed: {e}"))
}
