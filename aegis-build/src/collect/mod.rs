//! Collect: modules.toml and the crate's sources become one list of
//! checked [`Module`]s, each with the declarations of the named types its
//! fields use. Every problem of the run is gathered, with file, line and
//! column.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use aegis_model::decl::TsDecl;
use aegis_model::manifest::{GeneratorSettings, Manifest};
use aegis_model::{Diagnostic, Location, Module};
use syn::{ItemEnum, ItemStruct};

use crate::error::{Error, Problem};

mod merge;
mod resolve;
mod scan;

use merge::{check_many, check_references, check_required_cycles, check_unique, merge};
use resolve::{fill_entity_imports, fill_references, resolve};
use scan::{Scan, crud_module_attr, file_module_path, rust_files_under};

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
    /// Its references' targets, by the referencing field's JSON name.
    pub references: BTreeMap<String, ReferenceTarget>,
    /// The panels its rows show of other rows referencing them.
    pub children: Vec<ChildPanel>,
}

/// Rows of a module that reference a row of another, shown on that row's
/// page: the module's own list, kept to the view `<field>.eq=<id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChildPanel {
    pub title: String,
    /// The referencing module's feature.
    pub feature: String,
    /// The referencing field's JSON name.
    pub field: String,
    pub list_component_class: String,
    /// Its list component's file, from the feature's root (`components/...`).
    pub list_component_file: String,
}

/// The rows a reference points at, as the front end names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReferenceTarget {
    pub feature: String,
    pub id_field: String,
    pub label_field: String,
    /// The target has events, so its labels follow changes live.
    pub live: bool,
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
    let (manifest, settings) = read_manifest(&mut collector)?;
    let rust_files = rust_files(inputs.sources)?;
    let scanned = scan_files(&rust_files, inputs.base, &mut collector)?;

    let modules = merge(&manifest, scanned.declared, &mut collector);
    check_unique(&modules, &mut collector);
    check_references(&modules, &mut collector);
    check_many(&modules, &mut collector);
    check_required_cycles(&modules, &mut collector);
    let units = modules
        .into_iter()
        .map(|(module, file, inline)| {
            let rust_path = (file != MANIFEST).then(|| {
                let mut path = scanned.module_paths.get(&file).cloned().unwrap_or_default();
                path.extend(inline);
                path
            });
            resolve(module, file, rust_path, &scanned.types, &mut collector)
        })
        .collect::<Vec<_>>();
    let units = fill_references(fill_entity_imports(units));

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

/// modules.toml, parsed, and its `[generator]` settings; a problem at its
/// line and column otherwise.
fn read_manifest(collector: &mut Collector) -> Result<(Manifest, GeneratorSettings), Error> {
    let manifest = match toml::from_str::<Manifest>(&collector.files[MANIFEST].text) {
        Ok(manifest) => manifest,
        Err(error) => {
            let span = error.span().unwrap_or(0..0);
            collector.problem(
                MANIFEST,
                &Location::Manifest(span),
                error.message().to_owned(),
            );
            return Err(Error::Invalid(std::mem::take(&mut collector.problems)));
        }
    };
    let Some(settings) = manifest.generator.clone() else {
        collector.problem(
            MANIFEST,
            &Location::Manifest(0..0),
            "modules.toml needs a `[generator]` table with `web_root`",
        );
        return Err(Error::Invalid(std::mem::take(&mut collector.problems)));
    };
    Ok((manifest, settings))
}

/// Every Rust file under the sources, once, with the source it is under.
fn rust_files(sources: &[PathBuf]) -> Result<Vec<(PathBuf, PathBuf)>, Error> {
    let mut rust_files = Vec::new();
    for source in sources {
        rust_files.extend(
            rust_files_under(source)?
                .into_iter()
                .map(|f| (f, source.clone())),
        );
    }
    rust_files.sort();
    rust_files.dedup_by(|a, b| a.0 == b.0);
    Ok(rust_files)
}

/// What the scan of the Rust files found.
struct Scanned {
    /// Structs and enums by name, wherever they are.
    types: HashMap<String, Vec<Found>>,
    /// The `#[crud_module]`s, with their file and inline module path.
    declared: Vec<(Module, usize, Vec<String>)>,
    /// Each file's module path in its crate.
    module_paths: HashMap<usize, Vec<String>>,
}

/// Reads and scans each Rust file; a file that does not parse is a problem.
fn scan_files(
    rust_files: &[(PathBuf, PathBuf)],
    base: &Path,
    collector: &mut Collector,
) -> Result<Scanned, Error> {
    let mut scanned = Scanned {
        types: HashMap::new(),
        declared: Vec::new(),
        module_paths: HashMap::new(),
    };
    for (path, root) in rust_files {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
        let file = collector.files.len();
        collector.files.push(SourceFile {
            display: display_path(path, base),
            text,
        });
        scanned
            .module_paths
            .insert(file, file_module_path(path, root));
        match syn::parse_file(&collector.files[file].text) {
            Ok(parsed) => {
                let mut scan = Scan {
                    file,
                    mod_path: Vec::new(),
                    types: &mut scanned.types,
                    declared: &mut scanned.declared,
                };
                scan.items(&parsed.items, collector);
            }
            Err(error) => collector.problem(file, &Location::span(error.span()), error.to_string()),
        }
    }
    Ok(scanned)
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
