//! Reading the sources: which files, which module path each gives its
//! items, and the `#[crud_module]` structs and named types in them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use aegis_model::{Location, Module};
use proc_macro2::TokenStream;
use syn::{Attribute, Item, ItemStruct, Meta};

use super::{Collector, Found, TypeDef};
use crate::error::Error;

/// `.rs` files under a folder (or the file itself), in a stable order.
pub(super) fn rust_files_under(path: &Path) -> Result<Vec<PathBuf>, Error> {
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

pub(super) fn is_cfg_test(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg")
            && attr
                .parse_args::<syn::Ident>()
                .is_ok_and(|ident| ident == "test")
    })
}

pub(super) fn crud_module_attr(attrs: &[Attribute]) -> Option<&Attribute> {
    attrs.iter().find(|attr| {
        attr.path()
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "crud_module")
    })
}

/// The module path a file gives its items: `src/lib.rs` is the crate
/// root, `src/a/b.rs` and `src/a/b/mod.rs` are `a::b`.
pub(super) fn file_module_path(path: &Path, root: &Path) -> Vec<String> {
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
pub(super) struct Scan<'a> {
    pub(super) file: usize,
    /// Inline `mod` blocks entered so far.
    pub(super) mod_path: Vec<String>,
    pub(super) types: &'a mut HashMap<String, Vec<Found>>,
    pub(super) declared: &'a mut Vec<(Module, usize, Vec<String>)>,
}

impl Scan<'_> {
    pub(super) fn items(&mut self, items: &[Item], collector: &mut Collector) {
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
