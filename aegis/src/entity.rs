//! The contract between an annotated struct and the runtime.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// How the runtime stores a field's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldKind {
    Integer,
    Float,
    Boolean,
    /// Strings, and what serialises as one (dates, uuids, decimals).
    Text,
    /// Anything else, stored as its JSON text.
    Json,
}

/// What a field is to its module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldRole {
    Id,
    /// Incremented on every update; a stale one is a conflict.
    Version,
    Data,
}

impl FieldKind {
    /// Every kind.
    pub const ALL: [FieldKind; 5] = [
        FieldKind::Integer,
        FieldKind::Float,
        FieldKind::Boolean,
        FieldKind::Text,
        FieldKind::Json,
    ];

    /// The kind's name as the schema catalog (`aegis_schema`) stores it.
    /// Stored names outlive the code: a variant may be renamed, its name
    /// here never.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Integer => "integer",
            FieldKind::Float => "float",
            FieldKind::Boolean => "boolean",
            FieldKind::Text => "text",
            FieldKind::Json => "json",
        }
    }

    /// The kind stored as `name`.
    pub fn from_stored(name: &str) -> Option<FieldKind> {
        FieldKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

impl From<FieldKind> for aegis_protocol::query::ValueKind {
    fn from(kind: FieldKind) -> Self {
        use aegis_protocol::query::ValueKind;
        match kind {
            FieldKind::Integer => ValueKind::Integer,
            FieldKind::Float => ValueKind::Float,
            FieldKind::Boolean => ValueKind::Boolean,
            FieldKind::Text => ValueKind::Text,
            FieldKind::Json => ValueKind::Json,
        }
    }
}

impl FieldRole {
    /// Every role.
    pub const ALL: [FieldRole; 3] = [FieldRole::Id, FieldRole::Version, FieldRole::Data];

    /// The role's name as the schema catalog stores it (see
    /// [`FieldKind::as_str`]).
    pub fn as_str(self) -> &'static str {
        match self {
            FieldRole::Id => "id",
            FieldRole::Version => "version",
            FieldRole::Data => "data",
        }
    }

    /// The role stored as `name`.
    pub fn from_stored(name: &str) -> Option<FieldRole> {
        FieldRole::ALL
            .into_iter()
            .find(|role| role.as_str() == name)
    }
}

/// An allowed value of [`Rules::one_of`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RuleValue {
    Text(&'static str),
    Number(f64),
}

/// A field's validation rules (`#[crud(min = .., length(..), email, ...)]`).
/// `null`, and a key left out, satisfy every rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rules {
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// In characters: Unicode scalar values, as the browser counts code points.
    pub min_length: Option<u32>,
    pub max_length: Option<u32>,
    /// A regular expression the whole text must match.
    pub pattern: Option<&'static str>,
    pub email: bool,
    /// An absolute `http` or `https` URL, as the WHATWG URL standard parses it.
    pub url: bool,
    pub one_of: &'static [RuleValue],
}

impl Rules {
    /// No rule.
    pub const NONE: Rules = Rules {
        min: None,
        max: None,
        min_length: None,
        max_length: None,
        pattern: None,
        email: false,
        url: false,
        one_of: &[],
    };
}

/// What the server writes into a stamped field (`#[crud(created_at)]`...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stamp {
    /// When the entity was created.
    CreatedAt,
    /// When it was last created or updated.
    UpdatedAt,
    /// Who created it: the token's subject.
    CreatedBy,
    /// Who last created or updated it.
    UpdatedBy,
}

/// What deleting a referenced row does to the rows that reference it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OnDelete {
    /// Refused (409) while a row references it.
    Restrict,
    /// The referencing rows are deleted too.
    Cascade,
    /// The referencing rows' field becomes `null`.
    SetNull,
}

/// A field holding another module's id (`#[crud(references = "authors")]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    /// The referenced module's name.
    pub module: &'static str,
    pub on_delete: OnDelete,
}

/// A field listing another module's ids, linked many-to-many
/// (`#[crud(many = "tags")]`). The links are kept in a table of their own,
/// `<module>_<field>`, and the row keeps the list too, in the field's
/// column: both are written in one transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Many {
    /// The linked module's name.
    pub module: &'static str,
    /// How each id is stored: [`FieldKind::Integer`] or [`FieldKind::Text`].
    pub ids: FieldKind,
}

/// What a file field (`aegis::File`) takes: at most `max_bytes`, and only
/// the content types of `types` (any, when empty), as the server finds
/// them in the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileRules {
    pub max_bytes: u64,
    pub types: &'static [&'static str],
}

/// One field of a module, as the runtime sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FieldMeta {
    /// The Rust field name.
    pub name: &'static str,
    /// The JSON key serde uses.
    pub wire_name: &'static str,
    pub kind: FieldKind,
    /// A zoned point in time (RFC 3339 text): sorted as a time, since its
    /// text order is not time order.
    pub instant: bool,
    pub nullable: bool,
    pub role: FieldRole,
    /// Shown, never edited by clients; kept by the server on update.
    pub readonly: bool,
    /// Stored, but never sent to the front end.
    pub hidden: bool,
    /// The human label for forms and column headers.
    pub label: &'static str,
    /// A client must send it: an editable field that is neither an
    /// `Option` nor has serde's `default` (a CSV import needs its column).
    pub required_input: bool,
    /// The column this field was stored in before (`#[crud(renamed_from)]`);
    /// the schema check renames it.
    pub renamed_from: Option<&'static str>,
    /// Validation rules on what clients send.
    pub rules: Rules,
    /// Filled by the server on create or update; never by clients.
    pub stamp: Option<Stamp>,
    /// The module whose id the field holds.
    pub references: Option<Reference>,
    /// The module whose ids the field lists.
    pub many: Option<Many>,
    /// A file field: what its uploads may be.
    pub file: Option<FileRules>,
}

