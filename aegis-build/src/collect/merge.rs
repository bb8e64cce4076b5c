//! One module from the sources and modules.toml, and the names no two
//! modules may share.

use std::collections::HashMap;

use aegis_model::manifest::{Manifest, ModuleEntry};
use aegis_model::{Location, Module};
use toml::Spanned;

use super::{Collector, MANIFEST};

/// Modules from the sources and from modules.toml, merged (a flag set in
/// either place is on; a contradiction names both places), each with the
/// file it was declared in.
pub(super) fn merge(
    manifest: &Manifest,
    declared: Vec<(Module, usize, Vec<String>)>,
    collector: &mut Collector,
) -> Vec<(Module, usize, Vec<String>)> {
    let mut modules = declared;
    for (name, entry) in &manifest.modules {
        if entry.get_ref().declares_fields() {
            match Module::from_manifest_entry(name, entry) {
                Ok(module) => {
                    if let Some((rust, file, _)) = modules
                        .iter()
                        .find(|(m, _, _)| m.names.module() == module.names.module())
                    {
                        let elsewhere = collector.place(*file, &rust.location);
                        collector.problem(
                            MANIFEST,
                            &module.location,
                            format!(
                                "module `{name}` is declared twice: here with `fields`, and by \
                                 `#[crud_module]` on `{}` at {elsewhere}; keep one",
                                rust.rust_name
                            ),
                        );
                    } else {
                        modules.push((module, MANIFEST, Vec::new()));
                    }
                }
                Err(diagnostics) => collector.diagnostics(MANIFEST, diagnostics),
            }
            continue;
        }
        let Some((module, file, _)) = modules.iter_mut().find(|(m, _, _)| {
            aegis_model::naming::normalize(name).is_ok_and(|n| n == m.names.module())
        }) else {
            collector.problem(
                MANIFEST,
                &Location::Manifest(entry.span()),
                format!(
                    "no `#[crud_module]` struct declares module `{name}`; declare it in Rust, or \
                     give it `fields` to declare it here"
                ),
            );
            continue;
        };
        let file = *file;
        merge_settings(name, entry, module, file, collector);
    }
    modules.sort_by(|(a, _, _), (b, _, _)| a.names.module().cmp(b.names.module()));
    modules
}

/// Settings from modules.toml for a module declared in Rust: a flag set in
/// either place is on; a flag the attribute sets and the manifest turns
/// off, or a different singular, is a contradiction.
pub(super) fn merge_settings(
    name: &str,
    entry: &Spanned<ModuleEntry>,
    module: &mut Module,
    file: usize,
    collector: &mut Collector,
) {
    let entry = entry.get_ref();
    let attribute_place = collector.place(file, &module.location);
    for (flag, value, current) in [
        ("with_events", &entry.with_events, &mut module.with_events),
        ("with_import", &entry.with_import, &mut module.with_import),
    ] {
        let Some(value) = value else { continue };
        if *value.get_ref() {
            *current = true;
        } else if *current {
            collector.problem(
                MANIFEST,
                &Location::Manifest(value.span()),
                format!(
                    "modules.toml sets `{flag} = false` for `{name}`, but `#[crud_module({flag})]` \
                     on `{}` at {attribute_place} turns it on; remove one",
                    module.rust_name
                ),
            );
        }
    }
    // A switch modules.toml turns off is off (the history's too).
    for (value, current) in [
        (
            &entry.optimistic_updates,
            &mut module.client.optimistic_updates,
        ),
        (
            &entry.conflict_detection,
            &mut module.client.conflict_detection,
        ),
        (&entry.cache, &mut module.client.cache),
        (&entry.history, &mut module.with_history),
    ] {
        if value.as_ref().is_some_and(|on| !*on.get_ref()) {
            *current = false;
        }
    }
    if let Some(singular) = &entry.singular {
        let wanted = aegis_model::naming::normalize(singular.get_ref());
        if wanted.as_deref().ok() != Some(module.names.singular_snake()) {
            collector.problem(
                MANIFEST,
                &Location::Manifest(singular.span()),
                format!(
                    "modules.toml sets `singular = \"{}\"` for `{name}`, but `{}` at \
                     {attribute_place} gives the singular `{}`; set it in one place",
                    singular.get_ref(),
                    module.rust_name,
                    module.names.singular_snake()
                ),
            );
        }
    }
    if module.with_events && module.version.is_none() {
        let at = entry
            .with_events
            .as_ref()
            .map_or(0..0, |value| value.span());
        collector.problem(
            MANIFEST,
            &Location::Manifest(at),
            format!(
                "`with_events` needs a version field for conflict detection, add `version: i64` \
                 to `{}` at {attribute_place}",
                module.rust_name
            ),
        );
    }
}

