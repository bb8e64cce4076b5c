//! TypeScript declarations for named Rust types.
//!
//! The macro sees only the entity, so a field of type `Status` is a
//! [`TsType::Named`] reference. The generator, which scans every source
//! file, finds the enum or struct of that name and declares it with these
//! functions: a unit-only enum becomes a union of string literals, a struct
//! an interface, a newtype the type it wraps. The runtime's own protocol
//! types are declared the same way, which also needs internally tagged
//! enums (discriminated unions) and generic structs.

use std::fmt::Write as _;

use syn::{Fields, ItemEnum, ItemStruct};

use crate::diagnostic::{Diagnostic, Diagnostics, Location};
use crate::mapping;
use crate::serde_attr::{self, RenameRule};
use crate::ts::{PRINT_WIDTH, TsProperty, TsType};

/// A named TypeScript declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TsDecl {
    pub name: String,
    /// Type parameters, for a generic struct.
    pub params: Vec<String>,
    pub body: TsDeclBody,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TsDeclBody {
    /// `export interface Name { ... }`
    Interface(Vec<TsProperty>),
    /// `export type Name = ...;`
    Alias(TsType),
}

impl TsDecl {
    /// The declaration as TypeScript, one `export` ending in a newline,
    /// laid out as Prettier lays it out: a union that does not fit on the
    /// declaration's line goes to the next, and one that does not fit there
    /// either takes a line per member.
    pub fn render(&self) -> String {
        let params = if self.params.is_empty() {
            String::new()
        } else {
            format!("<{}>", self.params.join(", "))
        };
        let mut out = String::new();
        match &self.body {
            TsDeclBody::Interface(properties) => {
                let _ = writeln!(out, "export interface {}{params} {{", self.name);
                for property in properties {
                    let _ = writeln!(out, "  {property};");
                }
                out.push_str("}\n");
            }
            TsDeclBody::Alias(union @ TsType::Union(members)) => {
                let head = format!("export type {}{params} =", self.name);
                let one = format!("{head} {union};");
                if one.chars().count() <= PRINT_WIDTH {
                    let _ = writeln!(out, "{one}");
                } else if format!("  {union};").chars().count() <= PRINT_WIDTH {
                    let _ = writeln!(out, "{head}\n  {union};");
                } else {
                    out.push_str(&head);
                    for member in members {
                        let _ = write!(out, "\n  | {}", TsType::union_member(member));
                    }
                    out.push_str(";\n");
                }
            }
            TsDeclBody::Alias(ty) => {
                let _ = writeln!(out, "export type {}{params} = {ty};", self.name);
            }
        }
        out
    }

    /// The types inside this declaration.
    pub fn types(&self) -> Vec<&TsType> {
        match &self.body {
            TsDeclBody::Interface(properties) => properties.iter().map(|p| &p.ty).collect(),
            TsDeclBody::Alias(ty) => vec![ty],
        }
    }

    /// This declaration with every named reference passed through `rename`.
    pub fn rename_named(&self, rename: &impl Fn(&str) -> Option<String>) -> TsDecl {
        let body = match &self.body {
            TsDeclBody::Interface(properties) => TsDeclBody::Interface(
                properties
                    .iter()
                    .map(|p| TsProperty {
                        name: p.name.clone(),
                        ty: p.ty.rename_named(rename),
                        optional: p.optional,
                    })
                    .collect(),
            ),
            TsDeclBody::Alias(ty) => TsDeclBody::Alias(ty.rename_named(rename)),
        };
        TsDecl {
            name: self.name.clone(),
            params: self.params.clone(),
            body,
        }
    }

    /// Every named type this declaration refers to, type parameters left out.
    pub fn named_references(&self) -> Vec<&str> {
        let mut names: Vec<&str> = match &self.body {
            TsDeclBody::Interface(properties) => properties
                .iter()
                .flat_map(|p| p.ty.named_references())
                .collect(),
            TsDeclBody::Alias(ty) => ty.named_references(),
        };
        names.retain(|name| !self.params.iter().any(|p| p == name));
        names
    }
}

fn wire_name(
    ident: &syn::Ident,
    rename: Option<String>,
    rule: Option<RenameRule>,
    field: bool,
) -> String {
    let ident = syn::ext::IdentExt::unraw(ident).to_string();
    match (rename, rule) {
        (Some(rename), _) => rename,
        (None, Some(rule)) if field => rule.apply_to_field(&ident),
        (None, Some(rule)) => rule.apply_to_variant(&ident),
        (None, None) => ident,
    }
}

