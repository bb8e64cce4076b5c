//! The modules.toml schema (README "modules.toml"), and modules declared in it.
//!
//! Reading the file is the generator's job; this module defines what a
//! parsed file means. Values are [`Spanned`] so every problem can name its
//! line and column.

use std::fmt;

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_spanned::Spanned;

use crate::attr::{FieldArgs, ModuleArgs, StringOption};
use crate::diagnostic::{Diagnostic, Diagnostics, Location};
use crate::file::FileArgs;
use crate::ir::{Module, Origin};
use crate::lower::{FieldInput, ModuleInput, lower};
use crate::serde_attr::{ContainerAttrs, FieldAttrs};

/// A whole modules.toml.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(default)]
    pub generator: Option<GeneratorSettings>,
    #[serde(default)]
    pub modules: IndexMap<String, Spanned<ModuleEntry>>,
}

/// `[generator]`: where and how the front end is written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorSettings {
    /// The Angular app's `src/app`, relative to modules.toml.
    pub web_root: Spanned<String>,
    /// A folder of template overrides, by template name, relative to
    /// modules.toml.
    #[serde(default)]
    pub templates: Option<Spanned<String>>,
}

/// `[modules.<name>]`: settings for a module declared in Rust, or a whole
/// module when `fields` is given.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleEntry {
    #[serde(default)]
    pub with_events: Option<Spanned<bool>>,
    #[serde(default)]
    pub with_import: Option<Spanned<bool>>,
    #[serde(default)]
    pub singular: Option<Spanned<String>>,
    /// The field that shows a row where it is referenced.
    #[serde(default)]
    pub label: Option<Spanned<String>>,
    /// The front end's switches (`false` turns one off).
    #[serde(default)]
    pub optimistic_updates: Option<Spanned<bool>>,
    #[serde(default)]
    pub conflict_detection: Option<Spanned<bool>>,
    #[serde(default)]
    pub cache: Option<Spanned<bool>>,
    /// `false`: no history is kept of the rows' changes.
    #[serde(default)]
    pub history: Option<Spanned<bool>>,
    /// Fields inline, in order: the module is declared here alone. (Order
    /// survives only when the toml crate reads with `preserve_order`.)
    #[serde(default)]
    pub fields: Option<Spanned<IndexMap<String, Spanned<FieldSpec>>>>,
}

/// A field in modules.toml: a type name, or a table with more to say.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldSpec {
    pub ty: String,
    pub nullable: bool,
    pub id: bool,
    pub version: bool,
    pub readonly: bool,
    pub skip: bool,
    /// `sortable = false`: the list and the API do not sort by it.
    pub sortable: Option<bool>,
    pub label: Option<String>,
    pub ts_type: Option<String>,
    /// `default`: what rows stored before the field existed take, as text.
    pub default: Option<String>,
    /// `renamed_from`: the column the field was stored in before.
    pub renamed_from: Option<String>,
    /// Validation rules, the keys of `#[crud]`'s ([`crate::rules`]).
    pub rules: SpecRules,
    /// `created_at = true` and the other stamps ([`crate::stamp`]).
    pub stamp: Option<crate::stamp::Stamp>,
    /// `references = "authors"` and `on_delete` ([`crate::relation`]).
    pub references: Option<String>,
    pub on_delete: Option<String>,
    /// `children = false` and `children_label` ([`crate::relation`]).
    pub children: Option<bool>,
    pub children_label: Option<String>,
    /// `many = "tags"`: the field lists ids of `type` (a `Vec` of them).
    pub many: Option<String>,
    /// A `file` or `image` field's `max_bytes` and `types` ([`crate::file`]).
    pub max_bytes: Option<u64>,
    pub types: Option<Vec<String>>,
}

