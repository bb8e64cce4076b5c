//! `cargo xtask soak <name>`: long runs that check a bound holds.
//!
//! - `retention [--postgres]`: see [`retention`].
//! - `import`: see [`import`].
//! - `hostile`: see [`hostile`] (its attacks run as `soak attack`, in a
//!   process of their own: [`attack`]).

mod attack;
mod hostile;
mod import;
mod retention;

pub fn run(args: &[&str]) -> Result<(), String> {
    if cfg!(debug_assertions) {
        return crate::run_optimised("soak", args);
    }
    match args {
        ["retention"] => retention::run(false),
        ["retention", "--postgres"] => retention::run(true),
        ["import"] => crate::soak::import::run(),
        ["hostile"] => crate::soak::hostile::run(),
        ["attack", base, seconds] => crate::soak::attack::run(base, seconds),
        _ => Err("usage: cargo xtask soak retention [--postgres] | import | hostile".to_owned()),
    }
}

/// Builds the example app optimised, serves it on a SQLite file of its
/// own and runs `soak` against it on a runtime of its own; when the soak
/// fails, the end of the server's log is printed.
fn against_release_app(
    soak: impl AsyncFnOnce(&crate::process::ServerProcess) -> Result<(), String>,
) -> Result<(), String> {
    crate::run_in(
        &crate::workspace_root(),
        &[],
        &crate::cargo(),
        &["build", "--release", "--package", "example-app"],
    )?;
    let mut server = crate::process::example_app(
        &crate::binary("release", "example-app")?,
        "sqlite://{dir}/soak.db?mode=rwc",
        import::SECRET,
    )?;
    server.start()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let result = runtime.block_on(soak(&server));
    if result.is_err() {
        eprintln!("the server's log ends:\n{}", server.tail(30));
    }
    result
}
