//! `cargo xtask bench import`: CSV imports of growing size, each in a
//! fresh process (so each has its own peak memory) on a file SQLite, the
//! embedded default. Prints wall time, rows per second and peak resident
//! memory, and their ratios to the smallest run; and beside each, the same
//! import of a module that keeps no history (`history = false`), for what
//! writing each row's history entry costs.

use std::time::{Duration, Instant};

use aegis::testing::TestApp;
use aegis::{Api, Limits, ModuleSettings, crud_module};
use serde::{Deserialize, Serialize};

#[crud_module(with_events, with_import)]
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Expense {
    pub id: i64,
    pub label: String,
    pub amount: f64,
    pub year: i32,
    pub approved: bool,
    pub note: Option<String>,
    pub version: i64,
}

const SIZES: [u64; 3] = [1_000, 10_000, 100_000];

/// Peak resident memory of this process, in KiB (Linux).
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// A CSV of `rows` expenses, in the import template's columns.
pub(crate) fn csv(rows: u64) -> String {
    let mut text = String::from("label,amount,year,approved,note\n");
    for n in 0..rows {
        let note = if n % 3 == 0 { "" } else { "a note, quoted" };
        text.push_str(&format!(
            "expense {n},{}.25,2026,{},\"{note}\"\n",
            n % 1000,
            n % 2 == 0
        ));
    }
    text
}

/// The expenses module served on the SQLite file at `url`, keeping each
/// row's history.
pub(crate) async fn file_app(url: &str, with_events: bool) -> Result<TestApp, String> {
    app_on(url, with_events, true).await
}

/// The expenses module served on the database at `url`.
async fn app_on(url: &str, with_events: bool, with_history: bool) -> Result<TestApp, String> {
    let db = aegis::store::Db::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    let aegis = aegis::Aegis::new(
        db,
        aegis::auth::Auth::new(aegis::testing::SECRET),
        Limits::default(),
    );
    let api = Api::new().module::<Expense>(ModuleSettings {
        module: "expenses",
        with_events,
        with_import: true,
        with_history,
        sortable: None,
    });
    Ok(TestApp::on(aegis, api).await)
}

/// A fresh database for one run: a SQLite file in `dir`, or, given a
/// PostgreSQL server's URL (`postgres://.../`), a new database on it.
pub(crate) async fn fresh_database(
    dir: &std::path::Path,
    server: Option<&str>,
    name: &str,
) -> Result<String, String> {
    let Some(server) = server else {
        return Ok(format!(
            "sqlite://{}?mode=rwc",
            dir.join(format!("{name}.db")).display()
        ));
    };
    use sqlx::Connection as _;
    let mut admin = sqlx::PgConnection::connect(&format!("{server}postgres"))
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut admin)
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!("{server}{name}"))
}

/// One import in this process, on SQLite or on the PostgreSQL server
/// `server`, of a module keeping its history (`history`) or not
/// (`no-history`); prints `rows seconds peak_kib before_kib`.
pub fn run_one(rows: &str, history: &str, server: Option<&str>) -> Result<(), String> {
    let rows: u64 = rows
        .parse()
        .map_err(|_| format!("`{rows}` is not a row count"))?;
    let with_history = match history {
        "history" => true,
        "no-history" => false,
        other => return Err(format!("`{other}` is neither `history` nor `no-history`")),
    };
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let url = fresh_database(dir.path(), server, &format!("import_{rows}")).await?;
        let app = app_on(&url, true, with_history).await?;
        let body = csv(rows);
        let before = peak_kib();
        let started = Instant::now();
        let reply = app.import("expenses", &body, false).await;
        drop(body);
        let job = reply.body["jobId"].as_str().ok_or(reply.text)?.to_owned();
        let status = loop {
            let status = app
                .call(
                    "GET",
                    &format!("/api/expenses/import/{job}"),
                    Some(&app.admin()),
                    None,
                    &[],
                )
                .await;
            if status.body["state"] != "running" {
                break status.body;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let seconds = started.elapsed().as_secs_f64();
        if status["successfulRows"] != rows {
            return Err(format!(
                "imported {} of {rows} rows",
                status["successfulRows"]
            ));
        }
        println!("{rows} {seconds} {} {before}", peak_kib());
        Ok(())
    })
}