/// The rule keys of a field table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpecRules {
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub min_length: Option<u32>,
    pub max_length: Option<u32>,
    pub pattern: Option<String>,
    pub email: bool,
    pub url: bool,
    pub one_of: Option<Vec<crate::rules::RuleValue>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LengthTable {
    min: Option<u32>,
    max: Option<u32>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOfValue {
    Number(f64),
    Text(String),
}

/// A `default` in modules.toml: a TOML scalar of the field's type.
#[derive(Deserialize)]
#[serde(untagged)]
enum ScalarDefault {
    Bool(bool),
    Integer(i64),
    Float(f64),
    Text(String),
}

impl ScalarDefault {
    fn into_text(self) -> String {
        match self {
            ScalarDefault::Bool(b) => b.to_string(),
            ScalarDefault::Integer(n) => n.to_string(),
            ScalarDefault::Float(x) => x.to_string(),
            ScalarDefault::Text(text) => text,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldTable {
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    nullable: bool,
    #[serde(default)]
    id: bool,
    #[serde(default)]
    version: bool,
    #[serde(default)]
    readonly: bool,
    #[serde(default)]
    skip: bool,
    #[serde(default)]
    sortable: Option<bool>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    ts_type: Option<String>,
    #[serde(default)]
    default: Option<ScalarDefault>,
    #[serde(default)]
    renamed_from: Option<String>,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
    #[serde(default)]
    length: Option<LengthTable>,
    #[serde(default)]
    pattern: Option<String>,
    #[serde(default)]
    email: bool,
    #[serde(default)]
    url: bool,
    #[serde(default)]
    one_of: Option<Vec<OneOfValue>>,
    #[serde(default)]
    references: Option<String>,
    #[serde(default)]
    on_delete: Option<String>,
    #[serde(default)]
    children: Option<bool>,
    #[serde(default)]
    children_label: Option<String>,
    #[serde(default)]
    many: Option<String>,
    #[serde(default)]
    max_bytes: Option<u64>,
    #[serde(default)]
    types: Option<Vec<String>>,
    #[serde(default)]
    created_at: bool,
    #[serde(default)]
    updated_at: bool,
    #[serde(default)]
    created_by: bool,
    #[serde(default)]
    updated_by: bool,
}

impl FieldSpec {
    fn of_type(ty: String) -> Self {
        FieldSpec {
            ty,
            nullable: false,
            id: false,
            version: false,
            readonly: false,
            skip: false,
            sortable: None,
            label: None,
            ts_type: None,
            default: None,
            renamed_from: None,
            rules: SpecRules::default(),
            stamp: None,
            references: None,
            on_delete: None,
            children: None,
            children_label: None,
            many: None,
            max_bytes: None,
            types: None,
        }
    }
}

impl<'de> Deserialize<'de> for FieldSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SpecVisitor;
        impl<'de> Visitor<'de> for SpecVisitor {
            type Value = FieldSpec;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a type name such as \"i64\", or a table such as \
                     { type = \"string\", nullable = true }",
                )
            }

            fn visit_str<E: de::Error>(self, ty: &str) -> Result<FieldSpec, E> {
                Ok(FieldSpec::of_type(ty.to_owned()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<FieldSpec, A::Error> {
                let table = FieldTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(FieldSpec {
                    ty: table.ty,
                    nullable: table.nullable,
                    id: table.id,
                    version: table.version,
                    readonly: table.readonly,
                    skip: table.skip,
                    sortable: table.sortable,
                    label: table.label,
                    ts_type: table.ts_type,
                    default: table.default.map(ScalarDefault::into_text),
                    renamed_from: table.renamed_from,
                    rules: SpecRules {
                        min: table.min,
                        max: table.max,
                        min_length: table.length.as_ref().and_then(|l| l.min),
                        max_length: table.length.as_ref().and_then(|l| l.max),
                        pattern: table.pattern,
                        email: table.email,
                        url: table.url,
                        one_of: table.one_of.map(|values| {
                            values
                                .into_iter()
                                .map(|v| match v {
                                    OneOfValue::Number(n) => crate::rules::RuleValue::Number(n),
                                    OneOfValue::Text(t) => crate::rules::RuleValue::Text(t),
                                })
                                .collect()
                        }),
                    },
                    stamp: [
                        (table.created_at, crate::stamp::Stamp::CreatedAt),
                        (table.updated_at, crate::stamp::Stamp::UpdatedAt),
                        (table.created_by, crate::stamp::Stamp::CreatedBy),
                        (table.updated_by, crate::stamp::Stamp::UpdatedBy),
                    ]
                    .into_iter()
                    .find_map(|(set, stamp)| set.then_some(stamp)),
                    references: table.references,
                    on_delete: table.on_delete,
                    children: table.children,
                    children_label: table.children_label,
                    many: table.many,
                    max_bytes: table.max_bytes,
                    types: table.types,
                })
            }
        }
        deserializer.deserialize_any(SpecVisitor)
    }
}

/// The field types modules.toml knows, and the Rust type each becomes in
/// the struct the generator emits (paths through `aegis::export` so the app
/// needs no extra dependencies).
pub const FIELD_TYPES: &[(&str, &str)] = &[
    ("bool", "bool"),
    ("i8", "i8"),
    ("i16", "i16"),
    ("i32", "i32"),
    ("i64", "i64"),
    ("u8", "u8"),
    ("u16", "u16"),
    ("u32", "u32"),
    ("u64", "u64"),
    ("f32", "f32"),
    ("f64", "f64"),
    ("string", "::std::string::String"),
    (
        "datetime",
        "::aegis::export::chrono::DateTime<::aegis::export::chrono::Utc>",
    ),
    ("date", "::aegis::export::chrono::NaiveDate"),
    ("time", "::aegis::export::chrono::NaiveTime"),
    ("uuid", "::aegis::export::uuid::Uuid"),
    ("json", "::aegis::export::serde_json::Value"),
    ("file", "::aegis::File"),
    ("image", "::aegis::File"),
];

fn rust_type_for(name: &str) -> Option<&'static str> {
    FIELD_TYPES
        .iter()
        .find(|(toml_name, _)| *toml_name == name)
        .map(|(_, rust)| *rust)
}

fn location<T>(spanned: &Spanned<T>) -> Location {
    Location::Manifest(spanned.span())
}

impl ModuleEntry {
    /// The module is declared here alone, fields inline.
    pub fn declares_fields(&self) -> bool {
        self.fields.is_some()
    }
}

impl Module {
    /// A module declared in modules.toml alone, under `[modules.<name>]`.
    /// `name_location` is where the entry is, for problems about the module
    /// as a whole.
    pub fn from_manifest_entry(
        name: &str,
        entry: &Spanned<ModuleEntry>,
    ) -> Result<Module, Vec<Diagnostic>> {
        let mut diags = Diagnostics::new();
        let entry_location = location(entry);
        let entry = entry.get_ref();
        let flag = |value: &Option<Spanned<bool>>| {
            value.as_ref().filter(|flag| *flag.get_ref()).map(location)
        };
        let switch =
            |value: &Option<Spanned<bool>>| value.as_ref().map(|on| (*on.get_ref(), location(on)));
        let args = ModuleArgs {
            with_events: flag(&entry.with_events),
            with_import: flag(&entry.with_import),
            name: None,
            singular: entry.singular.as_ref().map(|s| StringOption {
                value: s.get_ref().clone(),
                location: location(s),
            }),
            label: entry.label.as_ref().map(|s| StringOption {
                value: s.get_ref().clone(),
                location: location(s),
            }),
            optimistic_updates: switch(&entry.optimistic_updates),
            conflict_detection: switch(&entry.conflict_detection),
            cache: switch(&entry.cache),
            history: switch(&entry.history),
        };

        let mut fields = Vec::new();
        match &entry.fields {
            None => diags.error(
                entry_location.clone(),
                format_args!("module `{name}` is not declared in Rust, so it needs `fields`"),
            ),
            Some(declared) => {
                for (field_name, spec) in declared.get_ref() {
                    if let Some(field) = field_input(field_name, spec, &mut diags) {
                        fields.push(field);
                    }
                }
            }
        }

        let input = ModuleInput {
            declared_name: name.to_owned(),
            declared_location: entry_location,
            args,
            container: ContainerAttrs::default(),
            fields,
            origin: Origin::Manifest,
        };
        lower(input, diags)
    }
}

/// A field table's `max_bytes` and `types` as `file(...)` would say them
/// (`image` takes images unless it says), all at the field's position.
fn file_args(spec: &FieldSpec, at: &Location, diags: &mut Diagnostics) -> Option<FileArgs> {
    let image = spec.ty == "image";
    if !image && spec.max_bytes.is_none() && spec.types.is_none() {
        return None;
    }
    if let Some(bad) = spec
        .types
        .iter()
        .flatten()
        .find(|t| !crate::file::is_content_type(t))
    {
        diags.error(
            at.clone(),
            format_args!("`types` lists content types such as \"image/png\", not `{bad}`"),
        );
    }
    if spec.max_bytes == Some(0) {
        diags.error(
            at.clone(),
            "`max_bytes` is a whole number of bytes, more than 0",
        );
    }
    let types = spec
        .types
        .clone()
        .or_else(|| image.then(|| crate::file::IMAGE_TYPES.map(str::to_owned).to_vec()));
    Some(FileArgs {
        location: at.clone(),
        max_bytes: spec.max_bytes.map(|n| (n, at.clone())),
        types: types.map(|types| (types, at.clone())),
    })
}

/// A field table's rules as the grammar's, all at the field's position.
fn rule_args(rules: &SpecRules, at: &Location) -> crate::rules::RuleArgs {
    let bound = |value: Option<f64>| {
        value.map(|value| crate::rules::Bound {
            value,
            location: at.clone(),
        })
    };
    crate::rules::RuleArgs {
        min: bound(rules.min),
        max: bound(rules.max),
        min_length: bound(rules.min_length.map(f64::from)),
        max_length: bound(rules.max_length.map(f64::from)),
        pattern: rules.pattern.as_ref().map(|value| StringOption {
            value: value.clone(),
            location: at.clone(),
        }),
        email: rules.email.then(|| at.clone()),
        url: rules.url.then(|| at.clone()),
        one_of: rules
            .one_of
            .as_ref()
            .map(|values| (values.clone(), at.clone())),
    }
}

fn field_input(
    name: &str,
    spec: &Spanned<FieldSpec>,
    diags: &mut Diagnostics,
) -> Option<FieldInput> {
    let at = location(spec);
    let spec = spec.get_ref();
    if !crate::reserved::is_ts_identifier(name) || name.contains('$') {
        diags.error(
            at,
            format_args!(
                "invalid field name `{name}`, expected ASCII letters, digits and `_`, not \
                 starting with a digit"
            ),
        );
        return None;
    }
    let Some(rust) = rust_type_for(&spec.ty) else {
        let known: Vec<&str> = FIELD_TYPES.iter().map(|(name, _)| *name).collect();
        let hint = match crate::attr::suggest(&spec.ty, known.iter().copied()) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!("expected one of {}", known.join(", ")),
        };
        diags.error(
            at,
            format_args!("unknown field type `{}` for `{name}`, {hint}", spec.ty),
        );
        return None;
    };
    let rust = match (spec.nullable, &spec.many) {
        (_, Some(_)) => format!("::std::vec::Vec<{rust}>"),
        (true, None) => format!("::std::option::Option<{rust}>"),
        (false, None) => rust.to_owned(),
    };
    let ty: syn::Type = syn::parse_str(&rust).expect("FIELD_TYPES holds valid Rust types");
    let mark = |set: bool| set.then(|| at.clone());
    let text = |value: &Option<String>| {
        value.as_ref().map(|value| StringOption {
            value: value.clone(),
            location: at.clone(),
        })
    };
    let crud = FieldArgs {
        id: mark(spec.id),
        version: mark(spec.version),
        skip: mark(spec.skip),
        readonly: mark(spec.readonly),
        sortable: spec.sortable.map(|on| (on, at.clone())),
        ts_type: text(&spec.ts_type),
        label: text(&spec.label),
        default: text(&spec.default),
        renamed_from: text(&spec.renamed_from),
        stamp: spec.stamp.map(|stamp| (stamp, at.clone())),
        references: text(&spec.references),
        on_delete: text(&spec.on_delete),
        children: spec.children.map(|on| (on, at.clone())),
        children_label: text(&spec.children_label),
        many: text(&spec.many),
        file: file_args(spec, &at, diags),
        rules: rule_args(&spec.rules, &at),
    };
    crate::attr::check_field_conflicts(&crud, diags);
    Some(FieldInput {
        ident: name.to_owned(),
        location: at.clone(),
        ty,
        ty_location: at,
        crud,
        // A list of links left out of an input is empty.
        serde: FieldAttrs {
            default: spec.many.is_some(),
            ..FieldAttrs::default()
        },
    })
}
