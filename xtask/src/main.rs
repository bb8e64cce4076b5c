//! Project tasks, run as `cargo xtask <task>`.
//!
//! - `test`: every check CI runs (see [`test`]).
//! - `e2e`: the end-to-end suite in a real browser (see [`e2e`]).
//! - `layout`: the code's layout rules (see [`layout`]).
//! - `reliability`: several instances on PostgreSQL (see [`reliability`]).
//! - `demo`: the example app with a little data (see [`demo`]).
//! - `bench <name>`: benchmarks, which are never tests (see [`bench`]).
//! - `soak <name>`: long runs that check a bound holds (see [`soak`]).

mod bench;
mod contract;
mod demo;
mod e2e;
mod evolve;
mod layout;
mod measure;
mod moto;
mod postgres;
mod process;
mod prom;
mod python;
mod reliability;
mod scaffold;
mod soak;
mod test;

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::OnceLock;

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  demo              build the web app and the example app, then serve them on
                    http://127.0.0.1:8080/ with a little seed data (PORT to change)
  test              formatting, the code's layout (no module cycle in the runtime,
                    no hand-written function over 80 lines), the generated-files
                    check, clippy, every Rust test,
                    the runtime's tests again on PostgreSQL (installed with apt-get
                    when missing) and the reliability suite on it, then the web
                    app's packages, the fixtures' type check, Prettier over every generated
                    file and the runtime, the web app's
                    production build, its Vitest specs, the end-to-end suite, the
                    API against its OpenAPI document (see `contract`) and the
                    scaffold (see `scaffold`)
  reliability [calm|kill|rolling|postgres]
                    two example-app instances on a throwaway PostgreSQL, clients
                    hanging up at random during 10,000 writes, then an instance
                    killed, then a rolling restart (SIGTERM, start, in turn),
                    then PostgreSQL restarted: no event lost
  layout            the code's layout rules alone (see `test`)
  scaffold          `cargo aegis new` a project under target/scaffold, build and test
                    it, its web app from its lockfile, Chromium on it in dev mode
                    and signed in with an identity provider; then `cargo aegis add`
  e2e               the end-to-end suite alone: two users in headless Chromium
                    (installed with apt-get when missing) on the example app
  contract          schemathesis (PyPI) against the example app's OpenAPI document:
                    every check, a fixed seed, its exceptions with their reasons in
                    example-app/schemathesis.toml
  bench codegen     render 500 synthetic modules; time full and unchanged runs
  bench import      import 1,000, 10,000 and 100,000 CSV rows, each in its own
                    process on a file SQLite; time and peak memory side by side,
                    and the ratio to a raw prepared insert of the same rows
  bench import --postgres
                    the same on a throwaway PostgreSQL, against COPY
  bench macro       40 structs rebuilt with serde's derives alone and with
                    #[crud_module]: debug build times side by side
  bench rest [--postgres]
                    50 HTTP clients create 10,000 rows, then read 5,000 pages;
                    beside, the same inserts and selects straight through sqlx
  bench export      export 10,000, 100,000 and 300,000 rows as CSV over a socket,
                    each in its own process; time, size, and how much memory grew
  bench fanout [N]  N WebSocket clients (default: 100 then 1,000) on one feature,
                    a writer at 50 changes/s; deliveries/s, latency p50/p99
  bench fanout --postgres [N]
                    the same across two instances on a throwaway PostgreSQL, and
                    side by side a Socket.IO v4 baseline (bench/socketio) under
                    the same load; both systems' figures and their ratio
  bench ceiling [N...]
                    the offered rate raised ×1.5 per step until p99 > 100 ms or
                    deliveries fall behind, for N clients (default: 1,000 then
                    5,000), aegis and socket.io as in fanout --postgres
  bench connections [N]
                    N idle subscribed connections (default 10,000) to each
                    system: memory per connection and setup rate
  bench files       a 100 MB file up and down through the API, its bytes in
                    SQLite and in PostgreSQL: throughput, and the peak resident
                    memory over idle (streamed: under 64 MB)
  bench browser     the budgets list in Chromium while 1,000 changes a second are
                    made to a feature of 100,000 rows: each event's apply time
                    in the page, long animation frames
  soak retention [--postgres]
                    1,000,000 events into one feature with a retention of 10,000:
                    the log's rows and the database's size stay bounded
  soak import       20 readers and 5 writers with no import, then while a 50 MB
                    all-invalid import and a 100,000-row import run: latencies
                    side by side; fails on any error
  soak hostile      the same load calm, then while another process attacks (long
                    patterns on long rows, a bulk delete by one, made-up methods,
                    never-read replays, slow exports, large uploads): every attack
                    bounded, memory within 2x and p99 within 3x of calm";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["test"] => test::run(),
        ["demo"] => demo::run(),
        ["e2e"] => e2e::run(),
        ["contract"] => contract::run(),
        ["scaffold"] => scaffold::run(),
        ["layout"] => layout::check(&workspace_root()),
        ["reliability", rest @ ..] => reliability::run(rest),
        ["bench", rest @ ..] => bench::run(rest),
        ["soak", rest @ ..] => soak::run(rest),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Where cargo puts what it builds, as `cargo metadata` says (so
/// `CARGO_TARGET_DIR` and a `build.target-dir` setting are followed);
/// asked once.
pub(crate) fn target_dir() -> Result<&'static Path, String> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(|| ask_target_dir(&workspace_root(), &[]))
        .as_deref()
        .map_err(Clone::clone)
}

