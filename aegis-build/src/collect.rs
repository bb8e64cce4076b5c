//! Collect: modules.toml and the crate's sources become one list of
//! checked [`Module`]s, each with the declarations of the named types its
//! fields use. Every problem of the run is gathered, with file, line and
//! column.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use aegis_model::decl::{TsDecl, enum_decl, struct_decl};
use aegis_model::manifest::{GeneratorSettings, Manifest, ModuleEntry};
use aegis_model::{Diagnostic, Location, Module, Origin, TsType};
use proc_macro2::TokenStream;
use syn::{Attribute, Item, ItemEnum, ItemStruct, Meta};
use toml::Spanned;

use crate::error::{Error, Problem};

/// A file read during collection, kept to turn locations into positions.
#[derive(Debug)]
pub(crate) struct SourceFile {
    /// As shown in messages: relative to the crate when possible.
    pub display: PathBuf,
    pub text: String,
}

/// Everything rendering needs.
#[derive(Debug)]
pub(crate) struct Collected {
    pub settings: GeneratorSettings,
    /// Sorted by module name.
    pub modules: Vec<Unit>,
    /// Every file read, for `cargo:rerun-if-changed`.
    pub inputs: Vec<PathBuf>,
}

/// One module and what its generated files need besides the module itself.
#[derive(Debug)]
pub(crate) struct Unit {
    pub module: Module,
    /// The Rust module path of the struct inside its crate (empty for the
    /// crate root); `None` for a modules.toml module, which lives in the
    /// generated file.
    pub rust_path: Option<Vec<String>>,
    /// Declarations of the named types its fields use, by name.
    pub decls: BTreeMap<String, TsDecl>,
    /// Other modules' entity types it uses: (TypeScript type, feature).
    pub entity_imports: BTreeSet<(String, String)>,
}

/// A struct or enum found in the sources, by name.
#[derive(Debug)]
enum TypeDef {
    Struct(ItemStruct),
    Enum(ItemEnum),
}

#[derive(Debug)]
struct Found {
    def: TypeDef,
    file: usize,
}

struct Collector {
    files: Vec<SourceFile>,
    problems: Vec<Problem>,
}

impl Collector {
    fn position(&self, file: usize, location: &Location) -> (usize, usize) {
        match location {
            Location::Tokens { start, .. } => {
                let at = start.start();
                (at.line, at.column + 1)
            }
            Location::Manifest(range) => line_column(&self.files[file].text, range.start),
        }
    }

    fn problem(&mut self, file: usize, location: &Location, message: impl Into<String>) {
        let (line, column) = self.position(file, location);
        self.problems.push(Problem {
            file: self.files[file].display.clone(),
            line,
            column,
            message: message.into(),
        });
    }

    fn diagnostics(&mut self, file: usize, diagnostics: Vec<Diagnostic>) {
        for diagnostic in diagnostics {
            self.problem(file, &diagnostic.location, diagnostic.message);
        }
    }

