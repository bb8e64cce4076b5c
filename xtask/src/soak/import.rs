//! `cargo xtask soak import`: one user's imports must not stall everyone.
//! The example app (release, on a file SQLite, the embedded default) serves
//! 20 readers and 5 writers for a while with no import, then the same load
//! while a 50 MB all-invalid import and a 100,000-row valid import run.
//! Prints both runs' request latencies side by side; fails on any error
//! and unless both imports finish with the expected counts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aegis::auth::{Auth, Claims};
use tokio::sync::Mutex;

use crate::measure::percentiles;
use crate::process::ServerProcess;

pub(crate) const SECRET: &str = "aegis soak secret";
pub(crate) const READERS: usize = 20;
pub(crate) const WRITERS: usize = 5;
pub(crate) const RUN: Duration = Duration::from_secs(20);
const VALID_ROWS: usize = 100_000;
const INVALID_BYTES: usize = 50 * 1024 * 1024;

#[derive(Default)]
pub(crate) struct Figures {
    pub(crate) reads: Vec<Duration>,
    pub(crate) writes: Vec<Duration>,
    pub(crate) errors: Vec<String>,
}

impl Figures {
    pub(crate) fn line(&self, label: &str) -> String {
        let (r50, r99) = percentiles(&self.reads);
        let (w50, w99) = percentiles(&self.writes);
        format!(
            "{label:<22} {:>8} {:>9.1} {:>9.1} {:>8} {:>9.1} {:>9.1} {:>7}",
            self.reads.len(),
            r50,
            r99,
            self.writes.len(),
            w50,
            w99,
            self.errors.len()
        )
    }
}

pub fn run() -> Result<(), String> {
    super::against_release_app(soak)
}

