//! `cargo xtask bench rest [--postgres]`: REST under load. 50 clients at
//! once, over HTTP on loopback, create 10,000 expenses, then read 5,000
//! pages of the list; in the same run, 50 tasks insert the same rows and
//! select the same pages straight through sqlx, each insert its own
//! transaction, on pools shaped as the runtime's (on SQLite one writer and
//! four readers, on PostgreSQL 16 connections): the database's limit on
//! this machine for one row a transaction. (The runtime writes creates
//! that arrive together in one transaction, so it can pass that limit.) The two alternate for three rounds,
//! each on fresh databases, so that a disk that is slower for a while
//! (a checkpoint, a neighbour) weighs on both; prints the rates, p50 and
//! p99 of the median round, every round's ratios, and their medians.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sqlx::Executor as _;

const CLIENTS: usize = 50;
const CREATES: usize = 10_000;
const READS: usize = 5_000;
const PAGE: usize = 20;
const ROUNDS: usize = 3;

/// Rate and latencies of `total` operations by `CLIENTS` workers.
struct Load {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// Runs `operation(n)` for n in 0..total on `CLIENTS` workers at once.
async fn load<F, Fut>(total: usize, operation: F) -> Result<Load, String>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let operation = Arc::new(operation);
    let started = Instant::now();
    let workers: Vec<_> = (0..CLIENTS)
        .map(|_| {
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
                    operation(n).await?;
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
    times.sort();
    Ok(Load {
        per_second: total as f64 / elapsed.as_secs_f64(),
        p50: times[times.len() / 2],
        p99: times[times.len() * 99 / 100],
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

/// Creates, then list reads, through the runtime over HTTP.
async fn through_aegis(url: &str) -> Result<(Load, Load), String> {
    let app = crate::bench_import::file_app(url, true).await?;
    let address = app.serve().await;
    let token = app.admin();
    let http = reqwest::Client::new();
    let base = format!("http://{address}/api/expenses");
    let (client, bearer, list) = (http.clone(), token.clone(), base.clone());
    let creates = load(CREATES, move |n| {
        let request = client
            .post(&list)
            .bearer_auth(&bearer)
            .json(&expense(n))
            .send();
        async move {
            let response = request.await.map_err(|e| e.to_string())?;
            match response.status().as_u16() {
                201 => Ok(()),
                status => Err(format!("a create answered {status}")),
            }
        }
    })
    .await?;
    let reads = load(READS, move |n| {
        let page = n % (CREATES / PAGE) + 1;
        let request = http
            .get(format!("{base}?page={page}&pageSize={PAGE}"))
            .bearer_auth(&token)
            .send();
        async move {
            let response = request.await.map_err(|e| e.to_string())?;
            if response.status() != 200 {
                return Err(format!("a list read answered {}", response.status()));
            }
            response.bytes().await.map_err(|e| e.to_string())?;
            Ok(())
        }
    })
    .await?;
    Ok((creates, reads))
}

/// The same rows and pages straight through sqlx.
async fn through_sqlx(url: &str) -> Result<(Load, Load), String> {
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
    let creates = load(CREATES, move |n| {
        let pool = insert.clone();
        async move { pool.insert(n).await }
    })
    .await?;
    let reads = load(READS, move |n| {
        let pool = reader.clone();
        async move { pool.page(n % (CREATES / PAGE) * PAGE).await }
    })
    .await?;
    Ok((creates, reads))
}

#[derive(Clone)]
enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Pool {
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
                    crate::bench_import::fresh_database(&dir, server_url.as_deref(), &name).await
                }
            };
            let (creates, reads) = through_aegis(&fresh(format!("rest_{round}")).await?).await?;
            let (raw_creates, raw_reads) =
                through_sqlx(&fresh(format!("rest_raw_{round}")).await?).await?;
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
            "{:<22} {:>10} {:>9} {:>9}   (the median round by creates)",
            "", "per second", "p50 ms", "p99 ms"
        );
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let names = ["aegis creates (HTTP)", "sqlx inserts", "aegis list reads", "sqlx page selects"];
        for (name, load) in names.iter().zip(&rounds[ROUNDS / 2]) {
            println!(
                "{name:<22} {:>10.0} {:>9.2} {:>9.2}",
                load.per_second,
                ms(load.p50),
                ms(load.p99)
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
