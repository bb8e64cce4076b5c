//! TypeScript declarations for the types entity fields refer to by name.
//!
//! The macro sees only the entity, so a field of type `Status` is a
//! [`TsType::Named`] reference. The generator, which scans every source
//! file, finds the enum or struct of that name and declares it with these
//! functions: a unit-only enum becomes a union of string literals, a struct
//! an interface, a newtype the type it wraps.

use syn::{Fields, ItemEnum, ItemStruct};

use crate::diagnostic::{Diagnostic, Diagnostics, Location};
use crate::mapping;
use crate::serde_attr;
use crate::ts::TsType;

/// A named TypeScript declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TsDecl {
    pub name: String,
    pub body: TsDeclBody,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TsDeclBody {
    /// `export interface Name { ... }`
    Interface(Vec<TsProperty>),
    /// `export type Name = ...;`
    Alias(TsType),
}

/// One property of an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TsProperty {
    pub name: String,
    pub ty: TsType,
    /// `name?:` — serde may leave the key out.
    pub optional: bool,
}

/// A unit-only enum as a union of the strings serde writes for it.
pub fn enum_decl(item: &ItemEnum) -> Result<TsDecl, Vec<Diagnostic>> {
    let mut diags = Diagnostics::new();
    let container = serde_attr::container_attrs(&item.attrs, &mut diags);
    if let Some((key, location)) = &container.reshaped_by {
        diags.error(
            location.clone(),
            format_args!(
                "serde `{key}` on enum `{}` is not supported, only unit-only enums written as \
                 strings map to TypeScript",
                item.ident
            ),
        );
    }
    check_not_generic(&item.ident, &item.generics, &mut diags);
    let mut literals = Vec::new();
    for variant in &item.variants {
        let attrs = serde_attr::variant_attrs(&variant.attrs, &mut diags);
        if attrs.skip {
            continue;
        }
        if !matches!(variant.fields, Fields::Unit) {
            diags.error(
                Location::of(&variant.fields),
                format_args!(
                    "variant `{}::{}` carries data, only unit-only enums map to a TypeScript \
                     union; give fields of this type a `#[crud(ts_type = \"...\")]`",
                    item.ident, variant.ident
                ),
            );
            continue;
        }
        let ident = syn::ext::IdentExt::unraw(&variant.ident).to_string();
        let wire = match (attrs.rename, container.rename_all) {
            (Some(rename), _) => rename,
            (None, Some(rule)) => rule.apply_to_variant(&ident),
            (None, None) => ident,
        };
        literals.push(TsType::Literal(wire));
    }
    if literals.is_empty() && diags.is_empty() {
        diags.error(
            Location::of(&item.ident),
            format_args!("enum `{}` has no variants serde can write", item.ident),
        );
    }
    let ty = if literals.len() == 1 {
        literals.remove(0)
    } else {
        TsType::Union(literals)
    };
    diags.finish(TsDecl {
        name: item.ident.to_string(),
        body: TsDeclBody::Alias(ty),
    })
}

/// A struct as an interface (named fields), the wrapped type (a newtype)
/// or a tuple.
pub fn struct_decl(item: &ItemStruct) -> Result<TsDecl, Vec<Diagnostic>> {
    let mut diags = Diagnostics::new();
    let container = serde_attr::container_attrs(&item.attrs, &mut diags);
    if let Some((key, location)) = &container.reshaped_by {
        diags.error(
            location.clone(),
            format_args!(
                "serde `{key}` on struct `{}` is not supported; give fields of this type a \
                 `#[crud(ts_type = \"...\")]`",
                item.ident
            ),
        );
    }
    check_not_generic(&item.ident, &item.generics, &mut diags);
    let body = match &item.fields {
        Fields::Named(named) => {
            let mut properties = Vec::new();
            for field in &named.named {
                let ident = field.ident.as_ref().expect("named fields have names");
                let ident = syn::ext::IdentExt::unraw(ident).to_string();
                let attrs = serde_attr::field_attrs(&field.attrs, &mut diags);
                if attrs.skip_serializing {
                    continue;
                }
                if let Some(location) = attrs.flatten.or(attrs.custom_with) {
                    diags.error(
                        location,
                        format_args!(
                            "field `{}.{ident}` changes its JSON form with serde attributes \
                             Aegis cannot follow; give fields of type `{}` a \
                             `#[crud(ts_type = \"...\")]`",
                            item.ident, item.ident
                        ),
                    );
                    continue;
                }
                match mapping::map_type(&field.ty, &ident) {
                    Ok(mapped) => {
                        let name = match (attrs.rename, container.rename_all) {
                            (Some(rename), _) => rename,
                            (None, Some(rule)) => rule.apply_to_field(&ident),
                            (None, None) => ident,
                        };
                        properties.push(TsProperty {
                            name,
                            ty: mapped.ts,
                            optional: attrs.skip_serializing_if,
                        });
                    }
                    Err(error) => diags.push(error),
                }
            }
            TsDeclBody::Interface(properties)
        }
        Fields::Unnamed(unnamed) => {
            let mut members = Vec::new();
            for (index, field) in unnamed.unnamed.iter().enumerate() {
                match mapping::map_type(&field.ty, &index.to_string()) {
                    Ok(mapped) => members.push(mapped.ts),
                    Err(error) => diags.push(error),
                }
            }
            if members.len() == 1 {
                TsDeclBody::Alias(members.remove(0))
            } else {
                TsDeclBody::Alias(TsType::Tuple(members))
            }
        }
        Fields::Unit => TsDeclBody::Alias(TsType::Null),
    };
    diags.finish(TsDecl {
        name: item.ident.to_string(),
        body,
    })
}

