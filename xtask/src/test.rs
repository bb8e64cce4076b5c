//! `cargo xtask test`: everything CI checks, in the order that finds
//! problems soonest. It installs what it needs (PostgreSQL, the web app's
//! npm packages, Chromium) itself.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::{cargo, run_in, workspace_root};

pub fn run() -> Result<(), String> {
    let started = std::time::Instant::now();
    let root = workspace_root();
    let web = root.join("example-app/web");
    let cargo = cargo();

    run_in(&root, &[], &cargo, &["fmt", "--all", "--", "--check"])?;
    crate::layout::check(&root)?;
    // Before anything else builds the example app (and so rewrites its
    // generated files): the committed front end must match the Rust.
    run_in(
        &root,
        &[("AEGIS_CHECK", "1")],
        &cargo,
        &["build", "--package", "example-app"],
    )?;
    run_in(
        &root,
        &[],
        &cargo,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    rust_tests(&root, &cargo)?;

    run_in(&web, &[], "npm", &["ci", "--no-audit", "--no-fund"])?;
    typecheck_fixtures(&root, &web)?;
    typecheck_runtime(&root, &web)?;
    formatted(&root, &web)?;
    // ESLint (angular-eslint) over the app's hand-written and generated
    // TypeScript and templates, and every golden fixture's.
    run_in(
        &web,
        &[],
        "npx",
        &[
            "eslint",
            "--max-warnings",
            "0",
            "src",
            "--no-ignore",
            ".fixture-typecheck",
        ],
    )?;
    let _ = std::fs::remove_dir_all(web.join(".fixture-typecheck"));
    run_in(&web, &[], "npx", &["ng", "build"])?;
    run_in(&web, &[], "npx", &["ng", "test", "--watch=false"])?;
    // The example app was built by the first steps, the web app just now.
    crate::e2e::run_built(&root)?;
    // The REST API against its own OpenAPI document.
    crate::contract::run_built(&root)?;
    // A new project, as a user makes one.
    crate::scaffold::run()?;
    eprintln!(
        "xtask: every check passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Every package's tests on SQLite, then the runtime's and the example's
/// again, each on a fresh PostgreSQL database, and several instances on
/// that server; files on an S3-compatible store on moto's, throughout.
fn rust_tests(root: &Path, cargo: &str) -> Result<(), String> {
    // Files on an S3-compatible store are tested on moto's.
    let moto = timed("starting moto's S3", crate::moto::Moto::start)?;
    let s3 = moto.env();
    let s3: Vec<(&str, &str)> = s3.iter().map(|(k, v)| (*k, v.as_str())).collect();
    run_in(root, &s3, cargo, &["test", "--workspace"])?;
    // The runtime's tests again, each on a fresh PostgreSQL database.
    let postgres = timed("starting PostgreSQL", crate::postgres::Postgres::start)?;
    let on_postgres: Vec<(&str, &str)> = [("AEGIS_TEST_DATABASE_URL", postgres.url.as_str())]
        .into_iter()
        .chain(s3.iter().copied())
        .collect();
    for (dir, test) in built_tests(root, &["aegis", "example-app"])? {
        run_in(&dir, &on_postgres, &test.to_string_lossy(), &[])?;
    }
    drop(moto);
    // Several instances on that server, which it restarts in its last run.
    timed("the reliability runs", || {
        crate::reliability::run_built(&postgres)
    })?;
    drop(postgres);
    Ok(())
}

/// The test executables `cargo test --workspace` built for the packages in
/// `dirs`, each with its package's folder, to run again as they are: a
/// narrower `cargo test --package …` would unify the dependencies'
/// features differently and so compile most of them again.
fn built_tests(root: &Path, dirs: &[&str]) -> Result<Vec<(PathBuf, PathBuf)>, String> {
    let output = Command::new(cargo())
        .args(["test", "--workspace", "--no-run", "--message-format=json"])
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot list the test executables: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "listing the test executables failed ({})",
            output.status
        ));
    }
    let mut tests = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let (Some(executable), Some(manifest)) = (
            message["executable"].as_str(),
            message["manifest_path"].as_str(),
        ) else {
            continue;
        };
        let package = Path::new(manifest).parent().unwrap_or(root);
        let wanted = dirs.iter().any(|dir| package == root.join(dir));
        if message["reason"] == "compiler-artifact" && message["profile"]["test"] == true && wanted
        {
            tests.push((package.to_path_buf(), PathBuf::from(executable)));
        }
    }
    if tests.is_empty() {
        return Err(format!(
            "`cargo test` built no test executable for {dirs:?}"
        ));
    }
    Ok(tests)
}

/// Runs one step that is not a command of its own, printing its time as
/// [`run_in`] does.
fn timed<T>(what: &str, step: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    let started = std::time::Instant::now();
    let result = step();
    eprintln!(
        "xtask: {what} took {:.0} s",
        started.elapsed().as_secs_f64()
    );
    result
}

