//! JSON Schemas, in OpenAPI 3.1's dialect (JSON Schema 2020-12), of what
//! crosses the REST API: the types the TypeScript declares, read from the
//! same tree ([`TsType`], [`TsDecl`]), and a field's schema refined by what
//! the model knows besides (integers, formats, rules, references).

use aegis_model::decl::{TsDecl, TsDeclBody};
use aegis_model::{
    Field, FieldRole, RuleValue, Rules, StorageKind, TsProperty, TsType, ValueFormat,
};
use serde_json::{Value, json};
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::schema::{
    AdditionalProperties, AllOfBuilder, AnyOfBuilder, ArrayBuilder, ArrayItems, Object,
    ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr};

/// The extension naming the feature whose id a reference field holds.
pub(crate) const REFERENCES: &str = "x-aegis-references";
/// The extension naming the feature whose ids a many-to-many field lists.
pub(crate) const MANY: &str = "x-aegis-many";

/// A schema of one JSON type.
pub(crate) fn typed(ty: Type) -> Object {
    ObjectBuilder::new().schema_type(ty).build()
}

/// A schema that any JSON value satisfies.
pub(crate) fn any_value() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::AnyValue)
        .build()
}

/// A reference to a component schema.
pub(crate) fn component(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

/// `schema` where a nested schema must be inline: a reference becomes
/// `allOf: [$ref]`.
fn inline(schema: RefOr<Schema>) -> Schema {
    match schema {
        RefOr::T(schema) => schema,
        reference => Schema::AllOf(AllOfBuilder::new().item(reference).build()),
    }
}

fn object(schema: Object) -> RefOr<Schema> {
    RefOr::T(Schema::Object(schema))
}

/// The schema of a TypeScript type.
pub(crate) fn of_ts(ty: &TsType) -> RefOr<Schema> {
    match ty {
        TsType::Number => object(typed(Type::Number)),
        TsType::String => object(typed(Type::String)),
        TsType::Boolean => object(typed(Type::Boolean)),
        TsType::Null => object(typed(Type::Null)),
        TsType::Json => object(any_value()),
        TsType::Raw(ts) => object(
            ObjectBuilder::new()
                .schema_type(SchemaType::AnyValue)
                .description(Some(format!("TypeScript: `{ts}`")))
                .build(),
        ),
        TsType::Array(inner) => RefOr::T(Schema::Array(
            ArrayBuilder::new().items(of_ts(inner)).build(),
        )),
        TsType::Tuple(members) => RefOr::T(Schema::Array(
            ArrayBuilder::new()
                .items(ArrayItems::False)
                .prefix_items(members.iter().map(|m| inline(of_ts(m))))
                .min_items(Some(members.len()))
                .max_items(Some(members.len()))
                .build(),
        )),
        TsType::Record(value) => object(
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .additional_properties(Some(AdditionalProperties::RefOr(of_ts(value))))
                .build(),
        ),
        TsType::Literal(text) => object(literals([text.as_str()])),
        TsType::Union(members) => union(members),
        TsType::Named(name) => component(name),
        TsType::Object(properties) => object(properties_object(properties, &[])),
        TsType::Intersection(members) => RefOr::T(Schema::AllOf(
            members
                .iter()
                .fold(AllOfBuilder::new(), |all, m| all.item(of_ts(m)))
                .build(),
        )),
    }
}

fn literals<'a>(values: impl IntoIterator<Item = &'a str>) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .build()
}