fn check_not_generic(ident: &syn::Ident, generics: &syn::Generics, diags: &mut Diagnostics) {
    if !generics.params.is_empty() {
        diags.error(
            Location::of(generics),
            format_args!(
                "`{ident}` is generic, so its TypeScript form depends on how it is used; give \
                 fields of this type a `#[crud(ts_type = \"...\")]`"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn union(item: ItemEnum) -> String {
        match enum_decl(&item).expect("declares").body {
            TsDeclBody::Alias(ty) => ty.to_string(),
            other => panic!("expected an alias, got {other:?}"),
        }
    }

    #[test]
    fn unit_enum_is_a_union() {
        assert_eq!(
            union(parse_quote!(
                enum Status {
                    Draft,
                    Approved,
                    OnHold,
                }
            )),
            "'Draft' | 'Approved' | 'OnHold'"
        );
    }

    #[test]
    fn enum_honours_rename_all_rename_and_skip() {
        assert_eq!(
            union(parse_quote! {
                #[serde(rename_all = "snake_case")]
                enum Status {
                    Draft,
                    OnHold,
                    #[serde(rename = "done")]
                    Finished,
                    #[serde(skip)]
                    Internal,
                }
            }),
            "'draft' | 'on_hold' | 'done'"
        );
        assert_eq!(
            union(parse_quote!(
                #[serde(rename_all = "SCREAMING-KEBAB-CASE")]
                enum S {
                    OnHold,
                }
            )),
            "'ON-HOLD'"
        );
    }

    #[test]
    fn data_carrying_and_tagged_enums_are_refused() {
        let errors = enum_decl(&parse_quote!(
            enum Shape {
                Circle(f64),
                Square { side: f64 },
            }
        ))
        .unwrap_err();
        assert_eq!(errors.len(), 2);
        assert!(errors[0].message.contains("`Shape::Circle` carries data"));
        let errors = enum_decl(&parse_quote!(
            #[serde(tag = "type")]
            enum S {
                A,
            }
        ))
        .unwrap_err();
        assert!(errors[0].message.contains("serde `tag`"));
        let errors = enum_decl(&parse_quote!(
            enum Never {}
        ))
        .unwrap_err();
        assert!(errors[0].message.contains("no variants"));
    }

    #[test]
    fn struct_is_an_interface() {
        let decl = struct_decl(&parse_quote! {
            #[serde(rename_all = "camelCase")]
            struct Address {
                street_name: String,
                #[serde(skip_serializing_if = "Option::is_none")]
                post_code: Option<String>,
                #[serde(skip)]
                cache: std::cell::Cell<u8>,
                tags: Vec<Tag>,
            }
        })
        .unwrap();
        assert_eq!(
            decl.body,
            TsDeclBody::Interface(vec![
                TsProperty {
                    name: "streetName".into(),
                    ty: TsType::String,
                    optional: false
                },
                TsProperty {
                    name: "postCode".into(),
                    ty: TsType::String.nullable(),
                    optional: true
                },
                TsProperty {
                    name: "tags".into(),
                    ty: TsType::Array(Box::new(TsType::Named("Tag".into()))),
                    optional: false
                },
            ])
        );
    }

    #[test]
    fn newtypes_and_tuples() {
        let decl = struct_decl(&parse_quote!(
            struct Cents(i64);
        ))
        .unwrap();
        assert_eq!(decl.body, TsDeclBody::Alias(TsType::Number));
        let decl = struct_decl(&parse_quote!(
            struct Point(f64, f64);
        ))
        .unwrap();
        assert_eq!(
            decl.body,
            TsDeclBody::Alias(TsType::Tuple(vec![TsType::Number, TsType::Number]))
        );
        let errors = struct_decl(&parse_quote!(
            struct W<T>(T);
        ))
        .unwrap_err();
        assert!(errors[0].message.contains("is generic"));
    }
}
