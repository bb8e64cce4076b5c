//! Collection: merging modules.toml with the sources, and every problem it
//! reports, each with file, line and column.

use std::path::Path;

use aegis_build::{BuildEnv, Config, Error};

mod common;

use common::{Crate, GENERATOR};

const BUDGET: &str = "use aegis::crud_module;

#[crud_module(with_import)]
pub struct Budget {
    pub id: i64,
    pub name: String,
    pub version: i64,
}
";

fn modules(generated: &aegis_build::Generated) -> Vec<&Path> {
    let mut features: Vec<&Path> = generated
        .web
        .keys()
        .filter(|p| p.starts_with("features") && p.components().count() == 3)
        .filter_map(|p| p.parent())
        .collect();
    features.dedup();
    features
}

#[test]
fn manifest_settings_merge_into_rust_modules() {
    let krate = Crate::new(
        &format!("{GENERATOR}[modules.budgets]\nwith_events = true\n"),
        &[("lib.rs", BUDGET)],
    );
    let generated = krate.config().generate().unwrap();
    // with_events from modules.toml, with_import from the attribute.
    assert!(
        generated
            .web
            .contains_key(Path::new("features/budgets/state/budgets-state.manager.ts"))
    );
    let list = &generated.web[Path::new("features/budgets/components/budgets-list.component.ts")];
    assert!(list.contains("openImport()"), "{list}");
    let settings = &generated.rust["aegis_modules.rs"];
    assert!(
        settings.contains(
            "module: \"budgets\",\n        with_events: true,\n        with_import: true,"
        ),
        "{settings}"
    );
}