/// An enum as a TypeScript type: a union of string literals (unit-only), or
/// with serde `tag`, a discriminated union of object types.
pub fn enum_decl(item: &ItemEnum) -> Result<TsDecl, Vec<Diagnostic>> {
    let mut diags = Diagnostics::new();
    let container = serde_attr::container_attrs(&item.attrs, &mut diags);
    if let Some((key, location)) = &container.reshaped_by {
        diags.error(
            location.clone(),
            format_args!(
                "serde `{key}` on enum `{}` is not supported, only unit-only enums and enums \
                 with a serde `tag` map to TypeScript",
                item.ident
            ),
        );
    }
    let params = type_params(&item.generics, &item.ident, &mut diags);
    let tag = container.tag.as_ref().map(|(tag, _)| tag.as_str());
    let mut members = Vec::new();
    for variant in &item.variants {
        let attrs = serde_attr::variant_attrs(&variant.attrs, &mut diags);
        if attrs.skip {
            continue;
        }
        let name = wire_name(&variant.ident, attrs.rename, container.rename_all, false);
        let member = match tag {
            Some(tag) => {
                let rule = attrs.rename_all.or(container.rename_all_fields);
                tagged_member(variant, tag, name, rule, &mut diags)
            }
            None => unit_member(item, variant, name, &mut diags),
        };
        members.extend(member);
    }
    if members.is_empty() && diags.is_empty() {
        diags.error(
            Location::of(&item.ident),
            format_args!("enum `{}` has no variants serde can write", item.ident),
        );
    }
    let ty = if members.len() == 1 {
        members.remove(0)
    } else {
        TsType::Union(members)
    };
    diags.finish(TsDecl {
        name: item.ident.to_string(),
        params,
        body: TsDeclBody::Alias(ty),
    })
}

/// A variant of an untagged enum: its name, when it carries no data.
fn unit_member(
    item: &ItemEnum,
    variant: &syn::Variant,
    name: String,
    diags: &mut Diagnostics,
) -> Option<TsType> {
    if matches!(variant.fields, Fields::Unit) {
        return Some(TsType::Literal(name));
    }
    diags.error(
        Location::of(&variant.fields),
        format_args!(
            "variant `{}::{}` carries data, only unit-only enums and enums with a serde `tag` \
             map to TypeScript; give fields of this type a `#[crud(ts_type = \"...\")]`",
            item.ident, variant.ident
        ),
    );
    None
}

/// A variant of an enum with a serde `tag`: an object with the tag, and
/// its fields or the struct it wraps.
fn tagged_member(
    variant: &syn::Variant,
    tag: &str,
    name: String,
    rule: Option<RenameRule>,
    diags: &mut Diagnostics,
) -> Option<TsType> {
    let tag_property = TsProperty {
        name: tag.to_owned(),
        ty: TsType::Literal(name),
        optional: false,
    };
    match &variant.fields {
        Fields::Unit => Some(TsType::Object(vec![tag_property])),
        Fields::Named(named) => {
            let mut properties = vec![tag_property];
            properties.extend(named_properties(named, rule, diags));
            Some(TsType::Object(properties))
        }
        Fields::Unnamed(unnamed) if unnamed.unnamed.len() == 1 => {
            let field = &unnamed.unnamed[0];
            match mapping::map_type(&field.ty, &variant.ident.to_string()) {
                Ok(mapped) if matches!(mapped.ts, TsType::Named(_)) => {
                    Some(TsType::Intersection(vec![
                        TsType::Object(vec![tag_property]),
                        mapped.ts,
                    ]))
                }
                Ok(_) => {
                    diags.error(
                        Location::of(&field.ty),
                        "a newtype variant of a tagged enum must wrap a struct",
                    );
                    None
                }
                Err(error) => {
                    diags.push(error);
                    None
                }
            }
        }
        Fields::Unnamed(unnamed) => {
            diags.error(
                Location::of(unnamed),
                "serde cannot tag a tuple variant with more than one field",
            );
            None
        }
    }
}

/// The serialised properties of named fields, under a rename rule.
fn named_properties(
    named: &syn::FieldsNamed,
    rule: Option<RenameRule>,
    diags: &mut Diagnostics,
) -> Vec<TsProperty> {
    let mut properties = Vec::new();
    for field in &named.named {
        let ident = field.ident.as_ref().expect("named fields have names");
        let attrs = serde_attr::field_attrs(&field.attrs, diags);
        if attrs.skip_serializing {
            continue;
        }
        if let Some(location) = attrs.flatten.or(attrs.custom_with) {
            diags.error(
                location,
                format_args!(
                    "field `{ident}` changes its JSON form with serde attributes Aegis cannot \
                     follow; give fields of this type a `#[crud(ts_type = \"...\")]`"
                ),
            );
            continue;
        }
        match mapping::map_type(&field.ty, &ident.to_string()) {
            Ok(mapped) => properties.push(TsProperty {
                name: wire_name(ident, attrs.rename, rule, true),
                ty: mapped.ts,
                optional: attrs.skip_serializing_if,
            }),
            Err(error) => diags.push(error),
        }
    }
    properties
}