    /// "src/lib.rs:3:15", for messages that name a second place.
    fn place(&self, file: usize, location: &Location) -> String {
        let (line, column) = self.position(file, location);
        format!("{}:{line}:{column}", self.files[file].display.display())
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn display_path(path: &Path, base: &Path) -> PathBuf {
    path.strip_prefix(base).unwrap_or(path).to_path_buf()
}

/// The paths to collect from.
#[derive(Debug)]
pub(crate) struct Inputs<'a> {
    pub manifest: &'a Path,
    /// Source files or folders of `.rs` files.
    pub sources: &'a [PathBuf],
    /// Paths in messages are shown relative to this.
    pub base: &'a Path,
}

const MANIFEST: usize = 0;

pub(crate) fn collect(inputs: &Inputs<'_>) -> Result<Collected, Error> {
    let manifest_text = std::fs::read_to_string(inputs.manifest)
        .map_err(|e| Error::io("read", inputs.manifest, e))?;
    let mut collector = Collector {
        files: vec![SourceFile {
            display: display_path(inputs.manifest, inputs.base),
            text: manifest_text,
        }],
        problems: Vec::new(),
    };
    let manifest = match toml::from_str::<Manifest>(&collector.files[MANIFEST].text) {
        Ok(manifest) => manifest,
        Err(error) => {
            let span = error.span().unwrap_or(0..0);
            collector.problem(
                MANIFEST,
                &Location::Manifest(span),
                error.message().to_owned(),
            );
            return Err(Error::Invalid(collector.problems));
        }
    };
    let Some(settings) = manifest.generator.clone() else {
        collector.problem(
            MANIFEST,
            &Location::Manifest(0..0),
            "modules.toml needs a `[generator]` table with `web_root`",
        );
        return Err(Error::Invalid(collector.problems));
    };

    let mut rust_files = Vec::new();
    for source in inputs.sources {
        rust_files.extend(
            rust_files_under(source)?
                .into_iter()
                .map(|f| (f, source.clone())),
        );
    }
    rust_files.sort();
    rust_files.dedup_by(|a, b| a.0 == b.0);

    let mut types: HashMap<String, Vec<Found>> = HashMap::new();
    let mut declared: Vec<(Module, usize, Vec<String>)> = Vec::new();
    let mut module_paths: HashMap<usize, Vec<String>> = HashMap::new();
    for (path, root) in &rust_files {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
        let file = collector.files.len();
        collector.files.push(SourceFile {
            display: display_path(path, inputs.base),
            text,
        });
        module_paths.insert(file, file_module_path(path, root));
        match syn::parse_file(&collector.files[file].text) {
            Ok(parsed) => {
                let mut scan = Scan {
                    file,
                    mod_path: Vec::new(),
                    types: &mut types,
                    declared: &mut declared,
                };
                scan.items(&parsed.items, &mut collector);
            }
            Err(error) => collector.problem(file, &Location::span(error.span()), error.to_string()),
        }
    }

    let modules = merge(&manifest, declared, &mut collector);
    check_unique(&modules, &mut collector);
    let units = modules
        .into_iter()
        .map(|(module, file, inline)| {
            let rust_path = (file != MANIFEST).then(|| {
                let mut path = module_paths.get(&file).cloned().unwrap_or_default();
                path.extend(inline);
                path
            });
            resolve(module, file, rust_path, &types, &mut collector)
        })
        .collect::<Vec<_>>();
    let units = fill_entity_imports(units);

    if !collector.problems.is_empty() {
        return Err(Error::Invalid(collector.problems));
    }
    let mut inputs_read = vec![inputs.manifest.to_path_buf()];
    inputs_read.extend(rust_files.into_iter().map(|(file, _)| file));
    Ok(Collected {
        settings,
        modules: units,
        inputs: inputs_read,
    })
}

/// `.rs` files under a folder (or the file itself), in a stable order.
fn rust_files_under(path: &Path) -> Result<Vec<PathBuf>, Error> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !path.is_dir() {
        return Err(Error::Config(format!(
            "source path `{}` is neither a file nor a folder",
            path.display()
        )));
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(path).to_path_buf();
            Error::io("list", path, e.into())
        })?;
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == "rs") {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}

fn is_cfg_test(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg")
            && attr
                .parse_args::<syn::Ident>()
                .is_ok_and(|ident| ident == "test")
    })
}

fn crud_module_attr(attrs: &[Attribute]) -> Option<&Attribute> {
    attrs.iter().find(|attr| {
        attr.path()
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "crud_module")
    })
}

/// The module path a file gives its items: `src/lib.rs` is the crate
/// root, `src/a/b.rs` and `src/a/b/mod.rs` are `a::b`.
fn file_module_path(path: &Path, root: &Path) -> Vec<String> {
    let Ok(relative) = path.strip_prefix(root) else {
        return Vec::new();
    };
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// Walks one file's items, inline modules included.
struct Scan<'a> {
    file: usize,
    /// Inline `mod` blocks entered so far.
    mod_path: Vec<String>,
    types: &'a mut HashMap<String, Vec<Found>>,
    declared: &'a mut Vec<(Module, usize, Vec<String>)>,
}

impl Scan<'_> {
    fn items(&mut self, items: &[Item], collector: &mut Collector) {
        for item in items {
            match item {
                Item::Struct(item) if !is_cfg_test(&item.attrs) => {
                    if let Some(attr) = crud_module_attr(&item.attrs) {
                        self.crud_module(item, attr, collector);
                    }
                    self.types
                        .entry(item.ident.to_string())
                        .or_default()
                        .push(Found {
                            def: TypeDef::Struct(item.clone()),
                            file: self.file,
                        });
                }
                Item::Enum(item) if !is_cfg_test(&item.attrs) => {
                    self.types
                        .entry(item.ident.to_string())
                        .or_default()
                        .push(Found {
                            def: TypeDef::Enum(item.clone()),
                            file: self.file,
                        });
                }
                Item::Mod(module) if !is_cfg_test(&module.attrs) => {
                    if let Some((_, items)) = &module.content {
                        self.mod_path.push(module.ident.to_string());
                        self.items(items, collector);
                        self.mod_path.pop();
                    }
                }
                _ => {}
            }
        }
    }

    fn crud_module(&mut self, item: &ItemStruct, attr: &Attribute, collector: &mut Collector) {
        let args = match &attr.meta {
            Meta::Path(_) => TokenStream::new(),
            Meta::List(list) => list.tokens.clone(),
            Meta::NameValue(value) => {
                collector.problem(
                    self.file,
                    &Location::of(value),
                    "write `#[crud_module(...)]`, not `#[crud_module = ...]`",
                );
                return;
            }
        };
        match Module::from_derive_input(args, &item.clone().into()) {
            Ok(module) => self
                .declared
                .push((module, self.file, self.mod_path.clone())),
            Err(diagnostics) => collector.diagnostics(self.file, diagnostics),
        }
    }
}

