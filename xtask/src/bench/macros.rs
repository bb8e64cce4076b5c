//! `cargo xtask bench macro`: what `#[crud_module]` costs the compiler.
//! Two crates of the same 40 structs, side by side in one run: one with
//! serde's derives alone, one with `#[crud_module]` besides. Each is
//! built once to compile the dependencies, then rebuilt after its
//! `lib.rs` changes (a debug build, as while working), the two in turn,
//! several times: a machine that is slower for a moment then slows both
//! sides of a round, not one. The medians, the median of the rounds'
//! ratios and every round's ratio are printed.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::measure::median;

const STRUCTS: usize = 40;
const RUNS: usize = 7;
const CRUD_MODULE: &str = "#[aegis::crud_module]\n";

/// The 40 structs, with `attribute` above each one's derives.
fn source(attribute: &str, run: usize) -> String {
    let mut text = format!("// run {run}\nuse serde::{{Deserialize, Serialize}};\n");
    for n in 0..STRUCTS {
        text.push_str(&format!(
            "\n{attribute}#[derive(Serialize, Deserialize, Clone, Debug)]\n\
             pub struct Entity{n} {{\n    pub id: i64,\n    pub name: String,\n    \
             pub amount: f64,\n    pub count: i32,\n    pub active: bool,\n    \
             pub note: Option<String>,\n    pub tags: Vec<String>,\n    pub version: i64,\n}}\n"
        ));
    }
    text
}

fn write_crate(dir: &Path, name: &str, root: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir.join(name).join("src")).map_err(|e| e.to_string())?;
    std::fs::write(
        dir.join(name).join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\naegis = {{ path = \"{}\" }}\nserde = {{ version = \"1\", features = [\"derive\"] }}\n",
            root.join("aegis").display()
        ),
    )
    .map_err(|e| e.to_string())
}

/// The time of rebuilding `name` after its source changes (to `run`'s).
fn rebuild(dir: &Path, name: &str, attribute: &str, run: usize) -> Result<Duration, String> {
    std::fs::write(dir.join(name).join("src/lib.rs"), source(attribute, run))
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let status = Command::new(crate::cargo())
        .args(["build", "--quiet", "--package", name])
        .current_dir(dir)
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("building {name} failed"));
    }
    Ok(started.elapsed())
}

pub fn run() -> Result<(), String> {
    let root = crate::workspace_root();
    let dir = crate::target_dir()?.join("bench-macro");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(
        dir.join("Cargo.toml"),
        "[workspace]\nmembers = [\"derives\", \"modules\"]\nresolver = \"3\"\n",
    )
    .map_err(|e| e.to_string())?;
    // The checkout's versions of every dependency.
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).map_err(|e| e.to_string())?;
    write_crate(&dir, "derives", &root)?;
    write_crate(&dir, "modules", &root)?;
    for (name, attribute) in [("derives", ""), ("modules", CRUD_MODULE)] {
        std::fs::write(dir.join(name).join("src/lib.rs"), source(attribute, 0))
            .map_err(|e| e.to_string())?;
    }
    // The first builds compile the dependencies.
    rebuild(&dir, "derives", "", 0)?;
    rebuild(&dir, "modules", CRUD_MODULE, 0)?;
    let mut rounds = Vec::new();
    for run in 1..=RUNS {
        let derives = rebuild(&dir, "derives", "", run)?;
        let modules = rebuild(&dir, "modules", CRUD_MODULE, run)?;
        rounds.push((derives.as_secs_f64(), modules.as_secs_f64()));
    }
    let derives = median(rounds.iter().map(|r| r.0).collect());
    let modules = median(rounds.iter().map(|r| r.1).collect());
    let ratios: Vec<f64> = rounds.iter().map(|(d, m)| m / d).collect();
    println!(
        "macro: {STRUCTS} structs of 8 fields, a debug rebuild of the crate after its lib.rs changes, {RUNS} rounds of both in turn"
    );
    println!("  serde derives alone:           {:>8.0} ms", derives * 1e3);
    println!("  with #[crud_module]:           {:>8.0} ms", modules * 1e3);
    println!(
        "  ratio crud_module / serde:     {:>8.2}   (median round; rounds {})",
        median(ratios.clone()),
        ratios
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
