//! The declarations of the named types a module's fields use, and the
//! other modules' entities it imports.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aegis_model::decl::{TsDecl, enum_decl, struct_decl};
use aegis_model::{Location, Module, Origin, TsType};

use super::{ChildPanel, Collector, Found, ReferenceTarget, TypeDef, Unit, crud_module_attr};

/// Finds the declarations of the named types a module's fields use.
pub(super) fn resolve(
    mut module: Module,
    file: usize,
    rust_path: Option<Vec<String>>,
    types: &HashMap<String, Vec<Found>>,
    collector: &mut Collector,
) -> Unit {
    let mut decls: BTreeMap<String, TsDecl> = BTreeMap::new();
    let mut queue: Vec<Use> = Vec::new();
    for field in module.fields.iter().filter(|f| !f.is_transient()) {
        for name in field.ts.named_references() {
            queue.push(Use {
                name: name.to_owned(),
                file,
                at: field.ty_location.clone(),
                user: format!("field `{}`", field.ident),
            });
        }
    }
    let generated: Vec<String> = module.names.generated_type_names();
    while let Some(used) = queue.pop() {
        if decls.contains_key(&used.name) || used.name == module.rust_name {
            continue;
        }
        let found = types.get(&used.name).map(Vec::as_slice).unwrap_or_default();
        let entity_named = found
            .iter()
            .any(|f| matches!(&f.def, TypeDef::Struct(s) if crud_module_attr(&s.attrs).is_some()));
        if entity_named {
            // Another module's entity: imported from its feature, not redeclared.
            continue;
        }
        match found {
            [] => collector.problem(
                used.file,
                &used.at,
                format!(
                    "cannot find a struct or enum named `{}` (used by {}) in the scanned \
                     sources; add its file to the sources, or give the field a \
                     `#[crud(ts_type = \"...\")]`",
                    used.name, used.user
                ),
            ),
            [one]
                if aegis_model::reserved::is_taken_type_name(&used.name)
                    || generated.contains(&used.name) =>
            {
                collector.problem(
                    used.file,
                    &used.at,
                    format!(
                        "type `{}` (used by {}) would shadow a name the generated TypeScript \
                         already uses; rename it, or give the field a \
                         `#[crud(ts_type = \"...\")]`",
                        used.name, used.user
                    ),
                );
            }
            [one] => declare(one, used.name, &mut decls, &mut queue, collector),
            several => declared_several_times(&used, several, collector),
        }
    }
    refer_to_itself_by_its_typescript_name(&mut module);
    Unit {
        references: BTreeMap::new(),
        children: Vec::new(),
        module,
        rust_path,
        decls,
        entity_imports: BTreeSet::new(),
    }
}

/// A type a module's TypeScript names: where, and by whom.
struct Use {
    name: String,
    file: usize,
    at: Location,
    /// Who uses it, as messages say it (``field `x` ``, `` `Other` ``).
    user: String,
}

/// Declares `found` as `name`, and queues the types its declaration names.
fn declare(
    found: &Found,
    name: String,
    decls: &mut BTreeMap<String, TsDecl>,
    queue: &mut Vec<Use>,
    collector: &mut Collector,
) {
    let (result, ident) = match &found.def {
        TypeDef::Struct(item) => (struct_decl(item), &item.ident),
        TypeDef::Enum(item) => (enum_decl(item), &item.ident),
    };
    match result {
        Ok(decl) => {
            for next in decl.named_references() {
                queue.push(Use {
                    name: next.to_owned(),
                    file: found.file,
                    at: Location::of(ident),
                    user: format!("`{name}`"),
                });
            }
            decls.insert(name, decl);
        }
        Err(diagnostics) => collector.diagnostics(found.file, diagnostics),
    }
}

/// A name declared by several types: which is meant cannot be told.
fn declared_several_times(used: &Use, several: &[Found], collector: &mut Collector) {
    let places: Vec<String> = several
        .iter()
        .map(|f| {
            let ident = match &f.def {
                TypeDef::Struct(item) => &item.ident,
                TypeDef::Enum(item) => &item.ident,
            };
            collector.place(f.file, &Location::of(ident))
        })
        .collect();
    collector.problem(
        used.file,
        &used.at,
        format!(
            "`{}` (used by {}) is declared {} times, at {}; rename one, or give the field a \
             `#[crud(ts_type = \"...\")]`",
            used.name,
            used.user,
            several.len(),
            places.join(", ")
        ),
    );
}