/// Two modules may not share a feature or a generated type name. Each
/// module is reported once, for the first name it shares.
pub(super) fn check_unique(modules: &[(Module, usize, Vec<String>)], collector: &mut Collector) {
    let mut owners: HashMap<String, (usize, usize)> = HashMap::new();
    for (index, (module, file, _)) in modules.iter().enumerate() {
        let mut names = vec![format!("the feature `{}`", module.names.feature())];
        names.extend(
            module
                .names
                .generated_type_names()
                .into_iter()
                .map(|name| format!("the type `{name}`")),
        );
        let clash = names
            .iter()
            .find_map(|name| owners.get(name).map(|owner| (name, *owner)));
        if let Some((name, (first, first_file))) = clash {
            let other = &modules[first].0;
            let elsewhere = collector.place(first_file, &other.location);
            collector.problem(
                *file,
                &module.location,
                format!(
                    "modules `{}` (`{}`) and `{}` (`{}`, at {elsewhere}) both generate {name}; \
                     rename one with `name = \"...\"` or `singular = \"...\"`",
                    module.names.module(),
                    module.rust_name,
                    other.names.module(),
                    other.rust_name,
                ),
            );
            continue;
        }
        for name in names {
            owners.insert(name, (index, *file));
        }
    }
}

/// Every reference names a module of the crate, and holds its id's type.
pub(super) fn check_references(
    modules: &[(Module, usize, Vec<String>)],
    collector: &mut Collector,
) {
    for (module, file, _) in modules {
        for field in &module.fields {
            let Some(reference) = &field.references else {
                continue;
            };
            let Some((target, target_file, _)) = modules
                .iter()
                .find(|(m, _, _)| m.names.module() == reference.module)
            else {
                let known: Vec<&str> = modules.iter().map(|(m, _, _)| m.names.module()).collect();
                let hint =
                    match aegis_model::attr::suggest(&reference.module, known.iter().copied()) {
                        Some(close) => format!("; did you mean `{close}`?"),
                        None => format!("; the modules are {}", known.join(", ")),
                    };
                collector.problem(
                    *file,
                    &field.location,
                    format!(
                        "`{}` references `{}`, which is no module{hint}",
                        field.ident, reference.module
                    ),
                );
                continue;
            };
            let id = target.id_field();
            let same = id.storage == field.storage && id.format == field.format;
            if !same {
                let place = collector.place(*target_file, &id.location);
                collector.problem(
                    *file,
                    &field.location,
                    format!(
                        "`{}` is `{}` but the id of `{}` (`{}`, at {place}) is `{}`; a reference \
                         holds the id's type",
                        field.ident,
                        aegis_model::mapping::type_to_string(&field.rust_ty),
                        reference.module,
                        id.ident,
                        aegis_model::mapping::type_to_string(&id.rust_ty),
                    ),
                );
            }
        }
    }
}

