//! From a declaration (a Rust struct, or a modules.toml entry) to a
//! validated [`Module`]. Both front ends fill a [`ModuleInput`]; everything
//! after that — mapping, names, roles, checks — is written once, here.

use std::collections::HashMap;

use proc_macro2::TokenStream;
use syn::{Data, DeriveInput, Fields};

use crate::attr::{self, FieldArgs, ModuleArgs};
use crate::diagnostic::{Diagnostic, Diagnostics, Location};
use crate::ir::{Field, FieldRole, Module, Origin, StorageKind, StoredDefault};
use crate::mapping::{self, type_to_string};
use crate::naming::{self, Names};
use crate::reserved::{is_reserved_property, is_ts_identifier};
use crate::serde_attr::{self, ContainerAttrs, FieldAttrs};
use crate::ts::TsType;

/// A module as declared, before it is checked.
#[derive(Debug)]
pub(crate) struct ModuleInput {
    /// The Rust struct's name, or for modules.toml the module's key.
    pub declared_name: String,
    pub declared_location: Location,
    pub args: ModuleArgs,
    pub container: ContainerAttrs,
    pub fields: Vec<FieldInput>,
    pub origin: Origin,
}

/// A field as declared.
#[derive(Debug)]
pub(crate) struct FieldInput {
    pub ident: String,
    pub location: Location,
    pub ty: syn::Type,
    pub ty_location: Location,
    pub crud: FieldArgs,
    pub serde: FieldAttrs,
}

impl Module {
    /// Reads `#[crud_module(args)]` on `item`. Every problem is reported,
    /// each at the token it is about.
    pub fn from_derive_input(
        args: TokenStream,
        item: &DeriveInput,
    ) -> Result<Module, Vec<Diagnostic>> {
        let mut diags = Diagnostics::new();
        let module_args = attr::parse_module_args(args, &mut diags);
        let container = serde_attr::container_attrs(&item.attrs, &mut diags);
        let declared_location = Location::of(&item.ident);

        let named = match &item.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => Some(named),
                Fields::Unnamed(unnamed) => {
                    diags.error(
                        Location::of(unnamed),
                        "crud_module needs a struct with named fields, found a tuple struct",
                    );
                    None
                }
                Fields::Unit => {
                    diags.error(
                        declared_location.clone(),
                        "crud_module needs a struct with named fields, found a unit struct",
                    );
                    None
                }
            },
            Data::Enum(data) => {
                diags.error(
                    Location::of(&data.enum_token),
                    "crud_module applies to a struct with named fields, not an enum",
                );
                None
            }
            Data::Union(data) => {
                diags.error(
                    Location::of(&data.union_token),
                    "crud_module applies to a struct with named fields, not a union",
                );
                None
            }
        };
        if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
            diags.error(
                Location::of(&item.generics),
                "crud_module structs cannot be generic: the front end needs one concrete type",
            );
        }
        let Some(named) = named else {
            return Err(diags.into_vec());
        };

        let fields = named
            .named
            .iter()
            .map(|field| {
                let ident = field.ident.as_ref().expect("named fields have names");
                FieldInput {
                    ident: syn::ext::IdentExt::unraw(ident).to_string(),
                    location: Location::of(ident),
                    ty: field.ty.clone(),
                    ty_location: Location::of(&field.ty),
                    crud: attr::parse_field_args(&field.attrs, &mut diags),
                    serde: serde_attr::field_attrs(&field.attrs, &mut diags),
                }
            })
            .collect();

        let input = ModuleInput {
            declared_name: item.ident.to_string(),
            declared_location,
            args: module_args,
            container,
            fields,
            origin: Origin::Attribute,
        };
        lower(input, diags)
    }
}

