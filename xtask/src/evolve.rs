//! The example app as a user has it after changing a struct, for the
//! end-to-end suite's schema-evolution scenario: a scratch copy of the
//! repository with two fields added to `Budget` (an `Option` and one with a
//! default), built like the original (`cargo build`, which renders its
//! front end, then `ng build`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cargo, run_in};

/// A built example app: its binary and its web app.
pub struct Build {
    pub bin: PathBuf,
    pub web: PathBuf,
}

/// The fields the evolved `Budget` gains, after `status`.
const NEW_FIELDS: &str = "    pub status: BudgetStatus,
    /// Added after rows existed: old rows read `null`.
    pub owner: Option<String>,
    /// Added after rows existed: old rows get `EUR`.
    #[crud(default = \"EUR\")]
    #[serde(default)]
    pub currency: String,
    pub version: i64,";

/// Keeps the original build where the evolved one cannot overwrite it,
/// then makes and builds the evolved copy. Both live under `target/e2e`.
pub fn build(root: &Path) -> Result<(Build, Build), String> {
    let work = crate::target_dir()?.join("e2e");
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let original = Build {
        bin: work.join("example-app"),
        web: root.join("example-app/web/dist/web/browser"),
    };
    std::fs::copy(crate::binary("debug", "example-app")?, &original.bin)
        .map_err(|e| format!("cannot keep the example app's binary: {e}"))?;

    let scratch = work.join("evolved");
    let _ = std::fs::remove_dir_all(&scratch);
    copy_sources(root, &scratch)?;
    // Cargo names a path crate's build by its path within the workspace
    // and its version: the copy's crates, at the same paths, must differ
    // in version, or their builds would take the original's place in the
    // shared target dir.
    edit(
        &scratch.join("Cargo.toml"),
        &format!("version = \"{}\"", env!("CARGO_PKG_VERSION")),
        &format!("version = \"{}-evolved\"", env!("CARGO_PKG_VERSION")),
    )?;
    edit(
        &scratch.join("example-app/src/models.rs"),
        "    pub status: BudgetStatus,\n    pub version: i64,",
        NEW_FIELDS,
    )?;
    edit(
        &scratch.join("example-app/src/seed.rs"),
        "                tags,\n            })",
        "                tags,\n                owner: None,\n                currency: \"EUR\".to_owned(),\n            })",
    )?;
    let web = scratch.join("example-app/web");
    std::os::unix::fs::symlink(
        root.join("example-app/web/node_modules"),
        web.join("node_modules"),
    )
    .map_err(|e| format!("cannot link the web app's packages: {e}"))?;

    // The shared target dir reuses every compiled dependency.
    let target = crate::target_dir()?;
    run_in(
        &scratch,
        &[("CARGO_TARGET_DIR", &target.to_string_lossy())],
        &cargo(),
        &["build", "--package", "example-app"],
    )?;
    let evolved = Build {
        bin: work.join("example-app-evolved"),
        web: web.join("dist/web/browser"),
    };
    std::fs::copy(target.join("debug/example-app"), &evolved.bin)
        .map_err(|e| format!("cannot keep the evolved binary: {e}"))?;
    // Put the original binary back where `cargo build` left it.
    std::fs::copy(&original.bin, target.join("debug/example-app"))
        .map_err(|e| format!("cannot restore the example app's binary: {e}"))?;
    run_in(&web, &[], "npx", &["ng", "build"])?;
    Ok((original, evolved))
}

/// Copies the files git knows of (tracked, or new and not ignored).
fn copy_sources(root: &Path, to: &Path) -> Result<(), String> {
    let output = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run git ls-files: {e}"))?;
    if !output.status.success() {
        return Err("git ls-files failed".to_owned());
    }
    for name in output.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = String::from_utf8_lossy(name);
        let from = root.join(name.as_ref());
        if !from.is_file() {
            continue; // deleted in the work tree
        }
        let target = to.join(name.as_ref());
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::copy(&from, &target)
            .map_err(|e| format!("cannot copy {}: {e}", from.display()))?;
    }
    Ok(())
}

/// Replaces `anchor`, which must be there exactly once.
fn edit(path: &Path, anchor: &str, replacement: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    if text.matches(anchor).count() != 1 {
        return Err(format!(
            "{} no longer has the text the evolution scenario changes: {anchor:?}",
            path.display()
        ));
    }
    std::fs::write(path, text.replacen(anchor, replacement, 1)).map_err(|e| e.to_string())
}