/// Every many-to-many field links a module of the crate, lists its id's
/// type, and does not take a module's name for its link table; a module
/// with events links only modules with events (its rows show the linked
/// rows' labels, which follow them live).
pub(super) fn check_many(modules: &[(Module, usize, Vec<String>)], collector: &mut Collector) {
    let known: Vec<&str> = modules.iter().map(|(m, _, _)| m.names.module()).collect();
    let mut tables: Vec<(String, String)> = Vec::new();
    for (module, file, _) in modules {
        for field in &module.fields {
            let Some(many) = &field.many else {
                continue;
            };
            let mut problem = |message: String| collector.problem(*file, &field.location, message);
            let Some((target, _, _)) = modules
                .iter()
                .find(|(m, _, _)| m.names.module() == many.module)
            else {
                let hint = match aegis_model::attr::suggest(&many.module, known.iter().copied()) {
                    Some(close) => format!("; did you mean `{close}`?"),
                    None => format!("; the modules are {}", known.join(", ")),
                };
                problem(format!(
                    "`{}` links `{}`, which is no module{hint}",
                    field.ident, many.module
                ));
                continue;
            };
            let id = target.id_field();
            if id.storage != many.ids || id.format != many.format {
                problem(format!(
                    "`{}` is `{}` but the id of `{}` (`{}`) is `{}`; a many-to-many field lists \
                     the linked module's ids",
                    field.ident,
                    aegis_model::mapping::type_to_string(&field.rust_ty),
                    many.module,
                    id.ident,
                    aegis_model::mapping::type_to_string(&id.rust_ty),
                ));
            }
            if module.with_events && !target.with_events {
                problem(format!(
                    "`{}` links `{}`, which has no events, from `{}`, which has: its rows' links \
                     could not follow the linked rows live; add `with_events` to `{}`",
                    field.ident,
                    many.module,
                    module.names.module(),
                    many.module
                ));
            }
            let table = format!("{}_{}", module.names.module(), field.ident);
            let owner = format!("{}.{}", module.names.module(), field.ident);
            if let Some(problem_text) = link_table_problem(&table, &known, &tables) {
                problem(format!(
                    "`{}` keeps its links in the table `{table}`, {problem_text}; rename the \
                     field or the module",
                    field.ident
                ));
            }
            tables.push((table, owner));
        }
    }
}

/// What is wrong with `table` as a link table's name, if anything: a
/// module's table, another link table (`(table, owner)` so far), a name of
/// Aegis's own tables, or one that PostgreSQL would cut short (63 bytes,
/// its index's name with its `aegis_links_` prefix too).
fn link_table_problem(
    table: &str,
    modules: &[&str],
    tables: &[(String, String)],
) -> Option<String> {
    if modules.contains(&table) {
        return Some("which is a module's".to_owned());
    }
    if let Some((_, owner)) = tables.iter().find(|(other, _)| other == table) {
        return Some(format!("which `{owner}` keeps its links in too"));
    }
    if table.starts_with("aegis_") {
        return Some("and names starting `aegis_` are Aegis's own tables'".to_owned());
    }
    if "aegis_links_".len() + table.len() > 63 {
        return Some(
            "whose name (with its index's `aegis_links_` prefix) is longer than the 63 bytes \
             PostgreSQL keeps"
                .to_owned(),
        );
    }
    None
}

/// Required references (not an `Option`) that lead back to their own
/// module: no first row could ever be stored.
pub(super) fn check_required_cycles(
    modules: &[(Module, usize, Vec<String>)],
    collector: &mut Collector,
) {
    let required = |module: &Module| -> Vec<String> {
        module
            .fields
            .iter()
            .filter(|f| !f.nullable)
            .filter_map(|f| f.references.as_ref().map(|r| r.module.clone()))
            .collect()
    };
    for (module, file, _) in modules {
        let start = module.names.module();
        let mut seen: Vec<String> = Vec::new();
        let mut next: Vec<String> = required(module);
        let mut cycle = false;
        while let Some(target) = next.pop() {
            if target == start {
                cycle = true;
                break;
            }
            if seen.contains(&target) {
                continue;
            }
            if let Some((other, _, _)) = modules.iter().find(|(m, _, _)| m.names.module() == target)
            {
                next.extend(required(other));
            }
            seen.push(target);
        }
        if !cycle {
            continue;
        }
        let field = module
            .fields
            .iter()
            .find(|f| !f.nullable && f.references.is_some())
            .expect("a cycle starts at a required reference");
        collector.problem(
            *file,
            &field.location,
            format!(
                "`{}` is required and its references lead back to `{start}`, so no first row \
                 could be stored; make one reference of the cycle an `Option`",
                field.ident
            ),
        );
    }
}
