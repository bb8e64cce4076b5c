//! The input types, `<Struct>Create` and `<Struct>Update`: their fields,
//! and their `Deserialize`.
//!
//! serde's derive writes, per struct, a field enum with its visitor and
//! visitors for maps and sequences; for two input types per module it was
//! most of what the macro cost the compiler. When every input field is
//! plain, this module writes one map visitor instead, over the runtime's
//! shared functions (`aegis::input`), which read the same JSON with the
//! same errors. Any other serde attribute, or a generic struct, keeps
//! serde's derive. Paths go through `__a` (`::aegis::__private`), which
//! the caller brings into scope: each token emitted costs compile time.

use aegis_model::Field;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

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
    if !item.generics.params.is_empty() {
        return None;
    }
    fields.iter().map(|(_, field)| attrs(field)).collect()
}

/// `Serialize` and `Deserialize` for input type `name` of plain `fields`,
/// whose serde attributes are `attrs` (from [`plain`], in the same order).
pub fn serde_impls(
    name: &syn::Ident,
    fields: &[(&Field, &syn::Field)],
    attrs: &[Attrs],
) -> TokenStream {
    let serialize = serialize(name, fields, attrs);
    let deserialize = deserialize(name, fields, attrs);
    quote!(#serialize #deserialize)
}

/// What serde's derive writes: each field under its JSON name, one with
/// `skip_serializing_if` left out (and not counted) when its test holds.
fn serialize(name: &syn::Ident, fields: &[(&Field, &syn::Field)], attrs: &[Attrs]) -> TokenStream {
    let type_name = name.to_string();
    let mut count = Vec::new();
    let mut writes = Vec::new();
    for ((ir, field), attrs) in fields.iter().zip(attrs) {
        let ident = &field.ident;
        let wire_name = &ir.wire_name;
        let write = quote!(__t.serialize_field(#wire_name, &self.#ident)?;);
        match &attrs.skip_if {
            Some(skip) => {
                count.push(quote!(if #skip(&self.#ident) { 0 } else { 1 }));
                writes.push(
                    quote!(if #skip(&self.#ident) { __t.skip_field(#wire_name)?; } else { #write }),
                );
            }
            None => {
                count.push(quote!(1));
                writes.push(write);
            }
        }
    }
    quote! {
        impl __a::Serialize for #name {
            fn serialize<__S: __a::Serializer>(&self, __s: __S) -> __a::Result<__S::Ok, __S::Error> {
                use __a::SerializeStruct as _;
                let mut __t = __s.serialize_struct(#type_name, 0 #(+ #count)*)?;
                #(#writes)*
                __t.end()
            }
        }
    }
}

fn deserialize(
    name: &syn::Ident,
    fields: &[(&Field, &syn::Field)],
    attrs: &[Attrs],
) -> TokenStream {
    let expecting = format!("struct {name}");
    let type_name = name.to_string();
    let wire_names: Vec<&str> = fields.iter().map(|(ir, _)| ir.wire_name.as_str()).collect();
    let slots: Vec<syn::Ident> = (0..fields.len()).map(|n| format_ident!("__f{n}")).collect();
    let indices = 0..fields.len();
    let built = fields
        .iter()
        .zip(attrs)
        .zip(&slots)
        .map(|(((ir, field), attrs), slot)| {
            let ident = &field.ident;
            let wire_name = &ir.wire_name;
            let value = match &attrs.missing {
                Missing::Default => quote!(#slot.unwrap_or_default()),
                Missing::Function(path) => quote!(#slot.unwrap_or_else(#path)),
                Missing::Required => quote!(__a::take(#slot, #wire_name)?),
            };
            quote!(#ident: #value)
        });
    quote! {
        impl<'de> __a::Deserialize<'de> for #name {
            fn deserialize<__D: __a::Deserializer<'de>>(__d: __D) -> __a::Result<Self, __D::Error> {
                const __F: &[&str] = &[#(#wire_names),*];
                struct __V;
                impl<'de> __a::Visitor<'de> for __V {
                    type Value = #name;
                    fn expecting(&self, __f: &mut __a::Formatter) -> __a::FmtResult {
                        __f.write_str(#expecting)
                    }
                    fn visit_map<__A: __a::MapAccess<'de>>(self, mut __m: __A) -> __a::Result<#name, __A::Error> {
                        #(let mut #slots = __a::None;)*
                        while let __a::Some(__k) = __m.next_key_seed(__a::Key(__F))? {
                            match __k {
                                #(#indices => __a::value(&mut __m, &mut #slots, #wire_names)?,)*
                                _ => __a::skip(&mut __m)?,
                            }
                        }
                        __a::Ok(#name { #(#built,)* })
                    }
                }
                __d.deserialize_struct(#type_name, __F, __V)
            }
        }
    }
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