async fn soak(server: &ServerProcess) -> Result<(), String> {
    server.ready().await?;
    let base = format!("http://127.0.0.1:{}", server.port);
    let auth = Auth::new(SECRET.as_bytes());
    let token = |user: &str| {
        auth.issue(&Claims::new(user, 3600, &[], &["*"]))
            .map_err(|e| e.to_string())
    };
    let http = reqwest::Client::new();

    let tokens = load_tokens()?;
    let quiet = load(&http, &base, &tokens).await;
    let importer = token("importer")?;
    let invalid = invalid_csv();
    let valid = valid_csv();
    println!(
        "soak import: {READERS} readers and {WRITERS} writers for {} s each run; the second \
         while a {} MB all-invalid import ({} rows) and a {VALID_ROWS}-row valid import run",
        RUN.as_secs(),
        invalid.len() / (1024 * 1024),
        invalid.lines().count() - 1
    );
    let started = Instant::now();
    let invalid_job = start_import(&http, &base, &importer, "budgets", invalid).await?;
    let valid_job = start_import(&http, &base, &importer, "suppliers", valid).await?;
    let busy = load(&http, &base, &tokens).await;
    let invalid_done = finished(&http, &base, &importer, "budgets", &invalid_job).await?;
    let valid_done = finished(&http, &base, &importer, "suppliers", &valid_job).await?;
    let imports_took = started.elapsed();

    println!(
        "{:<22} {:>8} {:>9} {:>9} {:>8} {:>9} {:>9} {:>7}",
        "run", "reads", "p50 ms", "p99 ms", "writes", "p50 ms", "p99 ms", "errors"
    );
    println!("{}", quiet.line("no import"));
    println!("{}", busy.line("two imports running"));
    let (quiet_r50, quiet_r99) = percentiles(&quiet.reads);
    let (busy_r50, busy_r99) = percentiles(&busy.reads);
    let (quiet_w50, quiet_w99) = percentiles(&quiet.writes);
    let (busy_w50, busy_w99) = percentiles(&busy.writes);
    println!(
        "ratio imports / none: reads p50 x{:.2}, p99 x{:.2}; writes p50 x{:.2}, p99 x{:.2}",
        busy_r50 / quiet_r50,
        busy_r99 / quiet_r99,
        busy_w50 / quiet_w50,
        busy_w99 / quiet_w99
    );
    println!(
        "imports: invalid {} processed, {} failed; valid {} imported; both done {:.1} s after \
         they started",
        invalid_done["processedRows"],
        invalid_done["failedRows"],
        valid_done["successfulRows"],
        imports_took.as_secs_f64()
    );
    let mut problems: Vec<String> = quiet.errors.iter().chain(&busy.errors).cloned().collect();
    if invalid_done["failedRows"] != invalid_done["totalRows"]
        || invalid_done["state"] != "completed"
    {
        problems.push(format!("the invalid import ended as {invalid_done}"));
    }
    if valid_done["successfulRows"] != VALID_ROWS || valid_done["state"] != "completed" {
        problems.push(format!("the valid import ended as {valid_done}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        problems.truncate(10);
        Err(format!("errors:\n  {}", problems.join("\n  ")))
    }
}

fn invalid_csv() -> String {
    let row = "x,not a number,2026,draft\n";
    let mut csv = String::from("name,amount,fiscal_year,status\n");
    csv.push_str(&row.repeat(INVALID_BYTES / row.len()));
    csv
}

fn valid_csv() -> String {
    let mut csv = String::from("name,country,active,rating\n");
    for n in 0..VALID_ROWS {
        csv.push_str(&format!("supplier {n},NL,{},{}\n", n % 2 == 0, n % 5));
    }
    csv
}

async fn start_import(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    feature: &str,
    csv: String,
) -> Result<String, String> {
    let reply = http
        .post(format!("{base}/api/{feature}/import"))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = reply.status();
    let body: serde_json::Value = reply.json().await.map_err(|e| e.to_string())?;
    if status.as_u16() != 202 {
        return Err(format!("the {feature} import was refused: {status} {body}"));
    }
    Ok(body["jobId"].as_str().unwrap_or_default().to_owned())
}

async fn finished(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    feature: &str,
    job: &str,
) -> Result<serde_json::Value, String> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(600) {
        let body: serde_json::Value = http
            .get(format!("{base}/api/{feature}/import/{job}"))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        if body["state"] != "running" {
            return Ok(body);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("the {feature} import did not finish in 10 minutes"))
}

/// The tokens of the load's clients: one user each, as people are.
pub(crate) fn load_tokens() -> Result<Vec<String>, String> {
    let auth = Auth::new(SECRET.as_bytes());
    (0..READERS + WRITERS)
        .map(|n| {
            auth.issue(&Claims::new(format!("load {n}"), 3600, &[], &["*"]))
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// Readers list a page of authors; writers create authors; for [`RUN`];
/// each as a user of its own (`tokens`, [`load_tokens`]).
pub(crate) async fn load(http: &reqwest::Client, base: &str, tokens: &[String]) -> Figures {
    let figures = Arc::new(Mutex::new(Figures::default()));
    let until = Instant::now() + RUN;
    let mut tasks = Vec::new();
    for n in 0..READERS + WRITERS {
        let http = http.clone();
        let figures = figures.clone();
        let token = tokens[n % tokens.len()].clone();
        let base = base.to_owned();
        tasks.push(tokio::spawn(async move {
            let writer = n >= READERS;
            let mut count = 0;
            while Instant::now() < until {
                count += 1;
                let request = if writer {
                    http.post(format!("{base}/api/authors"))
                        .json(&serde_json::json!({
                            "displayName": format!("writer {n} #{count}"),
                            "email": null,
                            "bornOn": null,
                            "tags": ["soak"],
                        }))
                } else {
                    http.get(format!("{base}/api/authors?pageSize=20&sort=-id"))
                };
                let sent = Instant::now();
                let outcome = request
                    .bearer_auth(&token)
                    .timeout(Duration::from_secs(30))
                    .send()
                    .await;
                let took = sent.elapsed();
                let mut figures = figures.lock().await;
                match outcome {
                    Ok(reply) if reply.status().is_success() => {
                        if writer {
                            figures.writes.push(took);
                        } else {
                            figures.reads.push(took);
                        }
                    }
                    Ok(reply) => figures.errors.push(format!("{}", reply.status())),
                    Err(error) => figures.errors.push(error.to_string()),
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    Arc::try_unwrap(figures)
        .map(Mutex::into_inner)
        .unwrap_or_default()
}