/// The database's own rate, for the ratio: the same rows (and the search
/// column the runtime keeps) inserted into SQLite through its C API
/// (rusqlite, over the very SQLite sqlx links) with one prepared
/// statement in one transaction, in WAL mode with `synchronous = NORMAL`
/// as the runtime runs it. On PostgreSQL, `COPY` of the same rows.
/// Prints `rows seconds`.
pub fn run_raw(rows: &str, server: Option<&str>) -> Result<(), String> {
    let rows: u64 = rows
        .parse()
        .map_err(|_| format!("`{rows}` is not a row count"))?;
    if let Some(server) = server {
        return copy_raw(rows, server);
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let error = |e: rusqlite::Error| e.to_string();
    let mut db = rusqlite::Connection::open(dir.path().join("raw.db")).map_err(error)?;
    db.pragma_update(None, "journal_mode", "WAL")
        .map_err(error)?;
    db.pragma_update(None, "synchronous", "NORMAL")
        .map_err(error)?;
    db.execute(
        "CREATE TABLE expenses (id BIGINT NOT NULL PRIMARY KEY, label TEXT NOT NULL, \
         amount DOUBLE PRECISION NOT NULL, year BIGINT NOT NULL, approved INTEGER NOT NULL, \
         note TEXT, version BIGINT NOT NULL, aegis_search TEXT)",
        [],
    )
    .map_err(error)?;
    let started = Instant::now();
    let tx = db.transaction().map_err(error)?;
    {
        let mut insert = tx
            .prepare("INSERT INTO expenses VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7)")
            .map_err(error)?;
        for n in 0..rows {
            let label = format!("expense {n}");
            let note = (n % 3 != 0).then_some("a note, quoted");
            let search = format!("{label}\n{}", note.unwrap_or_default());
            insert
                .execute(rusqlite::params![
                    n as i64 + 1,
                    label,
                    (n % 1000) as f64 + 0.25,
                    2026_i64,
                    n % 2 == 0,
                    note,
                    search
                ])
                .map_err(error)?;
        }
    }
    tx.commit().map_err(error)?;
    println!("{rows} {}", started.elapsed().as_secs_f64());
    Ok(())
}

/// The rows as `COPY` reads them: every column, the search text too.
fn copy_csv(rows: u64) -> String {
    let mut text = String::new();
    for n in 0..rows {
        let label = format!("expense {n}");
        let note = (n % 3 != 0).then_some("a note, quoted");
        text.push_str(&format!(
            "{},{label},{}.25,2026,{},{},1,\"{label}\n{}\"\n",
            n + 1,
            n % 1000,
            i32::from(n % 2 == 0),
            note.map_or(String::new(), |note| format!("\"{note}\"")),
            note.unwrap_or_default()
        ));
    }
    text
}

/// PostgreSQL's own rate: `COPY ... FROM STDIN` of the same rows into a
/// table of the runtime's columns, in one transaction.
fn copy_raw(rows: u64, server: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        use sqlx::Connection as _;
        let error = |e: sqlx::Error| e.to_string();
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let url = fresh_database(dir.path(), Some(server), &format!("raw_{rows}")).await?;
        let mut db = sqlx::PgConnection::connect(&url).await.map_err(error)?;
        sqlx::query(
            "CREATE TABLE expenses (id BIGINT NOT NULL PRIMARY KEY, label TEXT NOT NULL, \
             amount DOUBLE PRECISION NOT NULL, year BIGINT NOT NULL, approved INTEGER NOT NULL, \
             note TEXT, version BIGINT NOT NULL, aegis_search TEXT)",
        )
        .execute(&mut db)
        .await
        .map_err(error)?;
        let data = copy_csv(rows);
        let started = Instant::now();
        let mut tx = db.begin().await.map_err(error)?;
        let mut copy = tx
            .copy_in_raw("COPY expenses FROM STDIN (FORMAT csv)")
            .await
            .map_err(error)?;
        copy.send(data.as_bytes()).await.map_err(error)?;
        copy.finish().await.map_err(error)?;
        tx.commit().await.map_err(error)?;
        println!("{rows} {}", started.elapsed().as_secs_f64());
        Ok(())
    })
}