/// Sorting is the model's to decide, in either place it is declared: the
/// API's list, the OpenAPI document and the table's headers follow it.
#[test]
fn a_field_opts_out_of_sorting_in_either_place() {
    let krate = Crate::new(
        &format!(
            "{GENERATOR}[modules.notes]\nfields = {{ id = \"i64\", body = {{ type = \"string\", \
             sortable = false }}, rank = \"i64\" }}\n"
        ),
        &[(
            "lib.rs",
            "use aegis::crud_module;\n#[crud_module]\npub struct Tag { pub id: i64, \
             #[crud(sortable = false)] pub label: String, pub rank: i64 }\n",
        )],
    );
    let generated = krate.config().generate().unwrap();
    let settings = &generated.rust["aegis_modules.rs"];
    assert!(settings.contains(r#"&["id", "rank"]"#), "{settings}");
    assert!(!settings.contains(r#""label""#), "{settings}");
    assert!(!settings.contains(r#""body""#), "{settings}");
    for (feature, field) in [("tags", "label"), ("notes", "body")] {
        let html = &generated.web[Path::new(&format!(
            "features/{feature}/components/{feature}-list.component.html"
        ))];
        assert!(
            html.contains("*matHeaderCellDef mat-sort-header>Rank"),
            "{html}"
        );
        assert!(
            !html.contains(&format!("mat-sort-header>{}", capitalised(field))),
            "{html}"
        );
        let openapi = &generated.web[Path::new("shared/openapi.json")];
        assert!(!openapi.contains(&format!("\"-{field}\"")), "{feature}");
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

#[test]
fn flags_shape_the_files() {
    let krate = Crate::new(
        GENERATOR,
        &[(
            "lib.rs",
            "use aegis::crud_module;\n#[crud_module]\npub struct Tag { pub id: i64, pub label: String }\n",
        )],
    );
    let generated = krate.config().generate().unwrap();
    assert_eq!(modules(&generated), [Path::new("features/tags")]);
    let tags: Vec<_> = generated
        .web
        .keys()
        .filter(|p| p.starts_with("features/tags"))
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(
        tags,
        [
            "features/tags/components/tags-form.dialog.ts",
            "features/tags/components/tags-list.component.html",
            "features/tags/components/tags-list.component.ts",
            "features/tags/services/tags.service.ts",
            "features/tags/state/tags-state.manager.ts",
            "features/tags/tags.routes.ts",
            "features/tags/types/tags.types.ts",
        ]
    );
    // No events: the state manager reads the page again after each change
    // (no socket, no conflicts in the list), and no event tests exist.
    let state = &generated.web[Path::new("features/tags/state/tags-state.manager.ts")];
    assert!(state.contains("extends BasePolledStateManager<") && !state.contains("Realtime"));
    let list = &generated.web[Path::new("features/tags/components/tags-list.component.ts")];
    assert!(list.contains("inject(TagStateManager)") && !list.contains("conflicts"));
    assert!(!generated.rust["aegis_event_tests.rs"].contains("mod tags_events"));
}

#[test]
fn nested_modules_and_types_in_other_files_resolve() {
    let krate = Crate::new(
        GENERATOR,
        &[
            ("lib.rs", "mod shop;\nmod kinds;\n"),
            (
                "shop/mod.rs",
                "pub mod inner {\n    #[aegis::crud_module]\n    pub struct Product { pub id: i64, pub kind: crate::kinds::Kind }\n}\n",
            ),
            (
                "kinds.rs",
                "#[serde(rename_all = \"lowercase\")]\npub enum Kind { Book, Disc }\n",
            ),
        ],
    );
    let generated = krate.config().generate().unwrap();
    let types = &generated.web[Path::new("features/products/types/products.types.ts")];
    assert!(
        types.contains("export type Kind = 'book' | 'disc';"),
        "{types}"
    );
    let form = &generated.web[Path::new("features/products/components/products-form.dialog.ts")];
    assert!(
        form.contains("<mat-option value=\"book\">book</mat-option>"),
        "{form}"
    );
}

#[test]
fn cfg_test_items_are_not_modules() {
    let krate = Crate::new(
        GENERATOR,
        &[(
            "lib.rs",
            "#[cfg(test)]\nmod tests {\n    #[aegis::crud_module]\n    pub struct Fake { pub id: i64 }\n}\n",
        )],
    );
    let generated = krate.config().generate().unwrap();
    assert!(modules(&generated).is_empty());
}

#[test]
fn manifest_syntax_error_has_a_position() {
    let krate = Crate::new("[generator]\nweb_root = \"web\"\n[modules.tags\n", &[]);
    let problems = krate.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    let (file, line, _, message) = &problems[0];
    assert_eq!(file, "modules.toml");
    assert_eq!(*line, 3);
    assert!(
        message.contains("invalid table header") || message.contains("expected"),
        "{message}"
    );
}

#[test]
fn manifest_needs_a_generator_table() {
    let krate = Crate::new("[modules]\n", &[]);
    let problems = krate.problems();
    assert!(problems[0].3.contains("`[generator]`"), "{problems:?}");
}

#[test]
fn every_problem_of_a_run_together() {
    let krate = Crate::new(
        &format!(
            "{GENERATOR}\n[modules.budgets]\nwith_import = false\nsingular = \"spend\"\n\n[modules.ghosts]\nwith_events = true\n\n[modules.tags]\nfields = {{ id = \"i64\", name = \"strng\" }}\n"
        ),
        &[
            ("lib.rs", BUDGET),
            ("broken.rs", "pub struct Broken {\n"),
            (
                "bad.rs",
                "#[aegis::crud_module(with_imports)]\npub struct Bad { pub id: i64 }\n",
            ),
        ],
    );
    let problems = krate.problems();
    let rendered: Vec<String> = problems
        .iter()
        .map(|(file, line, column, message)| format!("{file}:{line}:{column}: {message}"))
        .collect();
    let expected = [
        "modules.toml:12:31: unknown field type `strng` for `name`, did you mean `string`?",
        "src/bad.rs:1:22: unknown crud_module option `with_imports`, did you mean `with_import`?",
        "src/broken.rs:1:19: cannot parse string into token stream",
        "modules.toml:5:15: modules.toml sets `with_import = false` for `budgets`, but \
         `#[crud_module(with_import)]` on `Budget` at src/lib.rs:4:12 turns it on; remove one",
        "modules.toml:6:12: modules.toml sets `singular = \"spend\"` for `budgets`, but `Budget` \
         at src/lib.rs:4:12 gives the singular `budget`; set it in one place",
        "modules.toml:8:1: no `#[crud_module]` struct declares module `ghosts`; declare it in \
         Rust, or give it `fields` to declare it here",
    ];
    for line in expected {
        assert!(
            rendered.iter().any(|r| r == line),
            "missing `{line}` in:\n{}",
            rendered.join("\n")
        );
    }
    assert_eq!(rendered.len(), expected.len(), "{}", rendered.join("\n"));
}

#[test]
fn events_from_the_manifest_need_a_version() {
    let krate = Crate::new(
        &format!("{GENERATOR}[modules.tags]\nwith_events = true\n"),
        &[(
            "lib.rs",
            "#[aegis::crud_module]\npub struct Tag { pub id: i64 }\n",
        )],
    );
    let problems = krate.problems();
    assert_eq!(problems.len(), 1);
    assert_eq!((problems[0].1, problems[0].2), (4, 15));
    assert!(
        problems[0].3.contains("needs a version field"),
        "{problems:?}"
    );
}

#[test]
fn a_module_declared_twice() {
    let krate = Crate::new(
        &format!("{GENERATOR}[modules.budgets]\nfields = {{ id = \"i64\" }}\n"),
        &[("lib.rs", BUDGET)],
    );
    let problems = krate.problems();
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].3.contains("module `budgets` is declared twice")
            && problems[0].3.contains("src/lib.rs:4:12"),
        "{problems:?}"
    );
}

#[test]
fn two_modules_with_one_feature() {
    let krate = Crate::new(
        GENERATOR,
        &[(
            "lib.rs",
            "#[aegis::crud_module]\npub struct Person { pub id: i64 }\n\n#[aegis::crud_module(name = \"people\", singular = \"human\")]\npub struct Human { pub id: i64 }\n",
        )],
    );
    let problems = krate.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(
        problems[0].3,
        "modules `people` (`Human`) and `people` (`Person`, at src/lib.rs:2:12) both generate \
         the feature `people`; rename one with `name = \"...\"` or `singular = \"...\"`"
    );
}

#[test]
fn unresolved_and_ambiguous_types() {
    let krate = Crate::new(
        GENERATOR,
        &[
            (
                "lib.rs",
                "mod a;\nmod b;\n#[aegis::crud_module]\npub struct Order {\n    pub id: i64,\n    pub lines: Vec<Line>,\n    pub state: State,\n    pub when: Date,\n}\n",
            ),
            (
                "a.rs",
                "pub enum State { Open }\npub struct Line { pub sku: Sku }\n",
            ),
            ("b.rs", "pub enum State { Closed }\n"),
        ],
    );
    let rendered: Vec<String> = krate
        .problems()
        .into_iter()
        .map(|(file, line, column, message)| format!("{file}:{line}:{column}: {message}"))
        .collect();
    assert_eq!(rendered.len(), 3, "{}", rendered.join("\n"));
    assert!(
        rendered.iter().any(|r| r.starts_with(
            "src/lib.rs:8:15: cannot find a struct or enum named `Date` (used by field `when`)"
        )),
        "{}",
        rendered.join("\n")
    );
    assert!(rendered.iter().any(|r| r.starts_with("src/lib.rs:7:16: `State` (used by field `state`) is declared 2 times, at src/a.rs:1:10, src/b.rs:1:10")), "{}", rendered.join("\n"));
    assert!(
        rendered.iter().any(|r| r.starts_with(
            "src/a.rs:2:12: cannot find a struct or enum named `Sku` (used by `Line`)"
        )),
        "{}",
        rendered.join("\n")
    );
}

#[test]
fn a_type_that_shadows_a_generated_name() {
    let krate = Crate::new(
        GENERATOR,
        &[(
            "lib.rs",
            "pub struct File { pub path: String }\n#[aegis::crud_module]\npub struct Doc { pub id: i64, pub file: File }\n",
        )],
    );
    let problems = krate.problems();
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0]
            .3
            .contains("type `File` (used by field `file`) would shadow"),
        "{problems:?}"
    );
}

#[test]
fn template_overrides_replace_by_name() {
    let krate = Crate::new(
        GENERATOR,
        &[(
            "lib.rs",
            "#[aegis::crud_module]\npub struct Tag { pub id: i64 }\n",
        )],
    );
    let templates = krate.dir.path().join("templates/feature");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(
        templates.join("routes.ts.hbs"),
        "{{header}}\n// routes of {{feature}}\n",
    )
    .unwrap();
    let generated = krate
        .config()
        .templates(krate.dir.path().join("templates"))
        .generate()
        .unwrap();
    assert_eq!(
        generated.web[Path::new("features/tags/tags.routes.ts")],
        "// @generated by aegis-build — do not edit\n// routes of tags\n"
    );
    assert!(
        generated
            .inputs
            .contains(&krate.dir.path().join("templates"))
    );
}

#[test]
fn a_broken_override_names_its_template() {
    let krate = Crate::new(
        GENERATOR,
        &[(
            "lib.rs",
            "#[aegis::crud_module]\npub struct Tag { pub id: i64 }\n",
        )],
    );
    let templates = krate.dir.path().join("templates/feature");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(templates.join("routes.ts.hbs"), "{{no_such_field}}\n").unwrap();
    let error = krate
        .config()
        .templates(krate.dir.path().join("templates"))
        .generate()
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("template `feature/routes.ts`") && message.contains("no_such_field"),
        "{message}"
    );
}

#[test]
fn writes_deletes_and_checks_on_disk() {
    let krate = Crate::new(
        GENERATOR,
        &[(
            "lib.rs",
            "#[aegis::crud_module]\npub struct Tag { pub id: i64 }\n#[aegis::crud_module]\npub struct Note { pub id: i64 }\n",
        )],
    );
    let out = krate.dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let config = krate.config().out_dir(&out).check(false);
    let first = config.write().unwrap();
    assert!(!first.web.written.is_empty());
    assert_eq!(
        config.write().unwrap().web.written.len(),
        0,
        "a second run writes nothing"
    );

    let web = krate.dir.path().join("web");
    let mine = web.join("features/notes/components/notes-extra.ts");
    std::fs::write(&mine, "export const mine = true;\n").unwrap();
    let edited = web.join("features/tags/tags.routes.ts");
    let original = std::fs::read_to_string(&edited).unwrap();
    std::fs::write(&edited, format!("{original}// edited\n")).unwrap();
    let error = krate
        .config()
        .out_dir(&out)
        .check(true)
        .write()
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("changed: features/tags/tags.routes.ts"),
        "{error}"
    );
    std::fs::write(&edited, original).unwrap();
    krate.config().out_dir(&out).check(true).write().unwrap();

    // Removing the Note module removes its files, and only those.
    std::fs::write(
        krate.dir.path().join("src/lib.rs"),
        "#[aegis::crud_module]\npub struct Tag { pub id: i64 }\n",
    )
    .unwrap();
    let report = config.write().unwrap();
    assert!(
        report
            .web
            .deleted
            .iter()
            .all(|p| p.starts_with("features/notes"))
    );
    assert_eq!(report.web.deleted.len(), 7, "{:?}", report.web.deleted);
    assert!(mine.exists(), "a hand-written file survives");
    assert!(!web.join("features/notes/services").exists());
}

/// What the build script's environment says comes through one value, so a
/// run can be given it; and a failure reads the same through `Debug`, which
/// is what a `main` returning the error prints.
#[test]
fn the_environment_comes_through_one_value() {
    let krate = Crate::new(
        GENERATOR,
        &[(
            "lib.rs",
            "#[aegis::crud_module(with_events)]\npub struct Tag { pub id: i64, pub version: i64 }\n",
        )],
    );
    let out = krate.dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let env = BuildEnv {
        out_dir: Some(out.clone()),
        package: Some("fixture_env".to_owned()),
        check: true,
        ..BuildEnv::default()
    };
    // Nothing was written yet: checking from the environment finds it missing.
    let error = Config::new()
        .manifest(krate.dir.path().join("modules.toml"))
        .source(krate.dir.path().join("src"))
        .env(env.clone())
        .write()
        .unwrap_err();
    assert!(matches!(error, Error::Drifted { .. }), "{error}");
    assert_eq!(format!("{error:?}"), error.to_string());
    assert!(
        error
            .to_string()
            .contains("missing: features/tags/tags.routes.ts")
    );

    let written = Config::new()
        .manifest(krate.dir.path().join("modules.toml"))
        .source(krate.dir.path().join("src"))
        .env(BuildEnv {
            check: false,
            ..env
        })
        .write()
        .unwrap();
    assert!(!written.web.written.is_empty());
    let tests = std::fs::read_to_string(out.join(aegis_build::EVENT_TESTS_FILE)).unwrap();
    assert!(tests.contains("fixture_env"), "the package names the crate");
}
