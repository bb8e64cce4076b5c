//! `cargo xtask contract`: the API against its own OpenAPI document.
//! schemathesis (from PyPI, in a virtual environment under `target/`)
//! runs every check against the example app in dev mode on a fresh
//! SQLite, with a fixed seed and a bounded number of examples
//! (`example-app/schemathesis.toml`, which also lists, with their reasons,
//! the schema-valid requests the server refuses by design). Any failure
//! fails the step.

use std::path::Path;
use std::process::Command;

use crate::process::ServerProcess;
use crate::{run_in, workspace_root};

/// The schemathesis release the contract is checked with.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";

/// Builds the example app, then checks it.
pub fn run() -> Result<(), String> {
    let root = workspace_root();
    run_in(
        &root,
        &[],
        &crate::cargo(),
        &["build", "--package", "example-app"],
    )?;
    run_built(&root)
}

/// Checks the example app the debug build made.
pub fn run_built(root: &Path) -> Result<(), String> {
    let schemathesis = install(root)?;
    let mut server = ServerProcess::new(
        &crate::binary("debug", "example-app")?,
        &["--dev", "--seed", "--port", "{port}", "--data-dir", "{dir}"],
        &[("AEGIS_WEB_DIR", "{dir}/no-web"), ("RUST_LOG", "warn")],
    )?;
    server.start()?;
    let token = dev_token(&server)?;
    let base = format!("http://127.0.0.1:{}", server.port);
    let result = run_in(
        &root.join("example-app"),
        &[],
        &schemathesis,
        &[
            "run",
            &format!("{base}/api/openapi.json"),
            "--header",
            &format!("Authorization: Bearer {token}"),
            "--checks",
            "all",
            "--wait-for-schema",
            "30",
        ],
    );
    if result.is_err() {
        eprintln!("xtask: the example app's log:\n{}", server.tail(40));
    }
    result
}

/// The schemathesis command, installed in `target/schemathesis` when it
/// is not there yet (or is another release).
fn install(root: &Path) -> Result<String, String> {
    crate::python::tool(root, "schemathesis", SCHEMATHESIS, "schemathesis")
}

/// Dev mode's token, once the server answers.
fn dev_token(server: &ServerProcess) -> Result<String, String> {
    let url = format!("http://127.0.0.1:{}/api/dev/token", server.port);
    for _ in 0..600 {
        let output = Command::new("curl")
            .args(["--silent", "--fail", &url])
            .output()
            .map_err(|e| format!("cannot run curl: {e}"))?;
        if output.status.success()
            && let Ok(body) = serde_json::from_slice::<serde_json::Value>(&output.stdout)
            && let Some(token) = body["token"].as_str()
        {
            return Ok(token.to_owned());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Err(format!(
        "the example app did not hand out a dev token:\n{}",
        server.tail(40)
    ))
}
