//! `cargo xtask bench rest [--postgres]`: REST under load. 50 clients at
//! once, over HTTP on loopback, create 10,000 expenses, then read 5,000
//! pages of the list; in the same run, 50 tasks insert the same rows and
//! select the same pages straight through sqlx, each insert its own
//! transaction, on pools shaped as the runtime's (on SQLite one writer and
//! four readers, on PostgreSQL 16 connections): the database's limit on
//! this machine for one row a transaction. (The runtime writes creates
//! that arrive together in one transaction, so it can pass that limit.)
//! The two alternate for five rounds, each on fresh databases, so that a
//! disk or a neighbour that is slower for a while weighs on both; prints
//! the rates, p50 and p99 of the median round, with the CPU each side
//! spent per 1,000 operations (this process; on PostgreSQL, the server's
//! processes too), every round's ratios, and their medians.
//!
//! The HTTP clients are the lightest the bench can make them (one
//! keep-alive hyper connection each, headers built once): they share the
//! machine's cores with the server and the database, and the sqlx side
//! has no client to pay for.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use sqlx::Executor as _;

const CLIENTS: usize = 50;
const CREATES: usize = 10_000;
const READS: usize = 5_000;
const PAGE: usize = 20;
const ROUNDS: usize = 5;

/// Rate, latencies and CPU of `total` operations by `CLIENTS` workers.
struct Load {
    per_second: f64,
    p50: Duration,
    p99: Duration,
    /// CPU ms per 1,000 operations: this process's (server, clients and
    /// driver alike), and the database server's when it has processes
    /// of its own.
    cpu: (f64, Option<f64>),
}

/// The CPU time used so far by this process and by `database`'s.
fn cpu(database: Option<&crate::postgres::Postgres>) -> (f64, Option<f64>) {
    let this = crate::process::cpu_seconds_of("self").unwrap_or(f64::NAN);
    (
        this,
        database.and_then(crate::postgres::Postgres::cpu_seconds),
    )
}

/// Runs `operation(worker, n)` for n in 0..total on `CLIENTS` workers at
/// once, `worker` in 0..CLIENTS.
async fn load<F, Fut>(
    database: Option<&crate::postgres::Postgres>,
    total: usize,
    operation: F,
) -> Result<Load, String>
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let operation = Arc::new(operation);
    let cpu_before = cpu(database);
    let started = Instant::now();
    let workers: Vec<_> = (0..CLIENTS)
        .map(|worker| {
            let next = next.clone();
            let operation = operation.clone();
            tokio::spawn(async move {
                let mut times = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= total {
                        return Ok::<_, String>(times);
                    }
                    let began = Instant::now();
                    operation(worker, n).await?;
                    times.push(began.elapsed());
                }
            })
        })
        .collect();
    let mut times = Vec::with_capacity(total);
    for worker in workers {
        times.extend(worker.await.map_err(|e| e.to_string())??);
    }
    let elapsed = started.elapsed();
    let cpu_after = cpu(database);
    let per_1k = |before: f64, after: f64| (after - before) * 1e6 / total as f64;
    times.sort();
    Ok(Load {
        per_second: total as f64 / elapsed.as_secs_f64(),
        p50: times[times.len() / 2],
        p99: times[times.len() * 99 / 100],
        cpu: (
            per_1k(cpu_before.0, cpu_after.0),
            cpu_before.1.zip(cpu_after.1).map(|(b, a)| per_1k(b, a)),
        ),
    })
}

fn expense(n: usize) -> serde_json::Value {
    serde_json::json!({
        "label": format!("expense {n}"),
        "amount": (n % 1000) as f64 + 0.25,
        "year": 2026,
        "approved": n.is_multiple_of(2),
        "note": (!n.is_multiple_of(3)).then_some("a note"),
    })
}

/// One keep-alive HTTP/1.1 connection per client, requests written by
/// hyper's own connection: the load generator shares the machine's cores
/// with the server and the database, so it does no more per request than
/// a request needs (no URL parsing, no pool checkout, headers built once).
struct Clients {
    connections: Vec<tokio::sync::Mutex<http1::SendRequest<Full<Bytes>>>>,
    host: http::HeaderValue,
    bearer: http::HeaderValue,
}

