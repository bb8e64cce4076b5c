//! `cargo xtask e2e`: the end-to-end suite (`example-app/web/e2e`), headless
//! in Debian's Chromium through playwright-core, against the example app's
//! debug binary serving the production web build. Chromium is installed
//! with apt-get when missing: a test tool cannot download a browser here.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use crate::{apt_install, run_in, workspace_root};

pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";

/// Builds what the suite runs (the web app, installing its packages when
/// missing, and the example app), then runs it.
pub fn run() -> Result<(), String> {
    let root = workspace_root();
    crate::build_web_and_app(&root)?;
    run_built(&root)
}

/// Runs the suite on what is already built, after building the evolved
/// copy the schema-evolution scenario upgrades to ([`crate::evolve`]).
/// Screenshots, browser consoles and server logs of failed scenarios land
/// in `example-app/web/e2e-artifacts`.
pub fn run_built(root: &Path) -> Result<(), String> {
    if !Path::new(CHROMIUM).exists() {
        eprintln!("xtask: Chromium is not installed; installing it with apt-get");
        apt_install(&["chromium", "fonts-liberation"])?;
    }
    let web = root.join("example-app/web");
    let (original, evolved) = crate::evolve::build(root)?;
    let artifacts = web.join("e2e-artifacts");
    let _ = std::fs::remove_dir_all(&artifacts);
    let result = run_in(
        &web,
        &[
            ("AEGIS_E2E_BIN", &original.bin.to_string_lossy()),
            ("AEGIS_E2E_WEB", &original.web.to_string_lossy()),
            ("AEGIS_E2E_EVOLVED_BIN", &evolved.bin.to_string_lossy()),
            ("AEGIS_E2E_EVOLVED_WEB", &evolved.web.to_string_lossy()),
            ("AEGIS_E2E_CHROMIUM", CHROMIUM),
            ("AEGIS_E2E_ARTIFACTS", &artifacts.to_string_lossy()),
        ],
        "node",
        &[
            "--test-reporter=spec",
            "--test-concurrency=1",
            "--test",
            "e2e/realtime.test.mjs",
            "e2e/relations.test.mjs",
            "e2e/files.test.mjs",
            "e2e/history.test.mjs",
            "e2e/views.test.mjs",
            "e2e/imports.test.mjs",
            "e2e/accessibility.test.mjs",
            "e2e/access.test.mjs",
            "e2e/evolution.test.mjs",
            "e2e/openapi.test.mjs",
        ],
    );
    if result.is_err() && artifacts.is_dir() {
        eprintln!(
            "xtask: the failed scenarios' screenshots and logs are in {}",
            artifacts.display()
        );
    }
    result
}

/// `cargo xtask bench browser`: the budgets list in Chromium while 1,000
/// changes a second reach it about a feature of 100,000 rows
/// (`e2e/bench-browser.mjs`), on the optimised build.
pub fn bench() -> Result<(), String> {
    let root = workspace_root();
    let web = root.join("example-app/web");
    if !web.join("node_modules").is_dir() {
        run_in(&web, &[], "npm", &["ci", "--no-audit", "--no-fund"])?;
    }
    run_in(&web, &[], "npx", &["ng", "build"])?;
    run_in(
        &root,
        &[],
        &crate::cargo(),
        &["build", "--release", "--package", "example-app"],
    )?;
    if !Path::new(CHROMIUM).exists() {
        eprintln!("xtask: Chromium is not installed; installing it with apt-get");
        apt_install(&["chromium", "fonts-liberation"])?;
    }
    let bin = crate::binary("release", "example-app")?;
    let built = web.join("dist/web/browser");
    let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (chromium, pin) = pinned_chromium(scratch.path())?;
    let mut command: Vec<&str> = pin.iter().map(String::as_str).collect();
    command.extend(["node", "e2e/bench-browser.mjs"]);
    run_in(
        &web,
        &[
            ("AEGIS_E2E_BIN", &bin.to_string_lossy()),
            ("AEGIS_E2E_WEB", &built.to_string_lossy()),
            ("AEGIS_E2E_CHROMIUM", &chromium),
        ],
        command[0],
        &command[1..],
    )
}

/// Chromium on a CPU of its own, the last, and the server and the writer
/// on the others, where the machine has two or more: the page is measured
/// as on a user's own machine, not preempted by the server it talks to.
/// The Chromium to start (a script in `scratch` that pins it and its
/// children) and the command prefix for the rest; Chromium itself and no
/// prefix on one CPU.
fn pinned_chromium(scratch: &Path) -> Result<(String, Vec<String>), String> {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    if cpus < 2 {
        println!("1 CPU: Chromium, the server and the writer share it");
        return Ok((CHROMIUM.to_owned(), Vec::new()));
    }
    let last = cpus - 1;
    let script = scratch.join("chromium");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nexec taskset -c {last} {CHROMIUM} \"$@\"\n"),
    )
    .map_err(|e| e.to_string())?;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())?;
    let others = if last == 1 {
        "0".to_owned()
    } else {
        format!("0-{}", last - 1)
    };
    println!("{cpus} CPUs: Chromium on {last}, the server and the writer on {others}");
    Ok((
        script.to_string_lossy().into_owned(),
        vec!["taskset".to_owned(), "-c".to_owned(), others],
    ))
}
