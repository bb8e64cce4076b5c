//! The input types, `<Struct>Create` and `<Struct>Update`: their fields,
//! and their `Serialize` and `Deserialize`.
//!
//! serde's derive writes, per struct, a field enum with its visitor and
//! visitors for maps and sequences; for two input types per module it was
//! most of what the macro cost the compiler. When every input field is
//! plain, this module writes a `Deserialize` that is one call to the
//! runtime's `read` with the tuple of the fields' types (the visitor is
//! compiled once, in `aegis::input`), then takes each field: the same JSON
//! read, with the same errors; and a `Serialize` that is one call to its
//! `write` with references to the fields. Any other serde attribute, a generic
//! struct, or more fields than the runtime's tuples hold, keeps serde's
//! derives. Paths go through `__a` (`::aegis::__private`), which the
//! caller brings into scope.

use aegis_model::Field;
use proc_macro2::TokenStream;
use quote::quote;

use crate::text::{Lit, Source, emit, rust};

/// The most fields of an input type the runtime's `Slots` tuples hold
/// (`aegis::input::MAX_FIELDS`).
const MAX_FIELDS: usize = 32;

/// A field of an input type: the entity's field with its docs, and its
/// serde attributes for serde's derives (`plain` types have none).
pub fn field(field: &syn::Field, plain: bool) -> TokenStream {
    let attrs = field
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("doc") || (!plain && a.path().is_ident("serde")));
    let vis = &field.vis;
    let ident = &field.ident;
    let ty = &field.ty;
    quote!(#(#attrs)* #vis #ident: #ty)
}

/// The serde attributes of each of these fields when their input types
/// get [`serde_impls`] rather than serde's derives; `None` when they get
/// serde's derives.
pub fn plain(item: &syn::DeriveInput, fields: &[(&Field, &syn::Field)]) -> Option<Vec<Attrs>> {
    if !item.generics.params.is_empty() || fields.len() > MAX_FIELDS {
        return None;
    }
    fields.iter().map(|(_, field)| attrs(field)).collect()
}

/// `Serialize` and `Deserialize` for input type `name` of plain `fields`,
/// whose serde attributes are `attrs` (from [`plain`], in the same order).
pub fn serde_impls(
    out: &mut Source,
    name: &syn::Ident,
    fields: &[(&Field, &syn::Field)],
    attrs: &[Attrs],
) {
    let name = name.to_string();
    serialize(out, &name, fields, attrs);
    deserialize(out, &name, fields, attrs);
}

/// A field's name in Rust (`r#type` for a raw one).
fn ident(field: &syn::Field) -> String {
    rust(&field.ident)
}

/// One call to `__a::write` with references to the fields; a field with
/// `skip_serializing_if` is left out (and not counted) when its test holds.
fn serialize(out: &mut Source, name: &str, fields: &[(&Field, &syn::Field)], attrs: &[Attrs]) {
    emit!(
        out,
        "impl __a::Serialize for {name} {{\
         fn serialize<__S: __a::Serializer>(&self, __s: __S) -> __a::Result<__S::Ok, __S::Error> {{\
         __a::write(__s, {}, &[",
        Lit(name)
    );
    for (ir, _) in fields {
        emit!(out, "{},", Lit(&ir.wire_name));
    }
    out.push("], &[");
    if attrs.iter().any(|attrs| attrs.skip_if.is_some()) {
        for ((_, field), attrs) in fields.iter().zip(attrs) {
            match &attrs.skip_if {
                Some(skip) => emit!(out, "{}(&self.{}),", rust(skip), ident(field)),
                None => out.push("false,"),
            }
        }
    }
    out.push("], (");
    for (_, field) in fields {
        emit!(out, "&self.{},", ident(field));
    }
    out.push(")) } }");
}

