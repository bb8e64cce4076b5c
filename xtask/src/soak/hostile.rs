//! `cargo xtask soak hostile`: what a hostile client can cost everyone
//! else. The example app (release, on a file SQLite, the embedded default)
//! serves 20 readers and 5 writers as `soak import` does, first calm, then
//! while a separate process ([`super::attack`]) runs the attacks of
//! issue 33 against it: long `contains` patterns on rows as long as a
//! field takes, a bulk delete by such a query, made-up methods and paths,
//! 20 WebSocket replays of large frames that are never read, slow exports,
//! and parallel large uploads beyond one user's imports. Prints both
//! runs' latencies and the server's resident memory side by side, and each
//! attack's answers. Fails unless every attack got a bounded answer, the
//! memory stayed within 2x calm's, the readers' and writers' p99 within
//! 3x calm's, with no error.

use std::time::Duration;

use aegis::auth::{Auth, Claims};

use crate::measure::percentiles;
use crate::process::ServerProcess;
use crate::soak::import::{Figures, RUN, SECRET, load};

/// Budgets whose name is as long as a text field takes (their events are
/// about 10 KB each: what the never-reading replays replay).
const LONG_ROWS: usize = 600;
const LONGEST: usize = 10_000;

pub fn run() -> Result<(), String> {
    super::against_release_app(soak)
}

/// A run's load figures and the server's largest resident memory.
struct Run {
    figures: Figures,
    rss_kib: u64,
}

async fn soak(server: &ServerProcess) -> Result<(), String> {
    server.ready().await?;
    let base = format!("http://127.0.0.1:{}", server.port);
    let token = Auth::new(SECRET.as_bytes())
        .issue(&Claims::new("load", 3600, &[], &["*"]))
        .map_err(|e| e.to_string())?;
    let http = reqwest::Client::new();
    long_rows(&http, &base, &token).await?;
    println!(
        "soak hostile: {} readers and {} writers for {} s each run; the second while another \
         process attacks; {LONG_ROWS} budgets of {LONGEST}-character names",
        crate::soak::import::READERS,
        crate::soak::import::WRITERS,
        RUN.as_secs()
    );
    let tokens = crate::soak::import::load_tokens()?;
    let calm = measured(server, load(&http, &base, &tokens)).await;
    let series_before = request_series(&http, &base).await?;
    let attacker = std::process::Command::new(
        std::env::current_exe().map_err(|e| format!("cannot find xtask: {e}"))?,
    )
    .args(["soak", "attack", &base, &RUN.as_secs().to_string()])
    .stdout(std::process::Stdio::piped())
    .spawn()
    .map_err(|e| format!("cannot start the attacker: {e}"))?;
    let busy = measured(server, load(&http, &base, &tokens)).await;
    let attacked = tokio::task::spawn_blocking(move || attacker.wait_with_output())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("the attacker: {e}"))?;
    let series_after = request_series(&http, &base).await?;
    print!("{}", String::from_utf8_lossy(&attacked.stdout));
    report(&calm, &busy, series_before, series_after);
    verdict(&calm, &busy, attacked.status.success())
}

/// Creates the long budgets, eight at a time.
async fn long_rows(http: &reqwest::Client, base: &str, token: &str) -> Result<(), String> {
    let name = "a".repeat(LONGEST);
    let mut pending = futures_util::stream::FuturesUnordered::new();
    for n in 0..LONG_ROWS {
        let body = serde_json::json!({
            "name": name, "amount": n, "fiscal_year": 2026, "status": "draft", "department": null
        });
        pending.push(
            http.post(format!("{base}/api/budgets"))
                .bearer_auth(token)
                .json(&body)
                .send(),
        );
        if pending.len() >= 8 || n + 1 == LONG_ROWS {
            while let Some(reply) = futures_util::StreamExt::next(&mut pending).await {
                let reply = reply.map_err(|e| e.to_string())?;
                if reply.status() != 201 {
                    return Err(format!("a long budget was refused: {}", reply.status()));
                }
            }
        }
    }
    Ok(())
}

/// `work`'s figures, and the server's largest resident memory meanwhile
/// (sampled every 100 ms).
async fn measured(server: &ServerProcess, work: impl Future<Output = Figures>) -> Run {
    let mut work = std::pin::pin!(work);
    let mut rss_kib = server.rss_kib().unwrap_or(0);
    let mut ticks = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            figures = &mut work => return Run { figures, rss_kib },
            _ = ticks.tick() => rss_kib = rss_kib.max(server.rss_kib().unwrap_or(0)),
        }
    }
}

/// How many series the request metrics have.
async fn request_series(http: &reqwest::Client, base: &str) -> Result<usize, String> {
    let text = http
        .get(format!("{base}/metrics"))
        .bearer_auth(crate::process::METRICS_TOKEN)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    Ok(text
        .lines()
        .filter(|line| line.starts_with("aegis_http_request"))
        .count())
}

fn report(calm: &Run, busy: &Run, series_before: usize, series_after: usize) {
    println!(
        "{:<22} {:>8} {:>9} {:>9} {:>8} {:>9} {:>9} {:>7} {:>9}",
        "run", "reads", "p50 ms", "p99 ms", "writes", "p50 ms", "p99 ms", "errors", "RSS MiB"
    );
    for (run, label) in [(calm, "calm"), (busy, "under attack")] {
        println!(
            "{} {:>9.1}",
            run.figures.line(label),
            run.rss_kib as f64 / 1024.0
        );
    }
    let (calm_r, busy_r) = (
        percentiles(&calm.figures.reads),
        percentiles(&busy.figures.reads),
    );
    let (calm_w, busy_w) = (
        percentiles(&calm.figures.writes),
        percentiles(&busy.figures.writes),
    );
    println!(
        "ratio attack / calm: reads p50 x{:.2}, p99 x{:.2}; writes p50 x{:.2}, p99 x{:.2}; \
         memory x{:.2}; request metric series {series_before} before, {series_after} after",
        busy_r.0 / calm_r.0,
        busy_r.1 / calm_r.1,
        busy_w.0 / calm_w.0,
        busy_w.1 / calm_w.1,
        busy.rss_kib as f64 / calm.rss_kib.max(1) as f64,
    );
}

fn verdict(calm: &Run, busy: &Run, attacks_bounded: bool) -> Result<(), String> {
    let mut problems: Vec<String> = calm
        .figures
        .errors
        .iter()
        .chain(&busy.figures.errors)
        .take(10)
        .cloned()
        .collect();
    if !attacks_bounded {
        problems.push("an attack got an answer that is not bounded (above)".to_owned());
    }
    if busy.rss_kib > 2 * calm.rss_kib {
        problems.push(format!(
            "memory under attack {} KiB, over twice calm's {} KiB",
            busy.rss_kib, calm.rss_kib
        ));
    }
    for (what, calm, busy) in [
        ("reads", &calm.figures.reads, &busy.figures.reads),
        ("writes", &calm.figures.writes, &busy.figures.writes),
    ] {
        let (calm_p99, busy_p99) = (percentiles(calm).1, percentiles(busy).1);
        if busy_p99 > 3.0 * calm_p99 {
            problems.push(format!(
                "{what} p99 under attack {busy_p99:.1} ms, over 3x calm's {calm_p99:.1} ms"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("soak hostile:\n  {}", problems.join("\n  ")))
    }
}
