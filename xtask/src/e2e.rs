//! `cargo xtask e2e`: the end-to-end suite (`example-app/web/e2e`), headless
//! in Debian's Chromium through playwright-core, against the example app's
//! debug binary serving the production web build. Chromium is installed
//! with apt-get when missing: a test tool cannot download a browser here.

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
    let bin = root.join("target/release/example-app");
    let built = web.join("dist/web/browser");
    run_in(
        &web,
        &[
            ("AEGIS_E2E_BIN", &bin.to_string_lossy()),
            ("AEGIS_E2E_WEB", &built.to_string_lossy()),
            ("AEGIS_E2E_CHROMIUM", CHROMIUM),
        ],
        "node",
        &["e2e/bench-browser.mjs"],
    )
}
