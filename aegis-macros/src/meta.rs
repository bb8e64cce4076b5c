//! A module's `ModuleMeta`, as the runtime reads it: names, and per field
//! what differs from `__a::FIELD` (a data field, every flag off, no rules),
//! so a plain field costs a few tokens. `__a` is `::aegis::__private`,
//! which the caller brings into scope.

use aegis_model::{Field, FieldRole, Module, StorageKind};
use proc_macro2::TokenStream;
use quote::quote;

pub fn module(module: &Module) -> TokenStream {
    let names = &module.names;
    let module_name = names.module();
    let feature = names.feature();
    let entity = names.entity();
    let entity_type = names.entity_type();
    let fields = module
        .fields
        .iter()
        .filter(|field| !field.is_transient())
        .map(field);
    quote! {
        __a::ModuleMeta {
            module: #module_name,
            feature: #feature,
            entity: #entity,
            entity_type: #entity_type,
            fields: &[#(#fields),*],
        }
    }
}

fn field(field: &Field) -> TokenStream {
    let name = &field.ident;
    let wire_name = &field.wire_name;
    let label = &field.label;
    let kind = match field.storage {
        StorageKind::Integer => quote!(Integer),
        StorageKind::Float => quote!(Float),
        StorageKind::Boolean => quote!(Boolean),
        StorageKind::Text => quote!(Text),
        StorageKind::Json => quote!(Json),
    };
    // Only what differs from `__a::FIELD`.
    let mut set = Vec::new();
    match field.role {
        FieldRole::Id => set.push(quote!(role: __a::FieldRole::Id)),
        FieldRole::Version => set.push(quote!(role: __a::FieldRole::Version)),
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
        let flag = quote::format_ident!("{flag}");
        if on {
            set.push(quote!(#flag: true));
        }
    }
    if let Some(old) = &field.renamed_from {
        set.push(quote!(renamed_from: __a::Some(#old)));
    }
    if !field.rules.is_empty() {
        let rules = rules(&field.rules);
        set.push(quote!(rules: #rules));
    }
    if let Some(stamp) = field.stamp {
        let variant = match stamp {
            aegis_model::Stamp::CreatedAt => quote!(CreatedAt),
            aegis_model::Stamp::UpdatedAt => quote!(UpdatedAt),
            aegis_model::Stamp::CreatedBy => quote!(CreatedBy),
            aegis_model::Stamp::UpdatedBy => quote!(UpdatedBy),
        };
        set.push(quote!(stamp: __a::Some(__a::Stamp::#variant)));
    }
    if let Some(reference) = &field.references {
        let module = &reference.module;
        let on_delete = match reference.on_delete {
            aegis_model::OnDelete::Restrict => quote!(Restrict),
            aegis_model::OnDelete::Cascade => quote!(Cascade),
            aegis_model::OnDelete::SetNull => quote!(SetNull),
        };
        set.push(quote!(references: __a::Some(__a::Reference {
            module: #module,
            on_delete: __a::OnDelete::#on_delete,
        })));
    }
    quote! {
        __a::FieldMeta {
            name: #name,
            wire_name: #wire_name,
            kind: __a::FieldKind::#kind,
            label: #label,
            #(#set,)*
            ..__a::FIELD
        }
    }
}

fn rules(rules: &aegis_model::Rules) -> TokenStream {
    let number = |n: Option<f64>| match n {
        Some(n) => quote!(__a::Some(#n)),
        None => quote!(__a::None),
    };
    let length = |n: Option<u32>| match n {
        Some(n) => quote!(__a::Some(#n)),
        None => quote!(__a::None),
    };
    let (min, max) = (number(rules.min), number(rules.max));
    let (min_length, max_length) = (length(rules.min_length), length(rules.max_length));
    let pattern = match &rules.pattern {
        Some(p) => quote!(__a::Some(#p)),
        None => quote!(__a::None),
    };
    let (email, url) = (rules.email, rules.url);
    let one_of = rules.one_of.iter().map(|v| match v {
        aegis_model::RuleValue::Text(t) => quote!(__a::RuleValue::Text(#t)),
        aegis_model::RuleValue::Number(n) => quote!(__a::RuleValue::Number(#n)),
    });
    quote! {
        __a::Rules {
            min: #min,
            max: #max,
            min_length: #min_length,
            max_length: #max_length,
            pattern: #pattern,
            email: #email,
            url: #url,
            one_of: &[#(#one_of),*],
        }
    }
}
