//! `cargo aegis`, run as cargo runs it. The scaffold's build, tests and
//! browser run are `cargo xtask scaffold`'s.

use std::path::Path;
use std::process::{Command, Output};

fn cargo_aegis(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-aegis"))
        .arg("aegis")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("cargo-aegis runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn checkout() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .display()
        .to_string()
}

#[test]
fn new_writes_a_project_and_refuses_a_folder_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let made = cargo_aegis(
        dir.path(),
        &["new", "corner-shop", "--aegis-path", &checkout()],
    );
    assert!(made.status.success(), "{}", text(&made.stderr));
    let project = dir.path().join("corner-shop");
    for file in [
        "Cargo.toml",
        "build.rs",
        "modules.toml",
        "src/main.rs",
        ".gitignore",
        "README.md",
        "web/package-lock.json",
        "web/src/app/app.routes.ts",
    ] {
        assert!(project.join(file).is_file(), "{file}");
    }
    let cargo = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
    assert!(
        cargo.contains(&format!("path = \"{}/aegis\"", checkout())),
        "{cargo}"
    );

    let again = cargo_aegis(
        dir.path(),
        &["new", "corner-shop", "--aegis-path", &checkout()],
    );
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("corner-shop exists and is not empty"));

    let bad = cargo_aegis(dir.path(), &["new", "Shop"]);
    assert!(
        text(&bad.stderr).contains("`Shop` cannot name a package"),
        "{}",
        text(&bad.stderr)
    );
    let elsewhere = cargo_aegis(dir.path(), &["new", "other", "--aegis-path", "."]);
    assert!(text(&elsewhere.stderr).contains("not a checkout of Aegis"));
    let both = cargo_aegis(
        dir.path(),
        &[
            "new",
            "other",
            "--aegis-version",
            "0.1",
            "--aegis-git",
            "https://example.com/a.git",
        ],
    );
    assert_eq!(both.status.code(), Some(2), "one source at most");
    let rev_alone = cargo_aegis(dir.path(), &["new", "other", "--aegis-rev", "abc"]);
    assert_eq!(
        rev_alone.status.code(),
        Some(2),
        "--aegis-rev needs --aegis-git"
    );
}

#[test]
fn add_appends_or_leaves_the_file_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        cargo_aegis(dir.path(), &["new", "shop", "--aegis-path", &checkout()])
            .status
            .success()
    );
    let project = dir.path().join("shop");
    let manifest = project.join("modules.toml");
    let before = std::fs::read_to_string(&manifest).unwrap();

    let refused = cargo_aegis(&project, &["add", "orders", "total:money"]);
    assert!(!refused.status.success());
    let stderr = text(&refused.stderr);
    assert!(stderr.contains("modules.toml:"), "{stderr}");
    assert!(
        stderr.contains("unknown field type `money` for `total`"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&manifest).unwrap(), before);

    let added = cargo_aegis(
        &project,
        &[
            "add",
            "orders",
            "customer:string",
            "note:string?",
            "--events",
        ],
    );
    assert!(added.status.success(), "{}", text(&added.stderr));
    let after = std::fs::read_to_string(&manifest).unwrap();
    assert!(after.starts_with(&before));
    assert!(after.ends_with(
        "[modules.orders]\nwith_events = true\nfields = { id = \"i64\", customer = \"string\", note = \
         { type = \"string\", nullable = true }, version = \"i64\" }\n"
    ));
    let twice = cargo_aegis(&project, &["add", "orders", "x:string"]);
    assert!(text(&twice.stderr).contains("module `orders` is already in modules.toml"));
}
