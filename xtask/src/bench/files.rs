//! `cargo xtask bench files`: a 100 MB file uploaded and downloaded
//! through the API over a real socket, its bytes kept in a SQLite file and
//! in PostgreSQL, each run in a process of its own. Prints throughput and
//! the process's resident memory before and at its peak: uploads and
//! downloads stream, so the peak stays within 64 MB of idle whatever the
//! file's size.

use std::time::{Duration, Instant};

use aegis::testing::TestApp;
use aegis::{Api, Limits, ModuleSettings, crud_module};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::bench::export::resident_kib;
use crate::bench::import::fresh_database;

/// The file's size, in MB.
const MEGABYTES: u64 = 100;

/// The most the peak may be above idle, in MiB.
const HEADROOM_MIB: f64 = 64.0;

#[crud_module]
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Scan {
    pub id: i64,
    pub name: String,
    #[crud(file(max_bytes = 200_000_000))]
    pub file: Option<aegis::File>,
}

/// Both stores, each in its own process, and the table.
pub fn compare() -> Result<(), String> {
    let postgres = crate::postgres::Postgres::start()?;
    let url = postgres.database_url("");
    let mut rows = Vec::new();
    for (store, extra) in [("SQLite file", vec![]), ("PostgreSQL", vec![url.as_str()])] {
        let fields = crate::bench::run_alone("files-run", MEGABYTES, &extra)?;
        let [_, up, down, idle, peak] = fields[..] else {
            return Err(format!("unexpected output: {fields:?}"));
        };
        rows.push((store, up, down, idle, peak));
    }
    println!("files: {MEGABYTES} MB up and down over a socket, one process per store");
    println!(
        "{:<12} {:>9} {:>9} {:>10} {:>10} {:>10} {:>14}",
        "store", "up s", "down s", "up MB/s", "down MB/s", "idle MiB", "peak-idle MiB"
    );
    let mut within = true;
    for (store, up, down, idle, peak) in rows {
        let growth = (peak - idle) / 1024.0;
        within &= growth < HEADROOM_MIB;
        println!(
            "{store:<12} {up:>9.2} {down:>9.2} {:>10.1} {:>10.1} {:>10.1} {growth:>14.1}",
            MEGABYTES as f64 / up,
            MEGABYTES as f64 / down,
            idle / 1024.0,
        );
    }
    println!(
        "peak within {HEADROOM_MIB} MiB of idle on both: {}",
        if within { "yes" } else { "NO" }
    );
    Ok(())
}

/// One upload and download in this process, on SQLite or on the
/// PostgreSQL server `server`; prints `mb up_s down_s idle_kib peak_kib`.
pub fn run_one(megabytes: &str, server: Option<&str>) -> Result<(), String> {
    let megabytes: u64 = megabytes
        .parse()
        .map_err(|_| format!("`{megabytes}` is not a size in MB"))?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let url = fresh_database(dir.path(), server, "bench_files").await?;
        let db = aegis::store::Db::connect(&url)
            .await
            .map_err(|e| e.to_string())?;
        let auth = aegis::auth::Auth::new(aegis::testing::SECRET);
        let api = Api::new().module::<Scan>(ModuleSettings {
            module: "scans",
            with_events: false,
            with_import: false,
            with_history: true,
            sortable: None,
        });
        let app = TestApp::on(aegis::Aegis::new(db, auth, Limits::default()), api).await;
        let address = app.serve().await;
        let idle = resident_kib();
        let sampler = Sampler::start();
        let started = Instant::now();
        let (file, sent) = upload(address, &app.admin(), megabytes * 1_000_000).await?;
        let up = started.elapsed().as_secs_f64();
        let created = app
            .call(
                "POST",
                "/api/scans",
                Some(&app.admin()),
                Some(serde_json::json!({ "name": "big", "file": file })),
                &[],
            )
            .await;
        if created.status != 201 {
            return Err(format!("the scan was not saved: {}", created.text));
        }
        let started = Instant::now();
        let got = download(
            address,
            &app.admin(),
            created.body["id"].as_i64().unwrap_or(1),
        )
        .await?;
        let down = started.elapsed().as_secs_f64();
        let peak = sampler.stop()?;
        if got != sent {
            return Err("the file came back other than it went".into());
        }
        println!("{megabytes} {up} {down} {idle} {peak}");
        Ok(())
    })
}

/// The most resident memory seen, sampled every 5 ms until stopped.
struct Sampler {
    running: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

impl Sampler {
    fn start() -> Sampler {
        let running = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let flag = running.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = 0;
            while flag.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(resident_kib());
                std::thread::sleep(Duration::from_millis(5));
            }
            peak
        });
        Sampler { running, thread }
    }

    fn stop(self) -> Result<f64, String> {
        self.running
            .store(false, std::sync::atomic::Ordering::Relaxed);
        Ok(self.thread.join().map_err(|_| "the sampler panicked")? as f64)
    }
}

/// Sends a PDF of `size` bytes, made as it goes (never whole in memory);
/// gives the server's answer and the bytes' SHA-256.
async fn upload(
    address: std::net::SocketAddr,
    token: &str,
    size: u64,
) -> Result<(serde_json::Value, Vec<u8>), String> {
    let mut socket = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|e| e.to_string())?;
    let head = format!(
        "POST /api/scans/files/file?name=big.pdf HTTP/1.1\r\nHost: bench\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/pdf\r\n\
         Content-Length: {size}\r\nConnection: close\r\n\r\n"
    );
    socket
        .write_all(head.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let (mut hash, mut sent) = (Sha256::new(), 0u64);
    let mut block = vec![0u8; 64 * 1024];
    while sent < size {
        let n = (size - sent).min(block.len() as u64) as usize;
        if sent == 0 {
            block[..9].copy_from_slice(b"%PDF-1.7\n");
            block[9..n].iter_mut().for_each(|b| *b = fastrand::u8(..));
        } else {
            block[..n].iter_mut().for_each(|b| *b = fastrand::u8(..));
        }
        hash.update(&block[..n]);
        socket
            .write_all(&block[..n])
            .await
            .map_err(|e| e.to_string())?;
        sent += n as u64;
    }
    let mut answer = Vec::new();
    socket
        .read_to_end(&mut answer)
        .await
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&answer);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    let file: serde_json::Value =
        serde_json::from_str(body.trim()).map_err(|_| format!("the upload answered: {text}"))?;
    Ok((file, hash.finalize().to_vec()))
}

/// Reads the scan's file back, hashing it as it comes.
async fn download(address: std::net::SocketAddr, token: &str, id: i64) -> Result<Vec<u8>, String> {
    let mut socket = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|e| e.to_string())?;
    let head = format!(
        "GET /api/scans/{id}/files/file HTTP/1.1\r\nHost: bench\r\n\
         Authorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    socket
        .write_all(head.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut buffer = vec![0u8; 64 * 1024];
    let (mut hash, mut header, mut in_body) = (Sha256::new(), Vec::new(), false);
    loop {
        let read = socket.read(&mut buffer).await.map_err(|e| e.to_string())?;
        if read == 0 {
            break;
        }
        if in_body {
            hash.update(&buffer[..read]);
            continue;
        }
        header.extend_from_slice(&buffer[..read]);
        if let Some(end) = header.windows(4).position(|w| w == b"\r\n\r\n") {
            if !header.starts_with(b"HTTP/1.1 200") {
                return Err(format!(
                    "the download answered: {}",
                    String::from_utf8_lossy(&header)
                ));
            }
            hash.update(&header[end + 4..]);
            in_body = true;
        }
    }
    Ok(hash.finalize().to_vec())
}