/// Imports of `rows` with history and without, side by side: three pairs,
/// each order taken in turn (the second run of a pair tends to differ);
/// the medians of their seconds, and the peak memory of the last run with
/// history.
fn with_and_without_history(rows: u64, extra: &[&str]) -> Result<(f64, f64, f64, f64), String> {
    let run = |history: &str| -> Result<Vec<f64>, String> {
        let args = [&[history][..], extra].concat();
        let fields = crate::bench::run_alone("import-run", rows, &args)?;
        match fields[..] {
            [_, _, _, _] => Ok(fields),
            _ => Err(format!("unexpected output: {fields:?}")),
        }
    };
    let (mut kept, mut plain) = (Vec::new(), Vec::new());
    for pair in 0..3 {
        if pair % 2 == 0 {
            plain.push(run("no-history")?);
            kept.push(run("history")?);
        } else {
            kept.push(run("history")?);
            plain.push(run("no-history")?);
        }
    }
    let median = |runs: &[Vec<f64>]| {
        let mut seconds: Vec<f64> = runs.iter().map(|fields| fields[1]).collect();
        seconds.sort_by(f64::total_cmp);
        seconds[seconds.len() / 2]
    };
    let last = &kept[kept.len() - 1];
    Ok((median(&kept), last[2], last[3], median(&plain)))
}

pub fn compare(postgres: bool) -> Result<(), String> {
    let server = postgres
        .then(crate::postgres::Postgres::start)
        .transpose()?;
    let url = server.as_ref().map(|s| s.database_url(""));
    let extra: Vec<&str> = url.iter().map(String::as_str).collect();
    let mut results = Vec::new();
    for rows in SIZES {
        let (seconds, peak, before, plain_seconds) = with_and_without_history(rows, &extra)?;
        let raw = crate::bench::run_alone("import-raw", rows, &extra)?;
        let [_, raw_seconds] = raw[..] else {
            return Err(format!("unexpected output: {raw:?}"));
        };
        results.push((rows, seconds, peak, before, raw_seconds, plain_seconds));
    }
    let (_, base_seconds, base_peak, _, _, _) = results[0];
    let database = if postgres {
        "PostgreSQL"
    } else {
        "file SQLite"
    };
    println!(
        "import: one process per size, {database}, batches of 500, events and history on; \
         `history x`: rows/s with history over rows/s of the same import without (medians \
         of three runs each, interleaved)"
    );
    println!(
        "raw: the same rows {}",
        if postgres {
            "by COPY FROM STDIN, one transaction"
        } else {
            "into SQLite's C API, one prepared INSERT, one transaction"
        }
    );
    println!(
        "{:>8} {:>9} {:>10} {:>10} {:>12} {:>10} {:>10} {:>9} {:>12} {:>10}",
        "rows",
        "seconds",
        "rows/s",
        "peak MiB",
        "before MiB",
        "time x",
        "peak x",
        "raw s",
        "import/raw",
        "history x"
    );
    for (rows, seconds, peak, before, raw, plain) in &results {
        println!(
            "{rows:>8} {seconds:>9.2} {:>10.0} {:>10.1} {:>12.1} {:>10.1} {:>10.2} {raw:>9.2} {:>11.0} % {:>10.2}",
            *rows as f64 / seconds,
            peak / 1024.0,
            before / 1024.0,
            seconds / base_seconds,
            peak / base_peak,
            raw / seconds * 100.0,
            plain / seconds
        );
    }
    Ok(())
}