/// Checks a declared module and builds its IR, or reports every problem.
pub(crate) fn lower(input: ModuleInput, mut diags: Diagnostics) -> Result<Module, Vec<Diagnostic>> {
    let names = lower_names(&input, &mut diags);
    check_plain_object(&input, &mut diags);
    let mut fields: Vec<Field> = input
        .fields
        .iter()
        .map(|field| lower_field(field, &input, &mut diags))
        .collect();
    let (id, version) = assign_roles(&mut fields, &input, &mut diags);
    check_wire_names(&fields, &mut diags);
    check_renames(&fields, &input, &mut diags);
    check_data_only(&fields, &mut diags);
    fields.iter_mut().for_each(crate::rules::bound_text);

    let (Some(names), Some(id)) = (names, id) else {
        return Err(diags.into_vec());
    };
    let label = crate::relation::label_field(&input, &fields, id, &mut diags);
    let module = Module {
        rust_name: match input.origin {
            Origin::Attribute => input.declared_name.clone(),
            Origin::Manifest => names.entity_type(),
        },
        names,
        with_events: input.args.with_events.is_some(),
        with_import: input.args.with_import.is_some(),
        with_history: input.args.history.as_ref().is_none_or(|(on, _)| *on),
        client: client_switches(&input),
        fields,
        id,
        version,
        label,
        rename_all: input.container.rename_all,
        origin: input.origin,
        location: input.declared_location,
    };
    diags.finish(module)
}

/// A tag on a struct adds a key the entity does not declare: a module
/// serialises as a plain JSON object.
fn check_plain_object(input: &ModuleInput, diags: &mut Diagnostics) {
    let reshaped = input.container.reshaped_by.clone().or_else(|| {
        let (_, location) = input.container.tag.as_ref()?;
        Some(("tag".to_owned(), location.clone()))
    });
    if let Some((key, location)) = &reshaped {
        diags.error(
            location.clone(),
            format_args!(
                "serde `{key}` is not supported on a crud_module struct, which must serialise \
                 as a plain JSON object"
            ),
        );
    }
}

/// Finds the id and the version field and gives them their roles; a
/// missing id, or a missing version with events, is an error.
fn assign_roles(
    fields: &mut [Field],
    input: &ModuleInput,
    diags: &mut Diagnostics,
) -> (Option<usize>, Option<usize>) {
    let id = find_role_field(input, FieldRole::Id, diags);
    let version = find_role_field(input, FieldRole::Version, diags);
    if let Some(index) = id {
        fields[index].role = FieldRole::Id;
        check_id(&fields[index], &input.fields[index], diags);
    } else {
        diags.error(
            input.declared_location.clone(),
            format_args!(
                "`{}` has no id field, name a field `id` or mark one with `#[crud(id)]`",
                input.declared_name
            ),
        );
    }
    if let Some(index) = version {
        fields[index].role = FieldRole::Version;
        check_version(&fields[index], &input.fields[index], diags);
    } else if let Some(with_events) = &input.args.with_events {
        diags.error(
            with_events.clone(),
            format_args!(
                "`with_events` needs a version field for conflict detection, add \
                 `version: i64` to `{}` or mark an `i64` field with `#[crud(version)]`",
                input.declared_name
            ),
        );
    }
    (id, version)
}

/// References and rules belong to data fields that clients send.
fn check_data_only(fields: &[Field], diags: &mut Diagnostics) {
    for field in fields
        .iter()
        .filter(|f| f.references.is_some() && f.role != FieldRole::Data)
    {
        diags.error(
            field.location.clone(),
            format_args!(
                "`{}` is the module's own id or version; a reference is a field of its own",
                field.ident
            ),
        );
    }
    for field in fields
        .iter()
        .filter(|f| !f.rules.is_empty() && !f.is_input())
    {
        diags.error(
            field.location.clone(),
            format_args!(
                "rules check what clients send, and clients never send `{}` (an id, a \
                 version, a readonly or skipped field)",
                field.ident
            ),
        );
    }
}

/// The client switches, each on unless the module turns it off.
fn client_switches(input: &ModuleInput) -> crate::ir::ClientSwitches {
    let on = |switch: &Option<(bool, _)>| switch.as_ref().is_none_or(|(on, _)| *on);
    crate::ir::ClientSwitches {
        optimistic_updates: on(&input.args.optimistic_updates),
        conflict_detection: on(&input.args.conflict_detection),
        cache: on(&input.args.cache),
    }
}

