//! The IR: one [`Module`] value per module, however it was declared.

use crate::diagnostic::Location;
use crate::naming::Names;
use crate::serde_attr::RenameRule;
use crate::ts::TsType;

/// How the runtime stores a field's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StorageKind {
    Integer,
    Float,
    Boolean,
    /// Strings, and what serialises as one (dates, uuids, decimals).
    Text,
    /// Anything else, stored as its JSON text.
    Json,
}

/// The value a field takes in rows stored before it existed (and in rows
/// whose column was NULL when it becomes required), so a schema change can
/// fill them with what the model says instead of refusing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoredDefault {
    /// `#[crud(default = "...")]` (modules.toml `default`), as JSON text
    /// already checked against the field's storage.
    Json(String),
    /// serde `default`: the type's `Default`, as serde writes it.
    TypeDefault,
    /// serde `default = "path"`: what that function returns.
    Function(String),
}

/// What a string-valued field holds, decided once by the type mapping and
/// read by the generator (widgets, samples) and the runtime (sorting).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueFormat {
    /// A calendar date, `2026-01-31` (chrono `NaiveDate`, time `Date`).
    Date,
    /// A date and time of day without a zone (chrono `NaiveDateTime`,
    /// time `PrimitiveDateTime`).
    LocalDateTime,
    /// A point in time with its zone or offset, RFC 3339 (chrono
    /// `DateTime`, time `OffsetDateTime`, jiff `Timestamp`): its text order
    /// is not time order.
    Instant,
    /// A time of day (chrono `NaiveTime`, time `Time`).
    Time,
    Uuid,
    Decimal,
    Char,
    /// A file a row holds (`aegis::File`), stored as its JSON: the
    /// protocol's `StoredFile`.
    File,
}

/// What a field is to the module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldRole {
    Id,
    /// The optimistic-concurrency version, incremented on every update.
    Version,
    Data,
}

/// Where a module was declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `#[crud_module]` on a Rust struct.
    Attribute,
    /// modules.toml alone, fields inline.
    Manifest,
}

/// One field of a module.
#[derive(Clone, Debug)]
pub struct Field {
    /// The Rust field name (without `r#`).
    pub ident: String,
    /// The Rust type, as written (or derived from modules.toml).
    pub rust_ty: syn::Type,
    /// The JSON key serde uses.
    pub wire_name: String,
    /// The TypeScript type of the value, `| null` included. `null` for a
    /// transient field, which never crosses the wire.
    pub ts: TsType,
    pub storage: StorageKind,
    /// What the text of a string-valued field holds, when the type says.
    pub format: Option<ValueFormat>,
    /// An integer field's least and greatest value (its Rust type's, within
    /// the column's `i64`).
    pub range: Option<(i64, i64)>,
    /// The Rust type is an `Option`.
    pub nullable: bool,
    pub role: FieldRole,
    /// `#[crud(readonly)]`: shown, never edited; set by the server.
    pub readonly: bool,
    /// `#[crud(skip)]`: stored, but never sent to the front end.
    pub hidden: bool,
    /// The model lets the list and the API sort by it (`#[crud(sortable =
    /// false)]` says no); it then sorts where its values order.
    pub sortable: bool,
    /// serde writes this field (no `skip` / `skip_serializing`).
    pub serialized: bool,
    /// serde reads this field (no `skip` / `skip_deserializing`).
    pub deserialized: bool,
    /// `skip_serializing_if`: the key may be missing from what the server sends.
    pub may_be_omitted: bool,
    /// The key may be missing from what the client sends (serde `default`,
    /// or an `Option`, which serde fills with `None`).
    pub input_optional: bool,
    /// The human label, `#[crud(label)]` or the name in sentence case.
    pub label: String,
    /// What rows stored before this field existed take, if the model says.
    pub stored_default: Option<StoredDefault>,
    /// `#[crud(renamed_from = "old")]`: the column the field was stored in
    /// before.
    pub renamed_from: Option<String>,
    /// Validation rules on what clients send.
    pub rules: crate::rules::Rules,
    /// Filled by the server on create or update (`#[crud(created_at)]`...);
    /// a stamped field is also `readonly`.
    pub stamp: Option<crate::stamp::Stamp>,
    /// `#[crud(references = "authors")]`: whose id the field holds.
    pub references: Option<crate::relation::Reference>,
    /// `#[crud(many = "tags")]`: whose ids the field lists, linked
    /// many-to-many.
    pub many: Option<crate::relation::Many>,
    /// A file field (`aegis::File`): what its uploads may be.
    pub file: Option<crate::file::FileSpec>,
    /// The field's name where it was declared.
    pub location: Location,
    /// The field's type where it was declared.
    pub ty_location: Location,
}

impl Field {
    /// A file the row holds ([`Field::file`] says what it may be).
    pub fn is_file(&self) -> bool {
        self.file.is_some()
    }

    /// A zoned point in time: sorted as a time, shown as a date and time.
    pub fn is_instant(&self) -> bool {
        self.format == Some(ValueFormat::Instant)
    }

    /// Part of the entity the front end sees.
    pub fn is_sent(&self) -> bool {
        self.serialized && !self.hidden
    }

    /// Part of the create and update inputs the front end sends.
    pub fn is_input(&self) -> bool {
        self.role == FieldRole::Data && !self.readonly && !self.hidden && self.deserialized
    }

    /// Never serialised nor deserialised: lives only in Rust.
    pub fn is_transient(&self) -> bool {
        !self.serialized && !self.deserialized
    }
}

/// One module: an entity, its names, its flags and its fields.
#[derive(Clone, Debug)]
pub struct Module {
    pub names: Names,
    /// The Rust struct's name (for a modules.toml module, the one emitted).
    pub rust_name: String,
    pub with_events: bool,
    pub with_import: bool,
    /// Each change of a row is kept in its history (`history = false`
    /// turns it off).
    pub with_history: bool,
    /// The generated front end's switches.
    pub client: ClientSwitches,
    pub fields: Vec<Field>,
    /// Index of the id field in `fields`.
    pub id: usize,
    /// Index of the version field in `fields`, if any.
    pub version: Option<usize>,
    /// Index of the field that shows a row where it is referenced
    /// (`label = "..."`, else the first text field, else the id).
    pub label: usize,
    /// serde `rename_all` on the struct, which the input types repeat.
    pub rename_all: Option<RenameRule>,
    pub origin: Origin,
    pub location: Location,
}

impl Module {
    pub fn id_field(&self) -> &Field {
        &self.fields[self.id]
    }

    pub fn label_field(&self) -> &Field {
        &self.fields[self.label]
    }

    pub fn version_field(&self) -> Option<&Field> {
        self.version.map(|index| &self.fields[index])
    }

    /// Fields the front end sees, in declaration order.
    pub fn sent_fields(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.is_sent())
    }

    /// Fields of the create and update inputs, in declaration order.
    pub fn input_fields(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.is_input())
    }
}

/// How the generated front end treats a module's list (all on unless
/// `#[crud_module]` or modules.toml turn one off).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientSwitches {
    /// A change shows at once and is undone if the server refuses it.
    pub optimistic_updates: bool,
    /// A save based on an old version is a conflict to settle; off, the
    /// last save wins.
    pub conflict_detection: bool,
    /// A page read recently, on a healthy connection, is not read again.
    pub cache: bool,
}

impl Default for ClientSwitches {
    fn default() -> Self {
        ClientSwitches {
            optimistic_updates: true,
            conflict_detection: true,
            cache: true,
        }
    }
}