impl Clients {
    async fn connect(address: std::net::SocketAddr, token: &str) -> Result<Clients, String> {
        let mut connections = Vec::with_capacity(CLIENTS);
        for _ in 0..CLIENTS {
            let stream = tokio::net::TcpStream::connect(address)
                .await
                .map_err(|e| e.to_string())?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            let (sender, connection) = http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(connection);
            connections.push(tokio::sync::Mutex::new(sender));
        }
        let header = |value: String| http::HeaderValue::try_from(value).map_err(|e| e.to_string());
        Ok(Clients {
            connections,
            host: header(address.to_string())?,
            bearer: header(format!("Bearer {token}"))?,
        })
    }

    /// Sends a request on client `worker`'s connection, reads the whole
    /// answer, and gives its status.
    async fn send(
        &self,
        worker: usize,
        method: http::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<u16, String> {
        let mut request = http::Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, &self.host)
            .header(http::header::AUTHORIZATION, &self.bearer);
        if body.is_some() {
            request = request.header(http::header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| e.to_string())?;
        let mut sender = self.connections[worker].lock().await;
        sender.ready().await.map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?;
        Ok(status)
    }
}

/// Creates, then list reads, through the runtime over HTTP.
async fn through_aegis(
    database: Option<&crate::postgres::Postgres>,
    url: &str,
) -> Result<(Load, Load), String> {
    let app = crate::bench::import::file_app(url, true).await?;
    let address = app.serve().await;
    let clients = Arc::new(Clients::connect(address, &app.admin()).await?);
    let creators = clients.clone();
    let creates = load(database, CREATES, move |worker, n| {
        let clients = creators.clone();
        async move {
            let body = serde_json::to_vec(&expense(n)).map_err(|e| e.to_string())?;
            match clients
                .send(worker, http::Method::POST, "/api/expenses", Some(body))
                .await?
            {
                201 => Ok(()),
                status => Err(format!("a create answered {status}")),
            }
        }
    })
    .await?;
    let reads = load(database, READS, move |worker, n| {
        let page = n % (CREATES / PAGE) + 1;
        let clients = clients.clone();
        async move {
            let path = format!("/api/expenses?page={page}&pageSize={PAGE}");
            match clients.send(worker, http::Method::GET, &path, None).await? {
                200 => Ok(()),
                status => Err(format!("a list read answered {status}")),
            }
        }
    })
    .await?;
    // Rounds add up to more connections than the server allows.
    app.aegis.db().pool().close().await;
    app.aegis.db().read_pool().close().await;
    Ok((creates, reads))
}

/// The same rows and pages straight through sqlx.
async fn through_sqlx(
    database: Option<&crate::postgres::Postgres>,
    url: &str,
) -> Result<(Load, Load), String> {
    let error = |e: sqlx::Error| e.to_string();
    let (writer, reader) = if url.starts_with("sqlite:") {
        let options: sqlx::sqlite::SqliteConnectOptions = url.parse().map_err(error)?;
        let options = options
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal);
        let writer = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(error)?;
        let reader = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await
            .map_err(error)?;
        (Pool::Sqlite(writer), Pool::Sqlite(reader))
    } else {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(16)
            .connect(url)
            .await
            .map_err(error)?;
        (Pool::Postgres(pool.clone()), Pool::Postgres(pool))
    };
    writer
        .execute(
            "CREATE TABLE expenses (id BIGINT NOT NULL PRIMARY KEY, label TEXT NOT NULL, \
             amount DOUBLE PRECISION NOT NULL, year BIGINT NOT NULL, approved INTEGER NOT NULL, \
             note TEXT, version BIGINT NOT NULL, aegis_search TEXT)",
        )
        .await?;
    let insert = writer.clone();
    let creates = load(database, CREATES, move |_, n| {
        let pool = insert.clone();
        async move { pool.insert(n).await }
    })
    .await?;
    let readers = reader.clone();
    let reads = load(database, READS, move |_, n| {
        let pool = readers.clone();
        async move { pool.page(n % (CREATES / PAGE) * PAGE).await }
    })
    .await?;
    writer.close().await;
    reader.close().await;
    Ok((creates, reads))
}

