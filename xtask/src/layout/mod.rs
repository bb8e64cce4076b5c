//! Rules of the code's shape that `cargo xtask test` checks: the runtime's
//! modules depend on each other without a cycle; no hand-written function
//! is over [`functions::MAX_FUNCTION_LINES`] lines (see [`functions`]);
//! xtask finds what cargo builds through `cargo metadata`, never by a
//! `target/` path of its own.

mod functions;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use functions::{MAX_FUNCTION_LINES, is_test_file, long_functions, test_module_files};

/// What marks a file as generated (and so exempt from the function rule).
const GENERATED: &str = "@generated";

pub fn check(root: &Path) -> Result<(), String> {
    let mut problems = Vec::new();
    let graph = module_graph(&root.join("aegis/src"))?;
    for cycle in cycles(&graph) {
        problems.push(format!(
            "aegis/src: these modules depend on each other in a cycle: {}",
            cycle.join(", ")
        ));
    }
    problems.extend(function_problems(root)?);
    problems.extend(hand_made_target_paths(root)?);
    if problems.is_empty() {
        eprintln!(
            "xtask: no module cycle in aegis/src, no hand-written function over \
             {MAX_FUNCTION_LINES} lines"
        );
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// Each top-level module of a crate's `src` (a file, or a folder with
/// `mod.rs`) and the other modules its code names as `crate::<module>`.
/// Items re-exported at the crate root are followed to their module.
fn module_graph(src: &Path) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    let lib = std::fs::read_to_string(src.join("lib.rs"))
        .map_err(|e| format!("cannot read {}: {e}", src.join("lib.rs").display()))?;
    let reexports = root_reexports(&lib);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in rust_files(src)? {
        let relative = path.strip_prefix(src).unwrap_or(&path);
        let module = match relative.components().next() {
            Some(first) => first
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_owned(),
            None => continue,
        };
        if module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let deps = graph.entry(module.clone()).or_default();
        for name in crate_paths(&code_only(&text)) {
            let target = reexports.get(&name).cloned().unwrap_or(name);
            if target != module {
                deps.insert(target);
            }
        }
    }
    // Names that are no module of the crate (macros, re-exported crates).
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for deps in graph.values_mut() {
        deps.retain(|d| modules.contains(d));
    }
    Ok(graph)
}

/// `pub use module::{A, B};` at the crate root: item name → module.
fn root_reexports(lib: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for line in lib.lines() {
        let Some(rest) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let rest = rest.trim_end_matches(';');
        let Some((module, items)) = rest.split_once("::") else {
            continue;
        };
        let items = items.trim_start_matches('{').trim_end_matches('}');
        for item in items.split(',') {
            let item = item.trim();
            if !item.is_empty() && !item.contains("::") {
                map.insert(item.to_owned(), module.to_owned());
            }
        }
    }
    map
}

/// The text without comments and without `#[cfg(test)]` modules at the
/// end of a file (tests may reach anywhere).
fn code_only(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `<name>` in `crate::<name>`, including in `use crate::{a, b}`.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                names.insert(identifier(part.trim()));
            }
        } else {
            names.insert(identifier(rest));
        }
    }
    names.retain(|n| !n.is_empty());
    names
}

fn identifier(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The strongly connected components of more than one module.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let reaches = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_owned()];
        while let Some(node) = stack.pop() {
            for next in graph.get(&node).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|m| (m, reaches(m))).collect();
    let mut found: Vec<Vec<String>> = Vec::new();
    for module in graph.keys() {
        if found.iter().any(|c| c.contains(module)) || !reach[module].contains(module) {
            continue;
        }
        let cycle: Vec<String> = graph
            .keys()
            .filter(|other| reach[module].contains(*other) && reach[*other].contains(module))
            .cloned()
            .collect();
        found.push(cycle);
    }
    found
}

fn rust_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, String> {
    let mut files = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            files.extend(rust_files(&path)?);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Every tracked file whose path `keep` takes, with its text.
fn tracked(root: &Path, keep: impl Fn(&str) -> bool) -> Result<Vec<(String, String)>, String> {
    let output = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run git ls-files: {e}"))?;
    if !output.status.success() {
        return Err("git ls-files failed".to_owned());
    }
    let mut files = Vec::new();
    for path in String::from_utf8_lossy(&output.stdout).split('\0') {
        if path.is_empty() || !keep(path) {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(root.join(path)) {
            files.push((path.to_owned(), text));
        }
    }
    Ok(files)
}

/// Hand-written Rust functions over the limit.
fn function_problems(root: &Path) -> Result<Vec<String>, String> {
    let rust =
        |path: &str| path.ends_with(".rs") && !path.starts_with("aegis-build/tests/fixtures/");
    let files = tracked(root, rust)?;
    let declared: BTreeSet<String> = files
        .iter()
        .flat_map(|(path, text)| test_module_files(path, text))
        .collect();
    let mut problems = Vec::new();
    for (path, text) in files {
        if is_test_file(&path, &declared) || text.lines().take(3).any(|l| l.contains(GENERATED)) {
            continue;
        }
        for long in long_functions(&text, MAX_FUNCTION_LINES) {
            problems.push(format!(
                "{path}:{}: `{}` is {} lines, over the {MAX_FUNCTION_LINES} a hand-written \
                 function may have; split it by what it does",
                long.line, long.name, long.lines
            ));
        }
    }
    Ok(problems)
}

/// xtask's files that name a `target/` path themselves.
fn hand_made_target_paths(root: &Path) -> Result<Vec<String>, String> {
    let xtask = |path: &str| path.starts_with("xtask/src/") && path.ends_with(".rs");
    // In two parts, so that this file does not name it.
    let pattern = ["join(\"", "target"].concat();
    Ok(tracked(root, xtask)?
        .into_iter()
        .filter(|(_, text)| text.contains(&pattern))
        .map(|(path, _)| {
            format!(
                "{path}: joins a target path by hand; ask crate::target_dir() or crate::binary()"
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
        edges
            .iter()
            .map(|(from, to)| {
                let to = to.iter().map(|t| (*t).to_owned()).collect();
                ((*from).to_owned(), to)
            })
            .collect()
    }

    #[test]
    fn finds_each_cycle_once() {
        let g = graph(&[
            ("app", &["auth", "log"]),
            ("auth", &["app"]),
            ("log", &["store"]),
            ("store", &["log"]),
            ("entity", &[]),
        ]);
        assert_eq!(
            cycles(&g),
            [
                vec!["app".to_owned(), "auth".to_owned()],
                vec!["log".to_owned(), "store".to_owned()]
            ]
        );
        assert!(cycles(&graph(&[("a", &["b"]), ("b", &[])])).is_empty());
    }

    #[test]
    fn reads_crate_paths_and_root_reexports() {
        let code = code_only(
            "use crate::{auth::Auth, log};\nuse crate::Aegis; // crate::hub in a comment\n\
             fn f() { crate::store::Db::x(); }\n#[cfg(test)]\nmod tests { use crate::crud; }\n",
        );
        assert_eq!(
            crate_paths(&code).into_iter().collect::<Vec<_>>(),
            ["Aegis", "auth", "log", "store"]
        );
        let map = root_reexports("pub use api::Api;\npub use entity::{CrudEntity, FieldMeta};\n");
        assert_eq!(map["Api"], "api");
        assert_eq!(map["FieldMeta"], "entity");
    }
}
