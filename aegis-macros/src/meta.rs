//! A module's `ModuleMeta`, as the runtime reads it: names, and per field
//! what differs from `__a::FIELD` (a data field, every flag off, no rules),
//! so a plain field costs little to compile. `__a` is
//! `::aegis::__private`, which the caller brings into scope.

use aegis_model::{Field, FieldRole, Module, StorageKind};

use crate::text::{Lit, Source, emit};

/// The `ModuleMeta` expression of `module`.
pub fn module(out: &mut Source, module: &Module) {
    let names = &module.names;
    emit!(
        out,
        "__a::ModuleMeta {{ module: {}, feature: {}, entity: {}, entity_type: {}, fields: &[",
        Lit(names.module()),
        Lit(&names.feature()),
        Lit(&names.entity()),
        Lit(&names.entity_type()),
    );
    for field in module.fields.iter().filter(|field| !field.is_transient()) {
        self::field(out, field);
    }
    out.push("] }");
}

/// A field's `FieldMeta`, followed by a comma.
fn field(out: &mut Source, field: &Field) {
    let kind = match field.storage {
        StorageKind::Integer => "Integer",
        StorageKind::Float => "Float",
        StorageKind::Boolean => "Boolean",
        StorageKind::Text => "Text",
        StorageKind::Json => "Json",
    };
    emit!(
        out,
        "__a::FieldMeta {{ name: {}, wire_name: {}, kind: __a::FieldKind::{kind}, label: {},",
        Lit(&field.ident),
        Lit(&field.wire_name),
        Lit(&field.label),
    );
    // Only what differs from `__a::FIELD`.
    match field.role {
        FieldRole::Id => out.push("role: __a::FieldRole::Id,"),
        FieldRole::Version => out.push("role: __a::FieldRole::Version,"),
        FieldRole::Data => {}
    }
    let flags = [
        ("instant", field.is_instant()),
        ("nullable", field.nullable),
        ("readonly", field.readonly),
        ("hidden", field.hidden),
        ("required_input", field.is_input() && !field.input_optional),
    ];
    for (flag, on) in flags {
        if on {
            emit!(out, "{flag}: true,");
        }
    }
    if let Some(old) = &field.renamed_from {
        emit!(out, "renamed_from: __a::Some({}),", Lit(old));
    }
    if !field.rules.is_empty() {
        out.push("rules: ");
        rules(out, &field.rules);
        out.push(",");
    }
    if let Some(stamp) = field.stamp {
        let variant = match stamp {
            aegis_model::Stamp::CreatedAt => "CreatedAt",
            aegis_model::Stamp::UpdatedAt => "UpdatedAt",
            aegis_model::Stamp::CreatedBy => "CreatedBy",
            aegis_model::Stamp::UpdatedBy => "UpdatedBy",
        };
        emit!(out, "stamp: __a::Some(__a::Stamp::{variant}),");
    }
    relations(out, field);
    if let Some(file) = &field.file {
        emit!(
            out,
            "file: __a::Some(__a::FileRules {{ max_bytes: {}, types: &[",
            file.max_bytes
        );
        for ty in &file.types {
            emit!(out, "{},", Lit(ty));
        }
        out.push("] }),");
    }
    out.push("..__a::FIELD },");
}

/// A field's `references` and `many`, where it has them.
fn relations(out: &mut Source, field: &Field) {
    if let Some(reference) = &field.references {
        let on_delete = match reference.on_delete {
            aegis_model::OnDelete::Restrict => "Restrict",
            aegis_model::OnDelete::Cascade => "Cascade",
            aegis_model::OnDelete::SetNull => "SetNull",
        };
        emit!(
            out,
            "references: __a::Some(__a::Reference {{ module: {}, on_delete: __a::OnDelete::{on_delete} }}),",
            Lit(&reference.module),
        );
    }
    if let Some(many) = &field.many {
        let ids = match many.ids {
            StorageKind::Integer => "Integer",
            _ => "Text",
        };
        emit!(
            out,
            "many: __a::Some(__a::Many {{ module: {}, ids: __a::FieldKind::{ids} }}),",
            Lit(&many.module),
        );
    }
}

fn rules(out: &mut Source, rules: &aegis_model::Rules) {
    // `Debug` of an `f64` is a float literal's syntax (`1.0`, `1e300`).
    let number = |n: Option<f64>| n.map_or("__a::None".to_owned(), |n| format!("__a::Some({n:?})"));
    let length = |n: Option<u32>| n.map_or("__a::None".to_owned(), |n| format!("__a::Some({n})"));
    let pattern = rules
        .pattern
        .as_deref()
        .map_or("__a::None".to_owned(), |p| format!("__a::Some({})", Lit(p)));
    emit!(
        out,
        "__a::Rules {{ min: {}, max: {}, min_length: {}, max_length: {}, pattern: {pattern}, \
         email: {}, url: {}, one_of: &[",
        number(rules.min),
        number(rules.max),
        length(rules.min_length),
        length(rules.max_length),
        rules.email,
        rules.url,
    );
    for value in &rules.one_of {
        match value {
            aegis_model::RuleValue::Text(t) => emit!(out, "__a::RuleValue::Text({}),", Lit(t)),
            aegis_model::RuleValue::Number(n) => emit!(out, "__a::RuleValue::Number({n:?}),"),
        }
    }
    out.push("] }");
}