/// The entity refers to itself by its TypeScript name.
fn refer_to_itself_by_its_typescript_name(module: &mut Module) {
    let rust_name = module.rust_name.clone();
    let entity_type = module.names.entity_type();
    if rust_name != entity_type {
        let rename = |name: &str| (name == rust_name).then(|| entity_type.clone());
        for field in &mut module.fields {
            field.ts = field.ts.rename_named(&rename);
        }
    }
}

/// Fields naming another module's entity import it from that feature, by
/// its TypeScript name.
pub(super) fn fill_entity_imports(mut units: Vec<Unit>) -> Vec<Unit> {
    let entities: HashMap<String, (String, String)> = units
        .iter()
        .filter(|u| u.module.origin == Origin::Attribute)
        .map(|u| {
            (
                u.module.rust_name.clone(),
                (u.module.names.entity_type(), u.module.names.feature()),
            )
        })
        .collect();
    for unit in &mut units {
        let own = unit.module.rust_name.clone();
        let rename = |name: &str| {
            entities
                .get(name)
                .filter(|_| name != own)
                .map(|(ts, _)| ts.clone())
        };
        let mut imports = BTreeSet::new();
        let mut note = |ty: &TsType| {
            for name in ty.named_references() {
                if name != own
                    && let Some((ts, feature)) = entities.get(name)
                {
                    imports.insert((ts.clone(), feature.clone()));
                }
            }
        };
        for field in &unit.module.fields {
            note(&field.ts);
        }
        for decl in unit.decls.values() {
            decl.types().into_iter().for_each(&mut note);
        }
        for field in &mut unit.module.fields {
            field.ts = field.ts.rename_named(&rename);
        }
        for decl in unit.decls.values_mut() {
            *decl = decl.rename_named(&rename);
        }
        unit.entity_imports = imports;
    }
    units
}

/// Each reference's target, as the front end names it.
pub(super) fn fill_references(mut units: Vec<Unit>) -> Vec<Unit> {
    let targets: HashMap<String, ReferenceTarget> = units
        .iter()
        .map(|u| {
            let module = &u.module;
            let target = ReferenceTarget {
                feature: module.names.feature(),
                id_field: module.id_field().wire_name.clone(),
                label_field: module.label_field().wire_name.clone(),
                live: module.with_events,
            };
            (module.names.module().to_owned(), target)
        })
        .collect();
    for unit in &mut units {
        unit.references = unit
            .module
            .fields
            .iter()
            .filter_map(|f| {
                let module = match (&f.references, &f.many) {
                    (Some(reference), _) => &reference.module,
                    (None, Some(many)) => &many.module,
                    (None, None) => return None,
                };
                let target = targets.get(module)?;
                Some((f.wire_name.clone(), target.clone()))
            })
            .collect();
    }
    let children: Vec<Vec<ChildPanel>> = units
        .iter()
        .map(|parent| child_panels(parent.module.names.module(), &units))
        .collect();
    for (unit, children) in units.iter_mut().zip(children) {
        unit.children = children;
    }
    units
}

/// The panels a row of `parent` shows: per field of any module that
/// references it and that the form edits (so a row made in the panel can
/// reference the parent), unless `children = false`.
/// Titled by `children_label`, else the module's plural (with the field's
/// label when one module references `parent` through several fields).
fn child_panels(parent: &str, units: &[Unit]) -> Vec<ChildPanel> {
    let mut panels = Vec::new();
    for unit in units {
        let module = &unit.module;
        let fields: Vec<(&aegis_model::Field, &aegis_model::Reference)> = module
            .input_fields()
            .filter_map(|f| Some((f, f.references.as_ref()?)))
            .filter(|(_, r)| r.module == parent && r.children)
            .collect();
        let plural = module.names.title_plural();
        for (field, reference) in &fields {
            let title = match &reference.children_label {
                Some(label) => label.clone(),
                None if fields.len() > 1 => format!("{plural} ({})", field.label),
                None => plural.clone(),
            };
            panels.push(ChildPanel {
                title,
                feature: module.names.feature(),
                field: field.wire_name.clone(),
                list_component_class: module.names.list_component_class(),
                list_component_file: module.names.files().list_component,
            });
        }
    }
    panels
}