/// Modules from the sources and from modules.toml, merged (a flag set in
/// either place is on; a contradiction names both places), each with the
/// file it was declared in.
fn merge(
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
fn merge_settings(
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
fn check_unique(modules: &[(Module, usize, Vec<String>)], collector: &mut Collector) {
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

/// Finds the declarations of the named types a module's fields use.
fn resolve(
    mut module: Module,
    file: usize,
    rust_path: Option<Vec<String>>,
    types: &HashMap<String, Vec<Found>>,
    collector: &mut Collector,
) -> Unit {
    let mut decls: BTreeMap<String, TsDecl> = BTreeMap::new();
    // (name, where it is used from: file and location, who uses it)
    let mut queue: Vec<(String, usize, Location, String)> = Vec::new();
    for field in module.fields.iter().filter(|f| !f.is_transient()) {
        for name in field.ts.named_references() {
            queue.push((
                name.to_owned(),
                file,
                field.ty_location.clone(),
                format!("field `{}`", field.ident),
            ));
        }
    }
    let generated: Vec<String> = module.names.generated_type_names();
    while let Some((name, from_file, at, user)) = queue.pop() {
        if decls.contains_key(&name) || name == module.rust_name {
            continue;
        }
        let found = types.get(&name).map(Vec::as_slice).unwrap_or_default();
        let entity_named = found
            .iter()
            .any(|f| matches!(&f.def, TypeDef::Struct(s) if crud_module_attr(&s.attrs).is_some()));
        if entity_named {
            // Another module's entity: imported from its feature, not redeclared.
            continue;
        }
        match found {
            [] => collector.problem(
                from_file,
                &at,
                format!(
                    "cannot find a struct or enum named `{name}` (used by {user}) in the scanned \
                     sources; add its file to the sources, or give the field a \
                     `#[crud(ts_type = \"...\")]`"
                ),
            ),
            [one] => {
                if aegis_model::reserved::is_taken_type_name(&name) || generated.contains(&name) {
                    collector.problem(
                        from_file,
                        &at,
                        format!(
                            "type `{name}` (used by {user}) would shadow a name the generated \
                             TypeScript already uses; rename it, or give the field a \
                             `#[crud(ts_type = \"...\")]`"
                        ),
                    );
                    continue;
                }
                let (result, ident) = match &one.def {
                    TypeDef::Struct(item) => (struct_decl(item), &item.ident),
                    TypeDef::Enum(item) => (enum_decl(item), &item.ident),
                };
                match result {
                    Ok(decl) => {
                        for next in decl.named_references() {
                            queue.push((
                                next.to_owned(),
                                one.file,
                                Location::of(ident),
                                format!("`{name}`"),
                            ));
                        }
                        decls.insert(name, decl);
                    }
                    Err(diagnostics) => collector.diagnostics(one.file, diagnostics),
                }
            }
            several => {
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
                    from_file,
                    &at,
                    format!(
                        "`{name}` (used by {user}) is declared {} times, at {}; rename one, or \
                         give the field a `#[crud(ts_type = \"...\")]`",
                        several.len(),
                        places.join(", ")
                    ),
                );
            }
        }
    }
    // The entity refers to itself by its TypeScript name.
    let rust_name = module.rust_name.clone();
    let entity_type = module.names.entity_type();
    if rust_name != entity_type {
        let rename = |name: &str| (name == rust_name).then(|| entity_type.clone());
        for field in &mut module.fields {
            field.ts = field.ts.rename_named(&rename);
        }
    }
    Unit {
        module,
        rust_path,
        decls,
        entity_imports: BTreeSet::new(),
    }
}

/// Fields naming another module's entity import it from that feature, by
/// its TypeScript name.
fn fill_entity_imports(mut units: Vec<Unit>) -> Vec<Unit> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_paths_follow_files() {
        let root = Path::new("src");
        assert!(file_module_path(Path::new("src/lib.rs"), root).is_empty());
        assert_eq!(
            file_module_path(Path::new("src/models.rs"), root),
            ["models"]
        );
        assert_eq!(
            file_module_path(Path::new("src/models/mod.rs"), root),
            ["models"]
        );
        assert_eq!(
            file_module_path(Path::new("src/models/budget.rs"), root),
            ["models", "budget"]
        );
    }

    #[test]
    fn positions_count_characters() {
        let text = "a\nbé = 1\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 2), (2, 1));
        // 'é' is two bytes, one column.
        assert_eq!(line_column(text, 5), (2, 3));
    }
}
