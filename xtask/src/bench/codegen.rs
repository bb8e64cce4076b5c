//! `cargo xtask bench codegen`: the generator over a crate of 500
//! modules, a full run against one over unchanged inputs (served by the
//! cache, writing nothing) and one without the cache.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::measure::median;

const MODULES: usize = 500;
const RUNS: usize = 5;

/// A crate of `count` modules covering the flag combinations and field kinds.
fn synthetic_crate(dir: &Path, count: usize) -> Result<(), String> {
    let mut source = String::from(
        "use aegis::crud_module;\nuse serde::{Deserialize, Serialize};\n\n\
         #[derive(Serialize, Deserialize, Clone, Copy, Debug)]\n\
         #[serde(rename_all = \"snake_case\")]\npub enum Level { Low, Medium, High }\n\n",
    );
    for index in 0..count {
        let flags = match index % 4 {
            0 => "with_events, with_import",
            1 => "with_events",
            2 => "with_import",
            _ => "",
        };
        let _ = write!(
            source,
            "#[crud_module({flags})]\n#[derive(Serialize, Deserialize, Clone, Debug)]\n\
             #[serde(rename_all = \"camelCase\")]\npub struct Item{index} {{\n    pub id: i64,\n    \
             pub name: String,\n    pub amount: f64,\n    pub quantity: i32,\n    pub active: bool,\n    \
             pub level: Level,\n    pub note: Option<String>,\n    pub due_on: Option<chrono::NaiveDate>,\n    \
             pub tags: Vec<String>,\n    pub version: i64,\n}}\n\n"
        );
    }
    std::fs::create_dir_all(dir.join("src")).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("src/lib.rs"), source).map_err(|e| e.to_string())?;
    std::fs::write(
        dir.join("modules.toml"),
        "[generator]\nweb_root = \"web/src/app\"\n",
    )
    .map_err(|e| e.to_string())
}

pub fn run() -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    synthetic_crate(dir.path(), MODULES)?;
    let config = aegis_build::Config::new()
        .manifest(dir.path().join("modules.toml"))
        .source(dir.path().join("src"))
        .out_dir(dir.path().join("out"))
        .crate_name("bench")
        .check(false);
    std::fs::create_dir_all(dir.path().join("out")).map_err(|e| e.to_string())?;

    let mut full = Vec::new();
    let mut files = 0;
    for _ in 0..RUNS {
        let _ = std::fs::remove_dir_all(dir.path().join("web"));
        let started = Instant::now();
        let report = config.write().map_err(|e| e.to_string())?;
        full.push(started.elapsed());
        files = report.web.written.len();
    }
    let mut unchanged = Vec::new();
    let mut rewritten = 0;
    let mut cached = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        let report = config.write().map_err(|e| e.to_string())?;
        unchanged.push(started.elapsed());
        rewritten +=
            report.web.written.len() + report.web.deleted.len() + report.rust_written.len();
        cached += usize::from(report.cached);
    }
    // The same unchanged run without the cache: rendered, then compared.
    let mut rendered = Vec::new();
    for _ in 0..RUNS {
        std::fs::remove_file(dir.path().join("out").join(aegis_build::CACHE_FILE))
            .map_err(|e| e.to_string())?;
        let started = Instant::now();
        config.write().map_err(|e| e.to_string())?;
        rendered.push(started.elapsed());
    }
    report(
        median(full),
        median(unchanged),
        median(rendered),
        files,
        cached,
    )?;
    if rewritten != 0 {
        return Err(format!(
            "runs over unchanged inputs wrote {rewritten} files; expected 0"
        ));
    }
    println!("  files written by unchanged runs: {rewritten}");
    Ok(())
}

/// Prints the medians of the full, unchanged and uncached runs.
fn report(
    full: Duration,
    unchanged: Duration,
    rendered: Duration,
    files: usize,
    cached: usize,
) -> Result<(), String> {
    println!("codegen: {MODULES} modules, {files} web files, median of {RUNS} runs each");
    println!(
        "  full run (empty web root):     {:>8.1} ms",
        full.as_secs_f64() * 1e3
    );
    println!(
        "  per module:                    {:>8.3} ms",
        full.as_secs_f64() * 1e3 / MODULES as f64
    );
    println!(
        "  run over unchanged inputs:     {:>8.1} ms",
        unchanged.as_secs_f64() * 1e3
    );
    println!(
        "  ratio unchanged / full:        {:>8.2}",
        unchanged.as_secs_f64() / full.as_secs_f64()
    );
    println!("  unchanged runs the cache served: {cached} of {RUNS}");
    println!(
        "  unchanged, cache removed:      {:>8.1} ms (x{:.1} the cached run)",
        rendered.as_secs_f64() * 1e3,
        rendered.as_secs_f64() / unchanged.as_secs_f64()
    );
    Ok(())
}