fn lower_names(input: &ModuleInput, diags: &mut Diagnostics) -> Option<Names> {
    let mut valid = true;
    for option in [&input.args.name, &input.args.singular]
        .into_iter()
        .flatten()
    {
        if let Err(error) = naming::normalize(&option.value) {
            diags.error(option.location.clone(), error);
            valid = false;
        }
    }
    if input.origin == Origin::Manifest
        && let Err(error) = naming::normalize(&input.declared_name)
    {
        diags.error(input.declared_location.clone(), error);
        valid = false;
    }
    if !valid {
        return None;
    }
    let singular = input.args.singular.as_ref().map(|o| o.value.as_str());
    let names = match input.origin {
        Origin::Attribute => Names::from_struct_name(
            &input.declared_name,
            input.args.name.as_ref().map(|o| o.value.as_str()),
            singular,
        ),
        Origin::Manifest => Names::from_module_name(&input.declared_name, singular),
    }
    .ok()?;
    let problems = names.problems();
    if !problems.is_empty() {
        let location = input
            .args
            .singular
            .as_ref()
            .or(input.args.name.as_ref())
            .map_or_else(|| input.declared_location.clone(), |o| o.location.clone());
        for problem in problems {
            diags.error(location.clone(), problem);
        }
        return None;
    }
    Some(names)
}

fn lower_field(field: &FieldInput, module: &ModuleInput, diags: &mut Diagnostics) -> Field {
    let serde = &field.serde;
    let serialized = !serde.skip_serializing;
    let deserialized = !serde.skip_deserializing;
    let transient = !serialized && !deserialized;
    check_serde_shape(field, transient, diags);
    let typed = field_type(field, transient, diags);
    let wire_name = match (&serde.rename, module.container.rename_all) {
        (Some(rename), _) => rename.clone(),
        (None, Some(rule)) => rule.apply_to_field(&field.ident),
        (None, None) => field.ident.clone(),
    };
    let label = field
        .crud
        .label
        .as_ref()
        .map_or_else(|| naming::sentence_case(&field.ident), |l| l.value.clone());
    let (stored_default, renamed_from) = column_history(field, transient, typed.storage, diags);
    let FieldType {
        ts,
        storage,
        format,
        range,
        nullable,
    } = typed;
    let stamp = crate::stamp::check(field, &ts, storage, format, diags);
    let references = crate::relation::check(field, storage, format, nullable, diags);
    let many = crate::relation::check_many(field, diags);
    let file = crate::file::check(field, format, diags);
    let rules = crate::rules::decide(&field.crud.rules, &field.ident, &ts, storage, format, diags);
    Field {
        ident: field.ident.clone(),
        rust_ty: field.ty.clone(),
        wire_name,
        ts,
        storage,
        format,
        range,
        nullable,
        role: FieldRole::Data,
        readonly: field.crud.readonly.is_some() || field.crud.stamp.is_some(),
        hidden: field.crud.skip.is_some(),
        // A file is no value to order rows by.
        sortable: field.crud.sortable.as_ref().is_none_or(|(on, _)| *on) && file.is_none(),
        serialized,
        deserialized,
        may_be_omitted: serde.skip_serializing_if,
        input_optional: serde.default || nullable,
        label,
        stored_default,
        renamed_from,
        rules,
        stamp,
        references,
        many,
        file,
        location: field.location.clone(),
        ty_location: field.ty_location.clone(),
    }
}

/// serde attributes whose JSON the generator cannot know: `flatten`, and
/// custom code without a given TypeScript type.
fn check_serde_shape(field: &FieldInput, transient: bool, diags: &mut Diagnostics) {
    let serde = &field.serde;
    if let Some(location) = &serde.flatten {
        diags.error(
            location.clone(),
            format_args!(
                "serde `flatten` is not supported on crud_module fields, declare the fields \
                 of `{}` on the entity itself",
                type_to_string(&field.ty)
            ),
        );
    }
    if let (Some(location), None, false) = (&serde.custom_with, &field.crud.ts_type, transient) {
        diags.error(
            location.clone(),
            format_args!(
                "field `{}` is serialised by custom code, so its JSON form is unknown; give \
                 its TypeScript type with `#[crud(ts_type = \"...\")]`",
                field.ident
            ),
        );
    }
}

