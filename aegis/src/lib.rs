//! Runtime for Aegis back ends.
//!
//! Annotate a domain struct with [`crud_module`] and it implements
//! [`CrudEntity`]: the module's names, flags and fields, its id and version,
//! and the create and update inputs the REST layer reads.
//!
//! ```
//! use aegis::{crud_module, CrudEntity};
//! use serde::{Deserialize, Serialize};
//!
//! #[crud_module(with_events, with_import)]
//! #[derive(Serialize, Deserialize, Clone, Debug)]
//! pub struct Budget {
//!     pub id: i64,
//!     pub name: String,
//!     pub amount: f64,
//!     pub fiscal_year: i32,
//!     pub version: i64,
//! }
//!
//! assert_eq!(Budget::meta().feature, "budgets");
//! let budget = Budget::from_create(7, BudgetCreate { name: "Q1".into(), amount: 10.0, fiscal_year: 2026 });
//! assert_eq!((budget.id, budget.version), (7, 1));
//! ```

pub mod access;
mod api;
mod app;
pub mod auth;
mod bulk;
mod creates;
pub mod crud;
mod entity;
pub mod error;
pub mod events;
mod file_routes;
pub mod files;
mod formulas;
mod history;
mod history_routes;
pub mod hooks;
pub mod hub;
mod import;
#[doc(hidden)]
pub mod input;
mod jobs;
mod lifecycle;
mod limits;
mod links;
pub mod log;
pub mod metrics;
mod notice;
mod query;
mod reads;
mod relations;
mod relay;
pub mod retention;
mod rows;
pub mod rules;
pub mod schema;
#[cfg(feature = "server")]
pub mod server;
mod stamp;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod trace;

pub use aegis_macros::crud_module;
/// The wire protocol v1 and REST bodies.
pub use aegis_protocol as protocol;
/// A file a row holds: a field of this type is uploaded, stored once per
/// content and downloaded through the module's API ([`files`]).
pub use aegis_protocol::StoredFile as File;
pub use api::{Api, nodelay};
pub use app::Aegis;
/// The web framework the routers are made with.
pub use axum;
pub use entity::{
    CrudEntity, FieldKind, FieldMeta, FieldRole, FileRules, Many, ModuleMeta, ModuleSettings,
    OnDelete, Reference, RuleValue, Rules, Served, Stamp,
};
pub use error::Error;
pub use limits::Limits;

/// Crates whose types modules.toml fields use, so an app needs no extra
/// dependencies for them.
pub mod export {
    pub use chrono;
    pub use serde_json;
    pub use uuid;
}

/// What generated code needs; not part of the public API. `#[crud_module]`
/// reaches all of it through one short path (`use ::aegis::__private as
/// __a`): every token it emits is a call into the compiler, so short paths
/// keep the macro cheap.
#[doc(hidden)]
pub mod __private {
    pub use crate::input::{read, take, write};
    pub use crate::{
        CrudEntity, FieldKind, FieldMeta, FieldRole, FileRules, Many, ModuleMeta, OnDelete,
        Reference, RuleValue, Rules, Stamp,
    };
    pub use core::default::Default;
    pub use core::fmt::{Formatter, Result as FmtResult};
    pub use core::option::Option::{self, None, Some};
    pub use core::result::Result::{self, Ok};
    pub use serde::de::{MapAccess, Visitor};
    pub use serde::ser::SerializeStruct;
    pub use serde::{self, Deserialize, Deserializer, Serialize, Serializer};

    /// A data field with every flag off and no rules: what the metadata
    /// `#[crud_module]` emits starts from, naming only what differs.
    pub const FIELD: FieldMeta = FieldMeta {
        name: "",
        wire_name: "",
        kind: FieldKind::Text,
        instant: false,
        nullable: false,
        role: FieldRole::Data,
        readonly: false,
        hidden: false,
        label: "",
        required_input: false,
        renamed_from: None,
        rules: Rules::NONE,
        stamp: None,
        references: None,
        many: None,
        file: None,
    };
}
