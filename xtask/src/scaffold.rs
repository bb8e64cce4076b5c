//! `cargo xtask scaffold` (a step of `cargo xtask test`): what a new user
//! does. `cargo aegis new` makes a project under `target/scaffold` with
//! path dependencies on this checkout; it builds, passes its own tests and
//! clippy, its web app installs from its lockfile and builds, and in
//! Chromium its sample list loads and goes live, in dev mode and signed in
//! with an identity provider (`e2e/scaffold.test.mjs`). Then `cargo aegis
//! add` gives it a module that builds, and refuses what it must.

use std::path::Path;
use std::process::Command;

use crate::{cargo, run_in, workspace_root};

pub fn run() -> Result<(), String> {
    let root = workspace_root();
    run_in(&root, &[], &cargo(), &["build", "--package", "cargo-aegis"])?;
    scaffold(&root)
}

fn scaffold(root: &Path) -> Result<(), String> {
    let work = crate::target_dir()?.join("scaffold");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let cargo_aegis = crate::binary("debug", "cargo-aegis")?;
    let cargo_aegis = cargo_aegis.to_string_lossy();
    let project = work.join("shop");
    run_in(
        &work,
        &[],
        &cargo_aegis,
        &[
            "aegis",
            "new",
            "shop",
            "--aegis-path",
            &root.to_string_lossy(),
        ],
    )?;
    // The checkout's lockfile and target folder: the dependencies the
    // workspace already built are not built again (a new user's project
    // resolves its own).
    std::fs::copy(root.join("Cargo.lock"), project.join("Cargo.lock"))
        .map_err(|e| format!("cannot copy Cargo.lock: {e}"))?;
    let target = crate::target_dir()?.to_string_lossy().into_owned();
    let env = [("CARGO_TARGET_DIR", target.as_str())];
    let cargo = cargo();
    run_in(&project, &env, &cargo, &["build"])?;
    run_in(&project, &env, &cargo, &["test"])?;
    run_in(
        &project,
        &env,
        &cargo,
        &["clippy", "--all-targets", "--", "-D", "warnings"],
    )?;
    let web = project.join("web");
    run_in(&web, &[], "npm", &["ci", "--no-audit", "--no-fund"])?;
    run_in(&web, &[], "npx", &["ng", "build"])?;
    let e2e = root.join("example-app/web");
    lint(&web, &e2e)?;
    open_in_chromium(&e2e, &web, &target)?;
    refused_adds(&project, &cargo_aegis)?;
    add_a_module(&project, &cargo_aegis, &env)
}

/// The scaffold scenario of the end-to-end suite, against the project's
/// binary and web build.
fn open_in_chromium(e2e: &Path, web: &Path, target: &str) -> Result<(), String> {
    let artifacts = e2e.join("e2e-artifacts");
    run_in(
        e2e,
        &[
            ("AEGIS_E2E_BIN", &format!("{target}/debug/shop")),
            (
                "AEGIS_E2E_WEB",
                &web.join("dist/web/browser").to_string_lossy(),
            ),
            ("AEGIS_E2E_CHROMIUM", crate::e2e::CHROMIUM),
            ("AEGIS_E2E_ARTIFACTS", &artifacts.to_string_lossy()),
        ],
        "node",
        &["--test-reporter=spec", "--test", "e2e/scaffold.test.mjs"],
    )
}

/// `cargo aegis add` that must be refused leaves modules.toml as it was.
fn refused_adds(project: &Path, cargo_aegis: &str) -> Result<(), String> {
    let manifest = project.join("modules.toml");
    let before = std::fs::read_to_string(&manifest).map_err(|e| e.to_string())?;
    for (args, expected) in [
        (
            &["products", "label:string"][..],
            "module `products` is already in modules.toml",
        ),
        (
            &["orders", "total:money"][..],
            "unknown field type `money` for `total`",
        ),
    ] {
        let output = Command::new(cargo_aegis)
            .arg("add")
            .args(args)
            .current_dir(project)
            .output()
            .map_err(|e| format!("cannot run cargo-aegis: {e}"))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.success() || !stderr.contains(expected) {
            return Err(format!(
                "`cargo aegis add {}` should fail with {expected:?}; it said:\n{stderr}",
                args.join(" ")
            ));
        }
    }
    if std::fs::read_to_string(&manifest).map_err(|e| e.to_string())? != before {
        return Err("a refused `cargo aegis add` changed modules.toml".to_owned());
    }
    Ok(())
}

/// `cargo aegis add` of a module with events and import: it builds, its
/// tests pass, and its feature is written and builds.
fn add_a_module(project: &Path, cargo_aegis: &str, env: &[(&str, &str)]) -> Result<(), String> {
    let cargo = cargo();
    let web = project.join("web");
    run_in(
        project,
        &[],
        cargo_aegis,
        &[
            "aegis",
            "add",
            "orders",
            "customer:string",
            "total:f64",
            "placed_on:date",
            "note:string?",
            "--events",
            "--import",
        ],
    )?;
    run_in(project, env, &cargo, &["test"])?;
    let feature = web.join("src/app/features/orders/orders.routes.ts");
    if !feature.is_file() {
        return Err(format!(
            "`cargo build` after `cargo aegis add orders` wrote no {}",
            feature.display()
        ));
    }
    run_in(&web, &[], "npx", &["ng", "build"])
}

/// ESLint over the project's web sources, hand-written and generated, with
/// the example's configuration and packages (a copy inside the example's
/// folder, where they resolve; removed after).
fn lint(web: &Path, example: &Path) -> Result<(), String> {
    let copy = example.join(".scaffold-lint");
    let _ = std::fs::remove_dir_all(&copy);
    crate::test::copy_tree(&web.join("src"), &copy)?;
    let result = run_in(
        example,
        &[],
        "npx",
        &[
            "eslint",
            "--max-warnings",
            "0",
            "--no-ignore",
            ".scaffold-lint",
        ],
    );
    let _ = std::fs::remove_dir_all(&copy);
    result
}
