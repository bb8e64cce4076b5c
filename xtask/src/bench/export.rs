//! `cargo xtask bench export`: CSV exports of growing size from a file
//! SQLite, each in a fresh process, read by a client over a real socket as
//! fast as it can. Prints wall time, rows per second, the export's size and
//! how much the process's resident memory grew while it streamed: an export
//! that streams stays flat as it grows.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::bench::import::{csv, file_app};

const SIZES: [u64; 3] = [10_000, 100_000, 300_000];

/// Resident memory of this process now, in KiB (Linux).
pub(crate) fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Runs each size in its own process and prints the table.
pub fn compare() -> Result<(), String> {
    let mut results = Vec::new();
    for rows in SIZES {
        let fields = crate::bench::run_alone("export-run", rows, &[])?;
        let [_, seconds, bytes, before, peak] = fields[..] else {
            return Err(format!("unexpected output: {fields:?}"));
        };
        results.push((rows, seconds, bytes, before, peak));
    }
    println!("export: one process per size, file SQLite, the client reads as fast as it can");
    println!(
        "{:>8} {:>9} {:>10} {:>10} {:>12} {:>14}",
        "rows", "seconds", "rows/s", "MiB out", "RSS MiB", "RSS growth MiB"
    );
    for (rows, seconds, bytes, before, peak) in &results {
        println!(
            "{rows:>8} {seconds:>9.2} {:>10.0} {:>10.1} {:>12.1} {:>14.1}",
            *rows as f64 / seconds,
            bytes / 1024.0 / 1024.0,
            before / 1024.0,
            (peak - before) / 1024.0
        );
    }
    Ok(())
}

/// One export in this process; prints `rows seconds bytes before_kib peak_kib`.
pub fn run_one(rows: &str) -> Result<(), String> {
    let rows: u64 = rows
        .parse()
        .map_err(|_| format!("`{rows}` is not a row count"))?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let app = file_app(&url, false).await?;
        let reply = app.import("expenses", &csv(rows), false).await;
        let job = reply.body["jobId"].as_str().ok_or(reply.text)?.to_owned();
        app.finished_job("expenses", &job).await;
        let address = app.serve().await;

        // Sampled while the export runs: the most the process holds.
        let before = resident_kib();
        let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let sampler = {
            let sampling = sampling.clone();
            std::thread::spawn(move || {
                let mut peak = 0;
                while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                    peak = peak.max(resident_kib());
                    std::thread::sleep(Duration::from_millis(5));
                }
                peak
            })
        };
        let started = Instant::now();
        let mut socket = tokio::net::TcpStream::connect(address)
            .await
            .map_err(|e| e.to_string())?;
        let request = format!(
            "GET /api/expenses/export?sort=-amount HTTP/1.1\r\nHost: bench\r\n\
             Authorization: Bearer {}\r\nConnection: close\r\n\r\n",
            app.admin()
        );
        socket
            .write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut buffer = vec![0; 64 * 1024];
        let (mut bytes, mut lines) = (0u64, 0u64);
        loop {
            let read = socket.read(&mut buffer).await.map_err(|e| e.to_string())?;
            if read == 0 {
                break;
            }
            bytes += read as u64;
            lines += buffer[..read].iter().filter(|b| **b == b'\n').count() as u64;
        }
        let seconds = started.elapsed().as_secs_f64();
        sampling.store(false, std::sync::atomic::Ordering::Relaxed);
        let peak = sampler.join().map_err(|_| "the sampler panicked")?;
        // The header row and each data row end a line (so do the HTTP head's
        // lines and the chunk sizes, a few hundred at most).
        if lines < rows + 1 {
            return Err(format!("the export had {lines} lines for {rows} rows"));
        }
        println!("{rows} {seconds} {bytes} {before} {}", peak.max(before));
        Ok(())
    })
}