/// What a field's Rust type decides: its TypeScript, storage, format,
/// integer range and nullability.
struct FieldType {
    ts: TsType,
    storage: StorageKind,
    format: Option<crate::ValueFormat>,
    range: Option<(i64, i64)>,
    nullable: bool,
}

fn field_type(field: &FieldInput, transient: bool, diags: &mut Diagnostics) -> FieldType {
    let mapped = mapping::map_type(&field.ty, &field.ident);
    let nullable = mapping::option_inner(&field.ty).is_some();
    let (format, range) = match mapped.as_ref() {
        Ok(m) if !transient => (m.format, m.range.filter(|_| field.crud.ts_type.is_none())),
        _ => (None, None),
    };
    let (ts, storage) = match (&field.crud.ts_type, mapped) {
        _ if transient => (TsType::Null, StorageKind::Json),
        (Some(ts_type), mapped) => (
            TsType::Raw(ts_type.value.clone()),
            mapped.map_or(StorageKind::Json, |m| m.storage),
        ),
        (None, Ok(mapped)) => (mapped.ts, mapped.storage),
        (None, Err(error)) => {
            diags.push(error);
            (TsType::Null, StorageKind::Json)
        }
    };
    FieldType {
        ts,
        storage,
        format,
        range,
        nullable,
    }
}

/// The field's column history: the value old rows get (`default`) and the
/// column it was (`renamed_from`); neither for a field serde skips.
fn column_history(
    field: &FieldInput,
    transient: bool,
    storage: StorageKind,
    diags: &mut Diagnostics,
) -> (Option<StoredDefault>, Option<String>) {
    let serde = &field.serde;
    if transient {
        for option in [&field.crud.default, &field.crud.renamed_from]
            .into_iter()
            .flatten()
        {
            diags.error(
                option.location.clone(),
                format_args!(
                    "field `{}` is skipped by serde, so it is not stored and has no column to \
                     fill or rename",
                    field.ident
                ),
            );
        }
    }
    let stored_default = match &field.crud.default {
        Some(option) => stored_default_json(&option.value, storage, &field.ident)
            .map_err(|message| diags.error(option.location.clone(), message))
            .ok()
            .map(StoredDefault::Json),
        None if serde.default => Some(match &serde.default_path {
            Some(path) => StoredDefault::Function(path.clone()),
            None => StoredDefault::TypeDefault,
        }),
        None => None,
    };
    let renamed_from = field.crud.renamed_from.as_ref().and_then(|option| {
        let old = option.value.trim();
        if !is_column_name(old) {
            diags.error(
                option.location.clone(),
                format_args!(
                    "`renamed_from` expects the old column's name, ASCII letters, digits and \
                     `_`, found `{old}`"
                ),
            );
            None
        } else if old == field.ident {
            diags.error(
                option.location.clone(),
                format_args!("field `{old}` cannot be renamed from itself"),
            );
            None
        } else {
            Some(old.to_owned())
        }
    });
    (stored_default, renamed_from)
}

/// A column name Aegis accepts: what a Rust field name can be.
fn is_column_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `#[crud(default = "...")]` as JSON text of the field's storage, or why
/// the text does not fit it.
fn stored_default_json(text: &str, storage: StorageKind, field: &str) -> Result<String, String> {
    let mismatch = |what: &str| format!("the default of `{field}` must be {what}, found `{text}`");
    match storage {
        StorageKind::Integer => text
            .trim()
            .parse::<i64>()
            .map(|n| n.to_string())
            .map_err(|_| mismatch("an integer")),
        StorageKind::Float => match text.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(serde_json::Value::from(x).to_string()),
            _ => Err(mismatch("a finite number")),
        },
        StorageKind::Boolean => match text.trim() {
            "true" | "false" => Ok(text.trim().to_owned()),
            _ => Err(mismatch("`true` or `false`")),
        },
        StorageKind::Text => Ok(serde_json::Value::from(text).to_string()),
        StorageKind::Json => serde_json::from_str::<serde_json::Value>(text)
            .map(|value| value.to_string())
            .map_err(|_| mismatch("JSON text")),
    }
}

