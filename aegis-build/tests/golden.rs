//! Golden tests: each folder in tests/fixtures holds a modules.toml, a
//! `src/` to scan and the expected output, compared byte for byte.
//! `AEGIS_BLESS=1 cargo test -p aegis-build --test golden` rewrites the
//! expected output after a deliberate change; review the diff.
//!
//! The shared runtime files are the same for every app, so only the
//! `budgets` fixture keeps them; every fixture keeps its OpenAPI document.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const WITH_SHARED: &str = "budgets";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Every file under `dir`, by path relative to it.
fn read_tree(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut files = BTreeMap::new();
    if !dir.exists() {
        return files;
    }
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let relative = entry.path().strip_prefix(dir).unwrap().to_path_buf();
            files.insert(relative, std::fs::read_to_string(entry.path()).unwrap());
        }
    }
    files
}

fn generated(case: &str) -> BTreeMap<PathBuf, String> {
    let dir = fixtures().join(case);
    let generated = aegis_build::Config::new()
        .manifest(dir.join("modules.toml"))
        .source(dir.join("src"))
        .crate_name("fixture")
        .generate()
        .unwrap_or_else(|error| panic!("fixture `{case}`: {error}"));
    let mut files: BTreeMap<PathBuf, String> = generated
        .web
        .into_iter()
        .filter(|(path, _)| {
            case == WITH_SHARED
                || !path.starts_with("shared")
                || path == Path::new(aegis_build::OPENAPI_PATH)
        })
        .map(|(path, text)| (Path::new("web").join(path), text))
        .collect();
    for (name, text) in generated.rust {
        if name == aegis_build::OPENAPI_FILE {
            // The web root's copy is kept; this one must be the same.
            assert_eq!(
                files[&Path::new("web").join(aegis_build::OPENAPI_PATH)],
                text
            );
            continue;
        }
        files.insert(Path::new("rust").join(name), text);
    }
    files
}

fn check(case: &str) {
    let expected_dir = fixtures().join(case).join("expected");
    let actual = generated(case);
    if std::env::var_os("AEGIS_BLESS").is_some() {
        let _ = std::fs::remove_dir_all(&expected_dir);
        for (path, text) in &actual {
            let path = expected_dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        return;
    }
    let expected = read_tree(&expected_dir);
    let actual_paths: Vec<_> = actual.keys().collect();
    let expected_paths: Vec<_> = expected.keys().collect();
    assert_eq!(
        actual_paths, expected_paths,
        "fixture `{case}` generates other files than expected (AEGIS_BLESS=1 to accept)"
    );
    for (path, text) in &actual {
        assert!(
            expected[path] == *text,
            "fixture `{case}`: `{}` differs from the expected output (AEGIS_BLESS=1 to accept)\n\
             --- expected\n{}\n--- actual\n{}",
            path.display(),
            expected[path],
            text
        );
    }
}

#[test]
fn budgets_with_events_and_import() {
    check("budgets");
}

#[test]
fn authors_with_events_only() {
    check("authors");
}

#[test]
fn module_declared_in_modules_toml_alone() {
    check("manifest-only");
}

#[test]
fn module_with_neither_flag() {
    check("plain");
}

#[test]
fn every_field_type() {
    check("field-types");
}

#[test]
fn generation_is_deterministic() {
    assert_eq!(generated("field-types"), generated("field-types"));
}
