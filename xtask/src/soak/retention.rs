//! `cargo xtask soak retention [--postgres]`: 1,000,000 events into one
//! feature with a retention of 10,000 while the background pruning runs
//! every second. Prints the log's row count and the database's size every
//! 100,000 events; fails unless the log ends at exactly the retention and
//! the size has stopped growing (the last sample within 1.5 times the one
//! at 300,000: freed pages are reused).

use std::time::{Duration, Instant};

use aegis::protocol::EventAction;
use aegis::store::{Db, Dialect};
use aegis::{Aegis, Api, Limits, ModuleSettings, crud_module};
use serde::{Deserialize, Serialize};
use sqlx::Row;

#[crud_module(with_events)]
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Reading {
    pub id: i64,
    pub sensor: String,
    pub value: f64,
    pub version: i64,
}

const EVENTS: u64 = 1_000_000;
const RETENTION: u64 = 10_000;
/// Events per transaction.
const PER_CHANGE: u64 = 100;
const SAMPLE_EVERY: u64 = 100_000;

pub fn run(postgres: bool) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let server = postgres
        .then(crate::postgres::Postgres::start)
        .transpose()?;
    let file = dir.path().join("soak.db");
    let url = match &server {
        Some(server) => server.database_url("postgres"),
        None => format!("sqlite://{}?mode=rwc", file.display()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(soak(&url, &file, postgres))
}

/// The readings module's runtime on `url`, its log kept to the retention
/// and pruned every second.
async fn runtime_on(url: &str) -> Result<(Db, Aegis), String> {
    let db = Db::connect(url).await.map_err(|e| e.to_string())?;
    let limits = Limits {
        event_retention: Some(RETENTION),
        prune_interval: Duration::from_secs(1),
        ..Limits::default()
    };
    let aegis = Aegis::new(
        db.clone(),
        aegis::auth::Auth::new(aegis::testing::SECRET),
        limits,
    );
    Api::new()
        .module::<Reading>(ModuleSettings {
            module: "readings",
            with_events: true,
            with_import: false,
            with_history: true,
            sortable: None,
        })
        .install(&aegis)
        .await
        .map_err(|e| e.to_string())?;
    Ok((db, aegis))
}

/// Writes the events, sampling the log and the size as it goes, then
/// checks the log ends at the retention and the size stopped growing.
async fn soak(url: &str, file: &std::path::Path, postgres: bool) -> Result<(), String> {
    let (db, aegis) = runtime_on(url).await?;
    println!(
        "soak retention ({}): {EVENTS} events into one feature, retention {RETENTION}, \
         pruning every second",
        if postgres {
            "PostgreSQL"
        } else {
            "file SQLite"
        }
    );
    println!(
        "{:>10} {:>12} {:>12} {:>9}",
        "events", "log rows", "size KiB", "seconds"
    );
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut written = 0;
    let mut most_rows = 0;
    while written < EVENTS {
        written = write_change(&aegis, written).await?;
        if written % SAMPLE_EVERY == 0 {
            let rows = log_rows(&db).await?;
            let size = size_kib(&db, file).await?;
            most_rows = most_rows.max(rows);
            println!(
                "{written:>10} {rows:>12} {size:>12} {:>9.1}",
                started.elapsed().as_secs_f64()
            );
            samples.push((written, size));
        }
    }
    aegis.prune().await.map_err(|e| e.to_string())?;
    let rows = log_rows(&db).await?;
    let size = size_kib(&db, file).await?;
    println!("after a last pass: {rows} log rows, {size} KiB; most rows seen {most_rows}");
    if rows != RETENTION {
        return Err(format!("the log holds {rows} events, not {RETENTION}"));
    }
    let at_300k = samples
        .iter()
        .find(|(written, _)| *written == 300_000)
        .map_or(size, |(_, size)| *size);
    if size as f64 > 1.5 * at_300k as f64 {
        return Err(format!(
            "the database kept growing: {at_300k} KiB at 300,000 events, {size} KiB at the end"
        ));
    }
    Ok(())
}

/// One change of [`PER_CHANGE`] events after the `written` so far; the
/// count after it.
async fn write_change(aegis: &Aegis, mut written: u64) -> Result<u64, String> {
    let mut change = aegis.change().await.map_err(|e| e.to_string())?;
    for _ in 0..PER_CHANGE {
        written += 1;
        let reading = Reading {
            id: written as i64,
            sensor: format!("sensor {}", written % 97),
            value: written as f64 / 7.0,
            version: 1,
        };
        change
            .entity_event(EventAction::Created, &reading, "soak", None)
            .await
            .map_err(|e| e.to_string())?;
    }
    change.commit().await.map_err(|e| e.to_string())?;
    Ok(written)
}

async fn log_rows(db: &Db) -> Result<u64, String> {
    let row = sqlx::query("SELECT COUNT(*) FROM aegis_events")
        .fetch_one(db.pool())
        .await
        .map_err(|e| e.to_string())?;
    Ok(row.try_get::<i64, _>(0).map_err(|e| e.to_string())? as u64)
}

/// The database's size: the SQLite file and its journal, or PostgreSQL's
/// whole database.
async fn size_kib(db: &Db, file: &std::path::Path) -> Result<u64, String> {
    match db.dialect() {
        Dialect::Sqlite => {
            let mut bytes = 0;
            for suffix in ["", "-wal", "-journal"] {
                let path = format!("{}{suffix}", file.display());
                bytes += std::fs::metadata(path).map_or(0, |m| m.len());
            }
            Ok(bytes / 1024)
        }
        Dialect::Postgres => {
            let row = sqlx::query("SELECT pg_database_size(current_database())")
                .fetch_one(db.pool())
                .await
                .map_err(|e| e.to_string())?;
            Ok(row.try_get::<i64, _>(0).map_err(|e| e.to_string())? as u64 / 1024)
        }
    }
}