#[derive(Clone)]
enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Pool {
    async fn close(&self) {
        match self {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    async fn execute(&self, sql: &str) -> Result<(), String> {
        match self {
            Pool::Sqlite(pool) => pool.execute(sql).await.map(drop),
            Pool::Postgres(pool) => pool.execute(sql).await.map(drop),
        }
        .map_err(|e| e.to_string())
    }

    async fn insert(&self, n: usize) -> Result<(), String> {
        let label = format!("expense {n}");
        let note = (!n.is_multiple_of(3)).then_some("a note");
        let search = format!("{label}\n{}", note.unwrap_or_default());
        macro_rules! insert {
            ($pool:expr, $sql:literal) => {
                sqlx::query($sql)
                    .bind(n as i64 + 1)
                    .bind(&label)
                    .bind((n % 1000) as f64 + 0.25)
                    .bind(2026_i64)
                    .bind(i32::from(n.is_multiple_of(2)))
                    .bind(note)
                    .bind(&search)
                    .execute($pool)
                    .await
                    .map(drop)
            };
        }
        match self {
            Pool::Sqlite(pool) => {
                insert!(pool, "INSERT INTO expenses VALUES (?, ?, ?, ?, ?, ?, 1, ?)")
            }
            Pool::Postgres(pool) => {
                insert!(
                    pool,
                    "INSERT INTO expenses VALUES ($1, $2, $3, $4, $5, $6, 1, $7)"
                )
            }
        }
        .map_err(|e| e.to_string())
    }

    async fn page(&self, offset: usize) -> Result<(), String> {
        let sql = format!(
            "SELECT id, label, amount, year, approved, note, version FROM expenses \
             ORDER BY id LIMIT {PAGE} OFFSET {offset}"
        );
        match self {
            Pool::Sqlite(pool) => sqlx::query(&sql).fetch_all(pool).await.map(drop),
            Pool::Postgres(pool) => sqlx::query(&sql).fetch_all(pool).await.map(drop),
        }
        .map_err(|e| e.to_string())
    }
}

pub fn run(postgres: bool) -> Result<(), String> {
    let server = postgres
        .then(crate::postgres::Postgres::start)
        .transpose()?;
    let server_url = server.as_ref().map(|s| s.database_url(""));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mut rounds = Vec::with_capacity(ROUNDS);
        for round in 0..ROUNDS {
            let fresh = |name: String| {
                let dir = dir.path().to_owned();
                let server_url = server_url.clone();
                async move {
                    crate::bench::import::fresh_database(&dir, server_url.as_deref(), &name).await
                }
            };
            let (creates, reads) = through_aegis(server.as_ref(), &fresh(format!("rest_{round}")).await?).await?;
            let (raw_creates, raw_reads) =
                through_sqlx(server.as_ref(), &fresh(format!("rest_raw_{round}")).await?).await?;
            rounds.push([creates, raw_creates, reads, raw_reads]);
        }
        let ratio = |r: &[Load; 4], at: usize| r[at].per_second / r[at + 1].per_second * 100.0;
        rounds.sort_by(|a, b| ratio(a, 0).total_cmp(&ratio(b, 0)));
        let database = if postgres { "PostgreSQL" } else { "file SQLite" };
        println!(
            "rest: {database}, {CLIENTS} clients at once; {CREATES} creates, then {READS} reads of a {PAGE}-row page; \
             {ROUNDS} rounds, aegis and sqlx in turn"
        );
        println!(
            "{:<22} {:>10} {:>9} {:>9} {:>14} {:>12}   (the median round by creates)",
            "", "per second", "p50 ms", "p99 ms", "CPU ms per 1k", "database's"
        );
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let names = ["aegis creates (HTTP)", "sqlx inserts", "aegis list reads", "sqlx page selects"];
        for (name, load) in names.iter().zip(&rounds[ROUNDS / 2]) {
            let database = load.cpu.1.map_or("in process".to_owned(), |ms| format!("{ms:.0}"));
            println!(
                "{name:<22} {:>10.0} {:>9.2} {:>9.2} {:>14.0} {database:>12}",
                load.per_second,
                ms(load.p50),
                ms(load.p99),
                load.cpu.0,
            );
        }
        let percents = |at: usize| {
            let mut all: Vec<f64> = rounds.iter().map(|r| ratio(r, at)).collect();
            all.sort_by(f64::total_cmp);
            let each: Vec<String> = all.iter().map(|p| format!("{p:.0}")).collect();
            format!("{:.0} % (rounds: {} %)", all[ROUNDS / 2], each.join(", "))
        };
        println!(
            "ratio creates aegis / sqlx: {}; list reads aegis / sqlx: {}",
            percents(0),
            percents(2)
        );
        Ok(())
    })
}
