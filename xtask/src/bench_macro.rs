//! `cargo xtask bench macro`: what `#[crud_module]` costs the compiler.
//! Two crates of the same 40 structs, side by side in one run: one with
//! serde's derives alone, one with `#[crud_module]` besides. Each is
//! built once to compile the dependencies, then rebuilt after its
//! `lib.rs` changes (a debug build, as while working), several times;
//! the medians and their ratio are printed.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const STRUCTS: usize = 40;
const RUNS: usize = 5;
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

/// Median time of rebuilding `name` after its source changes.
fn rebuilds(dir: &Path, name: &str, attribute: &str) -> Result<Duration, String> {
    let build = |run: usize| -> Result<Duration, String> {
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
    };
    build(0)?;
    let mut times = (1..=RUNS).map(build).collect::<Result<Vec<_>, _>>()?;
    times.sort();
    Ok(times[RUNS / 2])
}

pub fn run() -> Result<(), String> {
    let root = crate::workspace_root();
    let dir = root.join("target/bench-macro");
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
    let derives = rebuilds(&dir, "derives", "")?;
    let modules = rebuilds(&dir, "modules", CRUD_MODULE)?;
    println!(
        "macro: {STRUCTS} structs of 8 fields, a debug rebuild of the crate after its lib.rs changes, median of {RUNS}"
    );
    println!(
        "  serde derives alone:           {:>8.0} ms",
        derives.as_secs_f64() * 1e3
    );
    println!(
        "  with #[crud_module]:           {:>8.0} ms",
        modules.as_secs_f64() * 1e3
    );
    println!(
        "  ratio crud_module / serde:     {:>8.2}",
        modules.as_secs_f64() / derives.as_secs_f64()
    );
    Ok(())
}