fn union(members: &[TsType]) -> RefOr<Schema> {
    let values: Vec<&str> = members
        .iter()
        .filter_map(|m| match m {
            TsType::Literal(text) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let others: Vec<&TsType> = members
        .iter()
        .filter(|m| !matches!(m, TsType::Literal(_) | TsType::Null))
        .collect();
    let null = members.contains(&TsType::Null);
    let schema = match (values.is_empty(), others.as_slice()) {
        (false, []) => object(literals(values)),
        (true, [only]) => of_ts(only),
        _ => {
            let mut any = AnyOfBuilder::new();
            if !values.is_empty() {
                any = any.item(literals(values));
            }
            RefOr::T(Schema::AnyOf(
                others.iter().fold(any, |any, m| any.item(of_ts(m))).build(),
            ))
        }
    };
    if null { nullable(schema) } else { schema }
}

/// `schema`, or `null`.
pub(crate) fn nullable(schema: RefOr<Schema>) -> RefOr<Schema> {
    match schema {
        RefOr::T(Schema::Object(mut object)) => match &object.schema_type {
            SchemaType::Type(Type::Null) | SchemaType::AnyValue => RefOr::T(Schema::Object(object)),
            SchemaType::Type(ty) => {
                object.schema_type = SchemaType::from_iter([ty.clone(), Type::Null]);
                if let Some(values) = &mut object.enum_values {
                    values.push(Value::Null);
                }
                RefOr::T(Schema::Object(object))
            }
            SchemaType::Array(_) => RefOr::T(Schema::Object(object)),
        },
        other => RefOr::T(Schema::OneOf(
            OneOfBuilder::new()
                .item(other)
                .item(typed(Type::Null))
                .build(),
        )),
    }
}

fn properties_object(properties: &[TsProperty], integers: &[String]) -> Object {
    properties
        .iter()
        .fold(
            ObjectBuilder::new().schema_type(Type::Object),
            |builder, p| {
                let mut schema = of_ts(&p.ty);
                if integers.contains(&p.name) {
                    schema = whole(schema);
                }
                let builder = builder.property(&p.name, schema);
                if p.optional {
                    builder
                } else {
                    builder.required(&p.name)
                }
            },
        )
        .build()
}

/// A number schema made an integer one (`null` kept).
fn whole(schema: RefOr<Schema>) -> RefOr<Schema> {
    match schema {
        RefOr::T(Schema::Object(mut object)) => {
            object.schema_type = match object.schema_type {
                SchemaType::Type(Type::Number) => SchemaType::Type(Type::Integer),
                SchemaType::Array(types) => SchemaType::Array(
                    types
                        .into_iter()
                        .map(|t| if t == Type::Number { Type::Integer } else { t })
                        .collect(),
                ),
                other => other,
            };
            RefOr::T(Schema::Object(object))
        }
        other => other,
    }
}

/// The schema of a declaration; `params` stand for the type arguments it
/// is instantiated with, by position, and `integers` name the properties
/// whose Rust type is an integer (TypeScript has only `number`).
pub(crate) fn of_decl(decl: &TsDecl, args: &[String], integers: &[String]) -> RefOr<Schema> {
    let decl = decl.rename_named(&|name| {
        decl.params
            .iter()
            .position(|p| p == name)
            .and_then(|i| args.get(i).cloned())
    });
    match &decl.body {
        TsDeclBody::Interface(properties) => object(properties_object(properties, integers)),
        TsDeclBody::Alias(ty) => of_ts(ty),
    }
}

/// A rule's number, written as the model wrote it (`0`, not `0.0`).
fn number(value: f64) -> utoipa::Number {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        utoipa::Number::Int(value as isize)
    } else {
        utoipa::Number::Float(value)
    }
}

/// What a field is in the entity the server sends (`Entity`) or in what
/// a client sends (`Input`, where the field's rules apply).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Entity,
    Input,
}

/// The schema of one field's value: its type, `null` when it may be, its
/// label, whether the server sets it, the rules clients must keep, and
/// the feature it references.
pub(crate) fn field(field: &Field, references: Option<&str>, side: Side) -> RefOr<Schema> {
    let key = if field.many.is_some() {
        MANY
    } else {
        REFERENCES
    };
    let extensions =
        references.map(|feature| ExtensionsBuilder::new().add(key, json!(feature)).build());
    let schema = match value(field) {
        RefOr::T(Schema::Object(mut schema)) => {
            if side == Side::Input {
                apply_rules(&mut schema, &field.rules);
            }
            schema.description = Some(field.label.clone());
            if side == Side::Entity && (field.role != FieldRole::Data || field.readonly) {
                schema.read_only = Some(true);
            }
            schema.extensions = extensions;
            object(schema)
        }
        RefOr::T(Schema::Array(mut array)) => {
            array.description = Some(field.label.clone());
            array.extensions = extensions;
            if field.many.is_some() {
                array.max_items = Some(aegis_protocol::query::MAX_LINKS);
                array.unique_items = true;
            }
            RefOr::T(Schema::Array(array))
        }
        // A named type or a composite: the field's facts go beside it.
        other => {
            let mut all = AllOfBuilder::new().item(other);
            let mut rules = any_value();
            if side == Side::Input {
                apply_rules(&mut rules, &field.rules);
            }
            if rules != any_value() {
                all = all.item(rules);
            }
            let mut all = all.description(Some(field.label.clone())).build();
            all.extensions = extensions;
            RefOr::T(Schema::AllOf(all))
        }
    };
    if field.nullable {
        nullable(schema)
    } else {
        schema
    }
}

/// The schema of a field's value, `null` left out: what a filter or a
/// path parameter takes.
pub(crate) fn value(field: &Field) -> RefOr<Schema> {
    value_schema(field, &without_null(field))
}

