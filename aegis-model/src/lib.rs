//! The one definition of an Aegis module.
//!
//! `#[crud_module]` (in aegis-macros) and the build-time generator
//! (aegis-build) both read modules through this crate, so they agree on the
//! grammar, the names and the TypeScript types:
//!
//! - [`attr`]: the `#[crud_module(...)]` and `#[crud(...)]` grammar;
//! - [`manifest`]: the modules.toml schema;
//! - [`Module`] and [`Field`]: the IR both declarations lower to;
//! - [`naming`]: every generated name, decided once;
//! - [`rules`]: validation rules, checked against the field's type;
//! - [`mapping`] and [`decl`]: Rust types to TypeScript, as serde writes them.
//!
//! Nothing here does I/O.

pub mod attr;
pub mod decl;
pub mod diagnostic;
pub mod file;
mod inflect;
pub mod ir;
mod lower;
pub mod manifest;
pub mod mapping;
pub mod naming;
pub mod relation;
pub mod reserved;
pub mod rules;
pub mod serde_attr;
pub mod stamp;
pub mod ts;

pub use diagnostic::{Diagnostic, Diagnostics, Location};
pub use file::FileSpec;
pub use ir::{
    ClientSwitches, Field, FieldRole, Module, Origin, StorageKind, StoredDefault, ValueFormat,
};
pub use naming::Names;
pub use relation::{Many, OnDelete, Reference};
pub use rules::{RuleValue, Rules};
pub use stamp::Stamp;
pub use ts::{TsProperty, TsType};

/// A path as written, segments joined by `::`.
pub(crate) fn path_to_string(path: &syn::Path) -> String {
    path.segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}