/// A struct as an interface (named fields), the wrapped type (a newtype)
/// or a tuple.
pub fn struct_decl(item: &ItemStruct) -> Result<TsDecl, Vec<Diagnostic>> {
    let mut diags = Diagnostics::new();
    let container = serde_attr::container_attrs(&item.attrs, &mut diags);
    let reshaped = container
        .reshaped_by
        .clone()
        .or_else(|| container.tag.clone().map(|(_, at)| ("tag".to_owned(), at)));
    if let Some((key, location)) = reshaped {
        diags.error(
            location,
            format_args!(
                "serde `{key}` on struct `{}` is not supported; give fields of this type a \
                 `#[crud(ts_type = \"...\")]`",
                item.ident
            ),
        );
    }
    let params = type_params(&item.generics, &item.ident, &mut diags);
    let body = match &item.fields {
        Fields::Named(named) => {
            TsDeclBody::Interface(named_properties(named, container.rename_all, &mut diags))
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
        params,
        body,
    })
}

/// Plain type parameters carry over to TypeScript; lifetimes are dropped;
/// const generics have no TypeScript form.
fn type_params(
    generics: &syn::Generics,
    ident: &syn::Ident,
    diags: &mut Diagnostics,
) -> Vec<String> {
    let mut params = Vec::new();
    for param in &generics.params {
        match param {
            syn::GenericParam::Type(ty) => params.push(ty.ident.to_string()),
            syn::GenericParam::Lifetime(_) => {}
            syn::GenericParam::Const(konst) => diags.error(
                Location::of(konst),
                format_args!(
                    "`{ident}` has a const generic parameter, which TypeScript cannot express; \
                     give fields of this type a `#[crud(ts_type = \"...\")]`"
                ),
            ),
        }
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn render_enum(item: ItemEnum) -> String {
        enum_decl(&item).expect("declares").render()
    }

    #[test]
    fn unit_enum_is_a_union() {
        assert_eq!(
            render_enum(parse_quote!(
                enum Status {
                    Draft,
                    Approved,
                    OnHold,
                }
            )),
            "export type Status = 'Draft' | 'Approved' | 'OnHold';\n"
        );
    }

    #[test]
    fn enum_honours_rename_all_rename_and_skip() {
        assert_eq!(
            render_enum(parse_quote! {
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
            "export type Status = 'draft' | 'on_hold' | 'done';\n"
        );
        assert_eq!(
            render_enum(parse_quote!(
                #[serde(rename_all = "SCREAMING-KEBAB-CASE")]
                enum S {
                    OnHold,
                }
            )),
            "export type S = 'ON-HOLD';\n"
        );
    }

    #[test]
    fn tagged_enum_is_a_discriminated_union() {
        let rendered = render_enum(parse_quote! {
            #[serde(tag = "type", rename_all = "snake_case", rename_all_fields = "camelCase")]
            enum ServerMessage {
                Ready { user_id: String },
                Event(EventMessage),
                Error {
                    message: String,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    feature: Option<String>,
                },
                Pong,
            }
        });
        assert_eq!(
            rendered,
            "export type ServerMessage =\n\
             \x20 | { type: 'ready'; userId: string }\n\
             \x20 | ({ type: 'event' } & EventMessage)\n\
             \x20 | { type: 'error'; message: string; feature?: string | null }\n\
             \x20 | { type: 'pong' };\n"
        );
    }

    #[test]
    fn data_carrying_and_adjacent_enums_are_refused() {
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
            #[serde(tag = "t", content = "c")]
            enum S {
                A,
            }
        ))
        .unwrap_err();
        assert!(errors[0].message.contains("serde `content`"));
        let errors = enum_decl(&parse_quote!(
            #[serde(untagged)]
            enum S {
                A(i32),
            }
        ))
        .unwrap_err();
        assert!(errors[0].message.contains("serde `untagged`"));
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
            decl.render(),
            "export interface Address {\n  streetName: string;\n  postCode?: string | null;\n  \
             tags: Tag[];\n}\n"
        );
        assert_eq!(decl.named_references(), ["Tag"]);
    }

    #[test]
    fn generic_struct_keeps_its_parameters() {
        let decl = struct_decl(&parse_quote! {
            #[serde(rename_all = "camelCase")]
            struct ListResponse<'a, T> { data: Vec<T>, page_size: u32, seq: u64, tag: Cow<'a, str> }
        })
        .unwrap();
        assert_eq!(
            decl.render(),
            "export interface ListResponse<T> {\n  data: T[];\n  pageSize: number;\n  seq: \
             number;\n  tag: string;\n}\n"
        );
        assert!(decl.named_references().is_empty());
    }

    #[test]
    fn newtypes_and_tuples() {
        let decl = struct_decl(&parse_quote!(
            struct Cents(i64);
        ))
        .unwrap();
        assert_eq!(decl.render(), "export type Cents = number;\n");
        let decl = struct_decl(&parse_quote!(
            struct Point(f64, f64);
        ))
        .unwrap();
        assert_eq!(decl.render(), "export type Point = [number, number];\n");
        let errors = struct_decl(&parse_quote!(
            struct W<const N: usize>([u8; N]);
        ))
        .unwrap_err();
        assert!(errors[0].message.contains("const generic"));
        let errors = struct_decl(&parse_quote!(
            #[serde(tag = "kind")]
            struct S {
                a: i32,
            }
        ))
        .unwrap_err();
        assert!(errors[0].message.contains("serde `tag` on struct `S`"));
    }
}
