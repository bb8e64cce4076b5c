//! `cargo xtask demo`: builds the web app (installing its packages when
//! missing) and the example app, then serves both on one origin with an
//! embedded SQLite in `target/demo-data`, seeded with a little data.
//! Ctrl-C stops it.

use std::process::Command;

use crate::workspace_root;

pub fn run() -> Result<(), String> {
    let root = workspace_root();
    crate::build_web_and_app(&root)?;
    let port = std::env::var("PORT").unwrap_or_else(|_| "8080".to_owned());
    let data = crate::target_dir()?.join("demo-data");
    let data = data.to_string_lossy();
    println!();
    println!("Aegis demo: http://127.0.0.1:{port}/  (open it in two tabs; Ctrl-C stops it)");
    println!();
    let status = Command::new(crate::binary("debug", "example-app")?)
        .args(["--dev", "--seed", "--data-dir", &data, "--port", &port])
        .current_dir(&root)
        .status()
        .map_err(|e| format!("cannot start the example app: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the example app stopped ({status})"))
    }
}