/// A binary of the workspace, built with `profile` (`debug`, `release`).
pub(crate) fn binary(profile: &str, name: &str) -> Result<PathBuf, String> {
    Ok(target_dir()?.join(profile).join(name))
}

/// The target directory of the workspace at `root`, `cargo metadata` run
/// with `env` besides the process's environment.
fn ask_target_dir(root: &Path, env: &[(&str, &str)]) -> Result<PathBuf, String> {
    let output = Command::new(cargo())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .envs(env.iter().copied())
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    #[derive(serde::Deserialize)]
    struct Metadata {
        target_directory: PathBuf,
    }
    serde_json::from_slice::<Metadata>(&output.stdout)
        .map(|metadata| metadata.target_directory)
        .map_err(|e| format!("cannot read cargo metadata's answer: {e}"))
}

pub(crate) fn cargo() -> String {
    env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Runs one step in `dir` with extra environment, failing with its command
/// line if it fails.
pub(crate) fn run_in(
    dir: &Path,
    env: &[(&str, &str)],
    program: &str,
    args: &[&str],
) -> Result<(), String> {
    let line = format!("{program} {}", args.join(" "));
    eprintln!("xtask: running `{line}` in {}", dir.display());
    let started = std::time::Instant::now();
    let status = Command::new(program)
        .args(args)
        // The Angular CLI must never stop to ask about analytics.
        .env("NG_CLI_ANALYTICS", "false")
        .envs(env.iter().copied())
        .current_dir(dir)
        .status()
        .map_err(|error| format!("could not start `{line}`: {error}"))?;
    // Each step's time, so that a slow CI run shows where it went.
    eprintln!(
        "xtask: `{line}` took {:.0} s",
        started.elapsed().as_secs_f64()
    );
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{line}` failed ({status})"))
    }
}

/// Runs `cargo xtask <task> <args>` again, built with optimisations.
pub(crate) fn run_optimised(task: &str, args: &[&str]) -> Result<(), String> {
    let mut cargo_args = vec![
        "run",
        "--release",
        "--quiet",
        "--package",
        "xtask",
        "--",
        task,
    ];
    cargo_args.extend_from_slice(args);
    run_in(&workspace_root(), &[], &cargo(), &cargo_args)
}

/// Installs Debian packages with apt-get (CI machines start without them).
pub(crate) fn apt_install(packages: &[&str]) -> Result<(), String> {
    let env = [("DEBIAN_FRONTEND", "noninteractive")];
    run_in(Path::new("/"), &env, "apt-get", &["update"])?;
    let mut args = vec!["install", "-y", "--no-install-recommends"];
    args.extend_from_slice(packages);
    run_in(Path::new("/"), &env, "apt-get", &args)
}

/// Builds the web app (installing its packages when missing) and the
/// example app, as the demo and the end-to-end suite serve them.
pub(crate) fn build_web_and_app(root: &Path) -> Result<(), String> {
    let web = root.join("example-app/web");
    if !web.join("node_modules").is_dir() {
        run_in(&web, &[], "npm", &["ci", "--no-audit", "--no-fund"])?;
    }
    run_in(&web, &[], "npx", &["ng", "build"])?;
    run_in(root, &[], &cargo(), &["build", "--package", "example-app"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_dir_is_cargos_and_follows_cargo_target_dir() {
        let root = workspace_root();
        let elsewhere = tempfile::tempdir().unwrap();
        let given = elsewhere.path().join("shared-target");
        let env = [("CARGO_TARGET_DIR", given.to_str().unwrap())];
        assert_eq!(ask_target_dir(&root, &env).unwrap(), given);
        let own = ask_target_dir(&root, &[]).unwrap();
        assert_eq!(target_dir().unwrap(), own);
        assert_eq!(
            binary("debug", "example-app").unwrap(),
            own.join("debug/example-app")
        );
    }
}
