//! A module's schemas: the entity the server sends, and what creating and
//! saving one send, with an example body that keeps the rules.

use aegis_model::{Field, StorageKind};
use serde_json::{Value, json};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use super::schema::{self, Side};
use crate::collect::Unit;

/// The entity, and what creating and saving one send, by schema name.
pub(super) fn entity_schemas(unit: &Unit) -> Vec<(String, RefOr<Schema>)> {
    let module = &unit.module;
    let names = &module.names;
    let reference = |field: &Field| {
        unit.references
            .get(&field.wire_name)
            .map(|target| target.feature.as_str())
    };
    let object = |fields: &mut dyn Iterator<Item = (&Field, bool)>, side: Side| {
        fields.fold(
            ObjectBuilder::new().schema_type(Type::Object),
            |builder, (field, required)| {
                let builder = builder.property(
                    &field.wire_name,
                    schema::field(field, reference(field), side),
                );
                if required {
                    builder.required(&field.wire_name)
                } else {
                    builder
                }
            },
        )
    };
    let entity = object(
        &mut module.sent_fields().map(|f| (f, !f.may_be_omitted)),
        Side::Entity,
    )
    .description(Some(format!(
        "{}: as the server sends it.",
        names.title_singular()
    )))
    .build();
    let inputs = || module.input_fields().map(|f| (f, !f.input_optional));
    // Other keys are allowed: the server reads a create or an update's
    // fields and leaves any other key alone (a client may send the whole
    // row it holds, its id and stamps included).
    let create = object(&mut inputs(), Side::Input)
        .description(Some(format!(
            "{}: what creating one sends.",
            names.title_singular()
        )))
        .build();
    let mut update = object(&mut inputs(), Side::Input);
    if let Some(version) = module.version_field() {
        update = update
            .property(
                &version.wire_name,
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .description(Some("The version the change was based on."))
                    .build(),
            )
            .required(&version.wire_name);
    }
    let update = update
        .description(Some(format!(
            "{}: what saving one sends, every editable field.",
            names.title_singular()
        )))
        .build();
    vec![
        (names.entity_type(), RefOr::T(Schema::Object(entity))),
        (names.create_type(), RefOr::T(Schema::Object(create))),
        (names.update_type(), RefOr::T(Schema::Object(update))),
    ]
}

/// A create body that keeps the module's rules; a reference holds an id
/// of its target's type, which a client replaces with a real one.
pub(super) fn create_example(unit: &Unit) -> Value {
    let mut example = serde_json::Map::new();
    for field in unit.module.input_fields() {
        let value = match &field.references {
            Some(_) if field.nullable => Value::Null,
            Some(_) if field.storage == StorageKind::Integer => json!(1),
            Some(_) => json!("1"),
            None => crate::rust_out::sample(field, unit, 0),
        };
        example.insert(field.wire_name.clone(), value);
    }
    Value::Object(example)
}