/// Type-checks the golden fixtures' expected TypeScript with the web app's
/// compiler and packages, each fixture beside the shared files only the
/// `budgets` fixture keeps and the runtime's files it lists.
fn typecheck_fixtures(root: &Path, web: &Path) -> Result<(), String> {
    let fixtures = root.join("aegis-build/tests/fixtures");
    let shared = fixtures.join("budgets/expected/web/shared");
    // The runtime files the fixtures list rather than keep.
    let listed = std::fs::read_to_string(fixtures.join("budgets/expected/web/RUNTIME_FILES"))
        .map_err(|e| format!("cannot read the fixtures' runtime files: {e}"))?;
    // Inside the web app, so the compiler finds its node_modules as usual.
    let work = web.join(".fixture-typecheck");
    let _ = std::fs::remove_dir_all(&work);
    let entries = std::fs::read_dir(&fixtures).map_err(|e| format!("cannot list fixtures: {e}"))?;
    let mut cases: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join("expected/web").is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    for case in &cases {
        let target = work.join(case);
        copy_tree(&fixtures.join(case).join("expected/web"), &target)?;
        copy_tree(&shared, &target.join("shared"))?;
        for path in listed.lines() {
            let to = target.join(path);
            std::fs::create_dir_all(to.parent().unwrap_or(&target)).map_err(|e| e.to_string())?;
            std::fs::copy(root.join("aegis-build/runtime").join(path), &to)
                .map_err(|e| format!("cannot copy the runtime's {path}: {e}"))?;
        }
    }
    let tsconfig = r#"{
  "compilerOptions": {
    "strict": true,
    "noImplicitOverride": true,
    "noPropertyAccessFromIndexSignature": true,
    "noImplicitReturns": true,
    "noFallthroughCasesInSwitch": true,
    "noUnusedLocals": true,
    "skipLibCheck": true,
    "experimentalDecorators": true,
    "target": "ES2022",
    "module": "preserve",
    "moduleResolution": "bundler",
    "lib": ["ES2022", "DOM"],
    "types": [],
    "noEmit": true
  },
  "include": ["**/*.ts"]
}
"#;
    std::fs::write(work.join("tsconfig.json"), tsconfig).map_err(|e| e.to_string())?;
    let tsc = web.join("node_modules/.bin/tsc");
    // The copy stays for ESLint, which lints it next.
    run_in(&work, &[], &tsc.to_string_lossy(), &["-p", "tsconfig.json"])
}

/// Type-checks and lints aegis-build's runtime files and specs where they
/// live, against the web app's packages (linked as their `node_modules`,
/// which git ignores).
fn typecheck_runtime(root: &Path, web: &Path) -> Result<(), String> {
    let runtime = root.join("aegis-build/runtime");
    let link = runtime.join("node_modules");
    if std::fs::symlink_metadata(&link).is_err() {
        std::os::unix::fs::symlink("../../example-app/web/node_modules", &link)
            .map_err(|e| format!("cannot link {}: {e}", link.display()))?;
    }
    let tsc = web.join("node_modules/.bin/tsc");
    run_in(
        &runtime,
        &[],
        &tsc.to_string_lossy(),
        &["-p", "tsconfig.json"],
    )?;
    // Its files and specs, by the example's ESLint rules (the example's
    // `ng test` runs the specs, from here).
    let eslint = web.join("node_modules/.bin/eslint");
    let config = web.join("eslint.config.mjs");
    run_in(
        &runtime,
        &[],
        &eslint.to_string_lossy(),
        &[
            "--max-warnings",
            "0",
            "-c",
            &config.to_string_lossy(),
            "shared",
        ],
    )
}

/// Every generated file (the example app's, every golden fixture's) and
/// the runtime they are made from, as Prettier (pinned in the example's
/// package.json) with the example's `.prettierrc` would write them: the
/// generator lays its output out as a person would commit it.
fn formatted(root: &Path, web: &Path) -> Result<(), String> {
    let prettier = web.join("node_modules/.bin/prettier");
    run_in(
        root,
        &[],
        &prettier.to_string_lossy(),
        &[
            "--config",
            "example-app/web/.prettierrc",
            "--check",
            "example-app/web/src/app/features/**/*.{ts,html}",
            "example-app/web/src/app/shared/business/**/*.ts",
            "example-app/web/src/app/shared/ui/**/*.{ts,scss}",
            "aegis-build/tests/fixtures/*/expected/web/**/*.{ts,html,scss}",
            "aegis-build/runtime/shared/**/*.{ts,scss}",
        ],
    )
}

pub(crate) fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    let entries =
        std::fs::read_dir(from).map_err(|e| format!("cannot list {}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_tree(&path, &target)?;
        } else {
            std::fs::copy(&path, &target)
                .map_err(|e| format!("cannot copy {}: {e}", path.display()))?;
        }
    }
    Ok(())
}