impl FieldMeta {
    /// How filters see the field: a list of links or a file as such, any
    /// other field as its column stores it.
    pub fn filter_kind(&self) -> aegis_protocol::query::ValueKind {
        match (self.many, self.file) {
            (Some(_), _) => aegis_protocol::query::ValueKind::Links,
            (_, Some(_)) => aegis_protocol::query::ValueKind::File,
            _ => self.kind.into(),
        }
    }
}

/// A module as its struct declares it: names and fields. Whether it has
/// events or import is a setting aegis-build merges from the attribute and
/// modules.toml: [`Served::SETTINGS`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModuleMeta {
    /// `user_roles`
    pub module: &'static str,
    /// `user-roles`: URL segment and event channel.
    pub feature: &'static str,
    /// `userRole`: the entity name in events.
    pub entity: &'static str,
    /// `UserRole`: the entity's TypeScript type.
    pub entity_type: &'static str,
    /// Every field serde reads or writes, in declaration order.
    pub fields: &'static [FieldMeta],
}

impl ModuleMeta {
    /// The field with role `role`, if there is one.
    pub fn field_with_role(&self, role: FieldRole) -> Option<&'static FieldMeta> {
        self.fields.iter().find(|field| field.role == role)
    }

    /// The id field; every module has one.
    pub fn id_field(&self) -> &'static FieldMeta {
        self.field_with_role(FieldRole::Id)
            .expect("#[crud_module] guarantees an id field")
    }

    pub fn version_field(&self) -> Option<&'static FieldMeta> {
        self.field_with_role(FieldRole::Version)
    }

    /// Some field holds a file ([`crate::File`]).
    pub fn holds_files(&self) -> bool {
        self.fields.iter().any(|f| f.file.is_some())
    }

    /// Some field holds another module's ids (a reference, or links).
    pub fn refers_to_others(&self) -> bool {
        self.fields
            .iter()
            .any(|f| f.references.is_some() || f.many.is_some())
    }
}

/// A module's settings as served, merged from `#[crud_module]` and
/// modules.toml by aegis-build: one value per module, its
/// [`Served::SETTINGS`] (`aegis_modules::MODULES` lists them all).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModuleSettings {
    pub module: &'static str,
    pub with_events: bool,
    pub with_import: bool,
    /// Each change of a row is kept in its history ([`crate::history`]),
    /// read and restored through `/api/<feature>/{id}/history`.
    pub with_history: bool,
    /// The fields (JSON names) a list may be sorted by. aegis-build lists
    /// the ones its generated table offers to sort, so the two agree; `None`
    /// sorts by every field sent that is stored as a number, text or
    /// boolean (not one stored as JSON: a list, a map, a type of your own).
    pub sortable: Option<&'static [&'static str]>,
}

/// A domain struct served by Aegis. Implemented by `#[crud_module]`.
pub trait CrudEntity: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// The id field's type: an integer, `String` or `Uuid`.
    type Id: Serialize + DeserializeOwned + Clone + Debug + PartialEq + Send + Sync + 'static;
    /// What a client sends to create one: every editable field.
    type Create: Serialize + DeserializeOwned + Clone + Debug + Send + Sync + 'static;
    /// What a client sends to replace one: every editable field, plus the
    /// version it last saw when the module has one.
    type Update: Serialize + DeserializeOwned + Clone + Debug + Send + Sync + 'static;

    /// The module's names, flags and fields.
    fn meta() -> &'static ModuleMeta;

    fn id(&self) -> &Self::Id;

    /// The current version, when the module has a version field.
    fn version(&self) -> Option<i64>;

    /// Sets the version; does nothing without a version field.
    fn set_version(&mut self, version: i64);

    /// A new entity with `id` from a client's input: version 1, and
    /// readonly and skipped fields at their `Default`.
    fn from_create(id: Self::Id, create: Self::Create) -> Self;

    /// Replaces the editable fields; id, version, readonly and skipped
    /// fields are kept.
    fn apply_update(&mut self, update: Self::Update);

    /// The version an update was based on, when the module has one.
    fn update_version(update: &Self::Update) -> Option<i64>;

    /// What rows stored before field `name` (its Rust name) existed take,
    /// as its JSON value: `#[crud(default = "...")]`, else what serde's
    /// `default` gives. `None` when the model says nothing, and a new
    /// required column is then refused rather than invented.
    fn stored_default(name: &str) -> Option<serde_json::Value> {
        let _ = name;
        None
    }
}

/// A module as this app serves it. aegis-build's `aegis_modules.rs`
/// implements it for every module, with the settings merged from
/// `#[crud_module]` and modules.toml, so they are reached from the entity
/// type (`<Budget as Served>::SETTINGS`) and are nowhere else.
pub trait Served: CrudEntity {
    const SETTINGS: ModuleSettings;
}