/// One call to `__a::read` with the tuple of the fields' types, and a
/// closure that takes each field, or fills it when its key was missing.
fn deserialize(out: &mut Source, name: &str, fields: &[(&Field, &syn::Field)], attrs: &[Attrs]) {
    let types = fields.iter().map(|(_, field)| rust(&field.ty) + ",");
    let slots = (0..fields.len()).map(|slot| format!("__f{slot},"));
    emit!(
        out,
        "impl<'de> __a::Deserialize<'de> for {name} {{\
         fn deserialize<__D: __a::Deserializer<'de>>(__d: __D) -> __a::Result<Self, __D::Error> {{\
         __a::read::<({}), _, _, _>(__d, {}, &[",
        types.collect::<String>(),
        Lit(name),
    );
    for (ir, _) in fields {
        emit!(out, "{},", Lit(&ir.wire_name));
    }
    emit!(
        out,
        "], |({})| __a::Ok({name} {{",
        slots.collect::<String>()
    );
    for (slot, ((ir, field), attrs)) in fields.iter().zip(attrs).enumerate() {
        let ident = ident(field);
        match &attrs.missing {
            Missing::Default => emit!(out, "{ident}: __f{slot}.unwrap_or_default(),"),
            Missing::Function(path) => {
                emit!(out, "{ident}: __f{slot}.unwrap_or_else({}),", rust(path));
            }
            Missing::Required => emit!(
                out,
                "{ident}: __a::take(__f{slot}, {})?,",
                Lit(&ir.wire_name)
            ),
        }
    }
    out.push("})) } }");
}

/// What a plain input field takes when its key is missing.
enum Missing {
    /// serde's rule: `None` for an `Option`, else an error.
    Required,
    /// `#[serde(default)]`.
    Default,
    /// `#[serde(default = "path")]`.
    Function(syn::ExprPath),
}

/// The serde attributes of a plain field.
pub struct Attrs {
    missing: Missing,
    /// `#[serde(skip_serializing_if = "path")]`.
    skip_if: Option<syn::ExprPath>,
}

/// The serde attributes of `field`, when it is plain: `rename` (the model
/// has its JSON name), `default` and `skip_serializing_if` at most. `None`
/// when it has any other.
fn attrs(field: &syn::Field) -> Option<Attrs> {
    let mut attrs = Attrs {
        missing: Missing::Required,
        skip_if: None,
    };
    let path = |meta: &syn::meta::ParseNestedMeta| -> syn::Result<syn::ExprPath> {
        meta.value()?.parse::<syn::LitStr>()?.parse()
    };
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let parsed = attr.parse_nested_meta(|meta| {
            let key = meta.path.get_ident().map(ToString::to_string);
            match key.as_deref() {
                Some("default") if meta.input.peek(syn::Token![=]) => {
                    attrs.missing = Missing::Function(path(&meta)?);
                }
                Some("default") => attrs.missing = Missing::Default,
                Some("skip_serializing_if") => attrs.skip_if = Some(path(&meta)?),
                Some("rename") => {
                    if meta.input.peek(syn::Token![=]) {
                        meta.value()?.parse::<syn::Expr>()?;
                    } else {
                        meta.parse_nested_meta(|inner| {
                            inner.value()?.parse::<syn::Expr>().map(drop)
                        })?;
                    }
                }
                _ => return Err(meta.error("not a plain field")),
            }
            Ok(())
        });
        parsed.ok()?;
    }
    Some(attrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(attrs: proc_macro2::TokenStream) -> syn::Field {
        syn::parse_quote!(#attrs pub name: String)
    }

    #[test]
    fn plain_fields_are_the_ones_the_small_impls_read_alike() {
        for plain in [
            quote!(),
            quote!(#[doc = "The name."]),
            quote!(#[serde(rename = "title")]),
            quote!(#[serde(rename(serialize = "t", deserialize = "t"))]),
            quote!(#[serde(default)] #[serde(skip_serializing_if = "String::is_empty")]),
            quote!(#[serde(default = "fallback", skip_serializing_if = "String::is_empty")]),
        ] {
            assert!(attrs(&field(plain.clone())).is_some(), "{plain}");
        }
        for other in [
            quote!(#[serde(alias = "title")]),
            quote!(#[serde(with = "module")]),
            quote!(#[serde(deserialize_with = "read")]),
            quote!(#[serde(serialize_with = "write")]),
            quote!(#[serde(skip_serializing)]),
            quote!(#[serde(borrow)]),
            quote!(#[serde(bound = "")]),
        ] {
            assert!(attrs(&field(other.clone())).is_none(), "{other}");
        }
        let missing = |tokens| attrs(&field(tokens)).map(|attrs| attrs.missing);
        assert!(matches!(missing(quote!()), Some(Missing::Required)));
        assert!(matches!(
            missing(quote!(#[serde(default)])),
            Some(Missing::Default)
        ));
        assert!(matches!(
            missing(quote!(#[serde(default = "fallback")])),
            Some(Missing::Function(_))
        ));
    }
}
