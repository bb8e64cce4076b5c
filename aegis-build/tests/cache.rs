//! The generator's cache in `OUT_DIR`: a run over the last run's modules
//! renders nothing while every file it wrote is still as written; a
//! change to a module, or a generated file changed or deleted by hand,
//! means a full run.

mod common;

use std::path::PathBuf;

use common::{Crate, GENERATOR};

const SOURCE: &str = "#[aegis::crud_module]\npub struct Tag { pub id: i64, pub label: String }\n";

fn run(krate: &Crate) -> aegis_build::Report {
    let out = krate.dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    krate.config().out_dir(out).check(false).write().unwrap()
}

fn types(krate: &Crate) -> PathBuf {
    krate
        .dir
        .path()
        .join("web/features/tags/types/tags.types.ts")
}

#[test]
fn only_a_change_the_output_depends_on_renders_again() {
    let krate = Crate::new(GENERATOR, &[("lib.rs", SOURCE)]);
    let first = run(&krate);
    assert!(!first.cached);
    assert!(!first.web.written.is_empty());
    assert!(types(&krate).exists(), "{:?}", first.web.written);

    let again = run(&krate);
    assert!(again.cached, "nothing changed");
    assert!(again.web.written.is_empty() && again.rust_written.is_empty());
    assert_eq!(again.web.unchanged, first.web.written.len());

    // Code beside the modules changes nothing they generate.
    let lib = krate.dir.path().join("src/lib.rs");
    std::fs::write(&lib, format!("{SOURCE}pub fn helper() -> u8 {{ 1 }}\n")).unwrap();
    assert!(run(&krate).cached, "a change no module sees");

    // A generated file edited or deleted by hand is written again.
    let original = std::fs::read_to_string(types(&krate)).unwrap();
    std::fs::write(types(&krate), format!("{original}// edited\n")).unwrap();
    let mended = run(&krate);
    assert!(!mended.cached);
    assert_eq!(std::fs::read_to_string(types(&krate)).unwrap(), original);
    std::fs::remove_file(types(&krate)).unwrap();
    assert!(!run(&krate).cached);
    assert!(types(&krate).exists());
    assert!(run(&krate).cached);

    // A new field renders again.
    std::fs::write(
        &lib,
        "#[aegis::crud_module]\npub struct Tag { pub id: i64, pub label: String, pub size: i32 }\n",
    )
    .unwrap();
    let changed = run(&krate);
    assert!(!changed.cached);
    assert!(
        std::fs::read_to_string(types(&krate))
            .unwrap()
            .contains("size: number")
    );

    // Checking over a fresh cache finds nothing to say.
    let out = krate.dir.path().join("out");
    let checked = krate.config().out_dir(out).check(true).write().unwrap();
    assert!(checked.cached);
}