/// What a filter of a field takes (`aegis/src/query.rs`): its value as
/// the view reads it. A date, a time, a uuid, a decimal or an enum is
/// compared as its text, so any text will do (one that is no value finds
/// no row); a point in time is read as one (RFC 3339); an integer as a
/// 64-bit one, whatever the field's own type.
pub(crate) fn filter_value(field: &Field) -> RefOr<Schema> {
    if let Some(many) = &field.many {
        // A list of links is filtered by the ids it holds.
        let mut integer = ObjectBuilder::new().schema_type(Type::Integer).build();
        integer.minimum = Some(utoipa::Number::Int(i64::MIN as isize));
        integer.maximum = Some(utoipa::Number::Int(i64::MAX as isize));
        return match many.ids {
            StorageKind::Integer => object(integer),
            _ => object(typed(Type::String)),
        };
    }
    match field.format {
        Some(ValueFormat::Instant) | Some(ValueFormat::Char) => value(field),
        Some(_) => object(typed(Type::String)),
        None if field.storage == StorageKind::Json => object(typed(Type::String)),
        None if field.storage == StorageKind::Integer => {
            let mut integer = ObjectBuilder::new().schema_type(Type::Integer).build();
            integer.minimum = Some(utoipa::Number::Int(i64::MIN as isize));
            integer.maximum = Some(utoipa::Number::Int(i64::MAX as isize));
            object(integer)
        }
        None => value(field),
    }
}

/// The field's TypeScript type without `null`.
fn without_null(field: &Field) -> TsType {
    match &field.ts {
        TsType::Union(members) if field.nullable => {
            let rest: Vec<TsType> = members
                .iter()
                .filter(|m| **m != TsType::Null)
                .cloned()
                .collect();
            match rest.as_slice() {
                [only] => only.clone(),
                _ => TsType::Union(rest),
            }
        }
        other => other.clone(),
    }
}

/// The schema of a field's value without `null`.
fn value_schema(field: &Field, base: &TsType) -> RefOr<Schema> {
    let string = |format: Option<&str>| {
        let builder = ObjectBuilder::new().schema_type(Type::String);
        object(
            match format {
                Some(format) => builder.format(Some(SchemaFormat::Custom(format.to_owned()))),
                None => builder,
            }
            .build(),
        )
    };
    // A format is an annotation to a JSON Schema validator; the pattern
    // says what the server reads (an empty text is no date).
    let patterned = |format: &str, pattern: String| {
        let mut schema = ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom(format.to_owned())))
            .build();
        schema.pattern = Some(pattern);
        object(schema)
    };
    match field.format {
        Some(ValueFormat::Date) => return patterned("date", date_pattern()),
        Some(ValueFormat::Instant) => return patterned("date-time", date_time_pattern()),
        Some(ValueFormat::Uuid) => return patterned("uuid", UUID_PATTERN.to_owned()),
        Some(ValueFormat::LocalDateTime | ValueFormat::Time | ValueFormat::Decimal) => {
            return string(None);
        }
        Some(ValueFormat::Char) => {
            return object(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(1))
                    .build(),
            );
        }
        // What an upload answered (`POST .../files/<field>`).
        Some(ValueFormat::File) => return component("StoredFile"),
        None => {}
    }
    match (field.storage, base) {
        (StorageKind::Integer, TsType::Number) => {
            let mut integer = ObjectBuilder::new().schema_type(Type::Integer).build();
            if let Some((least, most)) = field.range {
                integer.minimum = Some(utoipa::Number::Int(least as isize));
                integer.maximum = Some(utoipa::Number::Int(most as isize));
            }
            object(integer)
        }
        _ => of_ts(base),
    }
}

/// A month and a day of it (February up to the 29th: whether the year
/// has one is beyond a pattern).
const MONTH_DAY: &str = "((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-9]))";

/// A calendar date, as chrono reads one: `2026-01-31`.
fn date_pattern() -> String {
    format!("^[0-9]{{4}}-{MONTH_DAY}$")
}

/// A point in time, RFC 3339 with its offset.
fn date_time_pattern() -> String {
    format!(
        "^[0-9]{{4}}-{MONTH_DAY}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{{1,9}})?\
         (Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
    )
}

/// A uuid, hyphenated.
const UUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

fn apply_rules(schema: &mut Object, rules: &Rules) {
    // A rule narrows what the type holds; without one, the type's bounds stay.
    if let Some(min) = rules.min {
        schema.minimum = Some(number(min));
    }
    if let Some(max) = rules.max {
        schema.maximum = Some(number(max));
    }
    if let Some(least) = rules.min_length {
        schema.min_length = Some(least as usize);
    }
    if let Some(most) = rules.max_length {
        schema.max_length = Some(most as usize);
    }
    if let Some(pattern) = &rules.pattern {
        schema.pattern = Some(format!("^(?:{pattern})$"));
    }
    if rules.email {
        schema.format = Some(SchemaFormat::Custom("email".into()));
    }
    if rules.url {
        schema.format = Some(SchemaFormat::Custom("uri".into()));
    }
    if !rules.one_of.is_empty() {
        schema.enum_values = Some(
            rules
                .one_of
                .iter()
                .map(|value| match value {
                    RuleValue::Text(text) => json!(text),
                    RuleValue::Number(n) => serde_json::to_value(number(*n)).unwrap_or(json!(n)),
                })
                .collect(),
        );
    }
}