/// The field with `role`: the one marked `#[crud(id)]` / `#[crud(version)]`,
/// else the one named `id` / `version`.
fn find_role_field(
    module: &ModuleInput,
    role: FieldRole,
    diags: &mut Diagnostics,
) -> Option<usize> {
    let (flag, default_name) = match role {
        FieldRole::Id => ("id", "id"),
        _ => ("version", "version"),
    };
    let marked: Vec<(usize, &Location)> = module
        .fields
        .iter()
        .enumerate()
        .filter_map(|(index, field)| {
            let mark = match role {
                FieldRole::Id => field.crud.id.as_ref(),
                _ => field.crud.version.as_ref(),
            };
            mark.map(|location| (index, location))
        })
        .collect();
    for (_, location) in marked.iter().skip(1) {
        diags.error(
            (*location).clone(),
            format_args!("only one field can be marked `#[crud({flag})]`"),
        );
    }
    // Else the field with the default name, unless it is marked otherwise
    // (a field named `id` marked `#[crud(version)]` is not the id).
    marked.first().map(|(index, _)| *index).or_else(|| {
        module.fields.iter().position(|f| {
            f.ident == default_name
                && f.crud.id.is_none()
                && f.crud.version.is_none()
                && f.crud.skip.is_none()
        })
    })
}

fn check_id(field: &Field, input: &FieldInput, diags: &mut Diagnostics) {
    let usable = matches!(field.storage, StorageKind::Integer | StorageKind::Text)
        && !field.nullable
        && field.serialized
        && field.deserialized;
    if !usable {
        diags.error(
            input.ty_location.clone(),
            format_args!(
                "the id field `{}` must be an integer, `String` or `Uuid` that serde reads and \
                 writes, found `{}`",
                field.ident,
                type_to_string(&field.rust_ty)
            ),
        );
    }
}

fn check_version(field: &Field, input: &FieldInput, diags: &mut Diagnostics) {
    let is_i64 = matches!(&field.rust_ty, syn::Type::Path(p)
        if p.qself.is_none() && p.path.segments.last().is_some_and(|s| s.ident == "i64"));
    if !is_i64 || !field.serialized || !field.deserialized {
        diags.error(
            input.ty_location.clone(),
            format_args!(
                "the version field `{}` must be an `i64` that serde reads and writes, found `{}`",
                field.ident,
                type_to_string(&field.rust_ty)
            ),
        );
    }
}

/// A field cannot be renamed from a column another field still uses, nor
/// two fields from one column.
fn check_renames(fields: &[Field], input: &ModuleInput, diags: &mut Diagnostics) {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for (field, declared) in fields.iter().zip(&input.fields) {
        let (Some(old), Some(option)) = (&field.renamed_from, &declared.crud.renamed_from) else {
            continue;
        };
        if fields.iter().any(|other| &other.ident == old) {
            diags.error(
                option.location.clone(),
                format_args!(
                    "field `{}` is renamed from `{old}`, but `{old}` is still a field of `{}`",
                    field.ident, input.declared_name
                ),
            );
        } else if let Some(first) = seen.insert(old, &field.ident) {
            diags.error(
                option.location.clone(),
                format_args!(
                    "fields `{first}` and `{}` are both renamed from `{old}`",
                    field.ident
                ),
            );
        }
    }
}

/// Wire names must be distinct, usable TypeScript property names.
fn check_wire_names(fields: &[Field], diags: &mut Diagnostics) {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for field in fields.iter().filter(|f| !f.is_transient()) {
        let wire = field.wire_name.as_str();
        if let Some(first) = seen.insert(wire, &field.ident) {
            diags.error(
                field.location.clone(),
                format_args!(
                    "fields `{first}` and `{}` are both sent as `{wire}`",
                    field.ident
                ),
            );
        }
        if !is_ts_identifier(wire) {
            diags.error(
                field.location.clone(),
                format_args!(
                    "field `{}` is sent as `{wire}`, which is not a TypeScript identifier; \
                     rename it with `#[serde(rename = \"...\")]`",
                    field.ident
                ),
            );
        } else if is_reserved_property(wire) {
            diags.error(
                field.location.clone(),
                format_args!(
                    "field `{}` is sent as `{wire}`, a name JavaScript objects reserve; rename \
                     it with `#[serde(rename = \"...\")]`",
                    field.ident
                ),
            );
        }
    }
}
