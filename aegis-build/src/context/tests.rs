//! The context and its document agree.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{feature_context, shared_context};
use crate::collect::{Inputs, collect};

/// Every key of a context: `a`, `a.b` for a nested object, and the
/// keys of a list's items as their own.
fn keys(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let path = format!("{prefix}{key}");
                out.insert(path.clone());
                match inner {
                    Value::Object(_) => keys(inner, &format!("{path}."), out),
                    Value::Array(items) => {
                        for item in items.iter().filter(|i| i.is_object()) {
                            keys(item, "", out);
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => unreachable!("contexts are objects"),
    }
}

/// `key` appears in `text` as a whole name.
fn mentions(text: &str, key: &str) -> bool {
    let is_name = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(key).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + key.len()..].chars().next();
        !before.is_some_and(|c| is_name(c) || c == '.') && !after.is_some_and(is_name)
    })
}

#[test]
fn every_field_is_documented_and_used() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("../docs/TEMPLATES.md")).unwrap();
    let mut feature_keys = BTreeSet::new();
    let mut shared_keys = BTreeSet::new();
    // Between them the fixtures have every kind of field and module.
    for case in [
        "budgets",
        "field-types",
        "manifest-only",
        "plain",
        "authors",
    ] {
        let dir = root.join("tests/fixtures").join(case);
        let sources: Vec<PathBuf> = vec![dir.join("src")];
        let collected = collect(&Inputs {
            manifest: &dir.join("modules.toml"),
            sources: &sources,
            base: &dir,
        })
        .unwrap();
        for unit in &collected.modules {
            let context = serde_json::to_value(feature_context(unit)).unwrap();
            keys(&context, "", &mut feature_keys);
        }
        let shared = shared_context(&collected.modules, Vec::new(), Vec::new());
        keys(&serde_json::to_value(shared).unwrap(), "", &mut shared_keys);
    }
    let templates: Vec<(&str, &str)> = crate::render::embedded_templates().collect();
    let text_of = |prefix: &str| -> String {
        templates
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(_, text)| *text)
            .collect()
    };
    let (feature_text, shared_text) = (text_of("feature/"), text_of("shared/"));
    let mut problems = Vec::new();
    for (keys, text) in [(&feature_keys, &feature_text), (&shared_keys, &shared_text)] {
        for key in keys {
            if !doc.contains(&format!("`{key}`")) {
                problems.push(format!("`{key}` is not in docs/TEMPLATES.md"));
            }
            // A nested object is used through its fields.
            let nested = keys.iter().any(|k| k.starts_with(&format!("{key}.")));
            if !nested && !mentions(text, key) {
                problems.push(format!("`{key}` is used by no template"));
            }
        }
    }
    // And nothing documented that is gone: the first cell of each table row.
    for line in doc.lines().filter(|l| l.starts_with("| `")) {
        let cell = line.split('|').nth(1).unwrap_or_default();
        for name in cell.split('`').skip(1).step_by(2) {
            if !feature_keys.contains(name) && !shared_keys.contains(name) {
                problems.push(format!(
                    "docs/TEMPLATES.md documents `{name}`, no context has it"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
