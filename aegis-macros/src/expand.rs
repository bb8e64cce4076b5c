//! From a checked [`Module`] to Rust: the struct as written (less its
//! `#[crud]` attributes), the create and update inputs, and the
//! `CrudEntity` impl.

use aegis_model::diagnostic::to_syn_error;
use aegis_model::{Diagnostic, Field, FieldRole, Module, StorageKind, StoredDefault};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Fields, Item};

/// The whole expansion: the input back, plus generated items or errors.
pub fn crud_module(args: TokenStream, input: TokenStream) -> TokenStream {
    let item: DeriveInput = match syn::parse2::<Item>(input.clone()) {
        Ok(Item::Struct(item)) => item.into(),
        Ok(Item::Enum(item)) => item.into(),
        Ok(Item::Union(item)) => item.into(),
        Ok(other) => {
            let error = syn::Error::new_spanned(
                first_token(&other),
                "crud_module applies to a struct with named fields",
            )
            .to_compile_error();
            return quote!(#error #input);
        }
        Err(error) => {
            let error = error.to_compile_error();
            return quote!(#error #input);
        }
    };
    match Module::from_derive_input(args, &item) {
        Ok(module) => expand(&module, strip_crud_attrs(item)),
        Err(diagnostics) => fallback(strip_crud_attrs(item), &diagnostics),
    }
}

/// The first token of an item, where "this is not a struct" points.
fn first_token(item: &Item) -> TokenStream {
    quote!(#item).into_iter().next().into_iter().collect()
}

/// The item as written, without the `#[crud]` attributes only this macro
/// understands, so the compiler does not report them as unknown.
fn strip_crud_attrs(mut item: DeriveInput) -> DeriveInput {
    let strip = |attrs: &mut Vec<Attribute>| attrs.retain(|a| !a.path().is_ident("crud"));
    let strip_fields = |fields: &mut Fields| fields.iter_mut().for_each(|f| strip(&mut f.attrs));
    match &mut item.data {
        Data::Struct(data) => strip_fields(&mut data.fields),
        Data::Enum(data) => data.variants.iter_mut().for_each(|v| {
            strip(&mut v.attrs);
            strip_fields(&mut v.fields);
        }),
        Data::Union(data) => data
            .fields
            .named
            .iter_mut()
            .for_each(|f| strip(&mut f.attrs)),
    }
    item
}

/// On errors: the errors, and the item unchanged, so its other uses still
/// resolve and the user sees these errors rather than follow-on ones.
fn fallback(item: DeriveInput, diagnostics: &[Diagnostic]) -> TokenStream {
    let errors = to_syn_error(diagnostics).to_compile_error();
    quote!(#errors #item)
}

fn expand(module: &Module, item: DeriveInput) -> TokenStream {
    let Data::Struct(data) = &item.data else {
        unreachable!("the model accepts only structs");
    };
    // The model lowers fields in declaration order, one per syn field.
    let fields: Vec<(&Field, &syn::Field)> = module.fields.iter().zip(data.fields.iter()).collect();
    let entity = &item.ident;
    let vis = &item.vis;
    let create = format_ident!("{}Create", entity);
    let update = format_ident!("{}Update", entity);

    let input_fields: Vec<&syn::Field> = fields
        .iter()
        .filter(|(ir, _)| ir.is_input())
        .map(|(_, field)| *field)
        .collect();
    let version = fields
        .iter()
        .find(|(ir, _)| ir.role == FieldRole::Version)
        .map(|(_, field)| *field);
    let id = fields
        .iter()
        .find(|(ir, _)| ir.role == FieldRole::Id)
        .map(|(_, field)| *field)
        .expect("the model guarantees an id field");

    let rename_all = module.rename_all.map(|rule| {
        let rule = rule.as_str();
        quote!(#[serde(rename_all = #rule)])
    });
    let create_fields = input_fields.iter().map(|field| input_field(field));
    let update_fields = input_fields
        .iter()
        .chain(version.as_slice())
        .map(|field| input_field(field));
    let serde_derive = quote! {
        #[derive(
            ::core::clone::Clone,
            ::core::fmt::Debug,
            ::aegis::__private::serde::Serialize,
            ::aegis::__private::serde::Deserialize,
        )]
        #[serde(crate = "::aegis::__private::serde")]
        #rename_all
    };
    let create_doc = format!("What a client sends to create a [`{entity}`].");
    let update_doc = format!(
        "What a client sends to replace a [`{entity}`]: every editable field{}.",
        if version.is_some() {
            ", and the version it last saw"
        } else {
            ""
        }
    );

    let meta = module_meta(module);
    let id_ident = &id.ident;
    let id_ty = &id.ty;
    let input_idents: Vec<_> = input_fields.iter().map(|f| &f.ident).collect();
    let defaulted = fields
        .iter()
        .filter(|(ir, _)| ir.role == FieldRole::Data && !ir.is_input())
        .map(|(_, field)| {
            let ident = &field.ident;
            let default = quote_spanned!(field.ty.span()=> ::core::default::Default::default());
            quote!(#ident: #default)
        });
    let (version_get, version_set, version_init, update_version) = match version {
        Some(field) => {
            let ident = &field.ident;
            (
                quote!(::core::option::Option::Some(self.#ident)),
                quote!(self.#ident = version;),
                quote!(#ident: 1,),
                quote!(::core::option::Option::Some(update.#ident)),
            )
        }
        None => (
            quote!(::core::option::Option::None),
            quote!(let _ = version;),
            quote!(),
            quote!({
                let _ = update;
                ::core::option::Option::None
            }),
        ),
    };

    let stored_default = stored_default(&fields);

    quote! {
        #item

        #[doc = #create_doc]
        #serde_derive
        #vis struct #create {
            #(#create_fields,)*
        }

        #[doc = #update_doc]
        #serde_derive
        #vis struct #update {
            #(#update_fields,)*
        }

        const _: () = {
            impl ::aegis::CrudEntity for #entity {
                type Id = #id_ty;
                type Create = #create;
                type Update = #update;

                fn meta() -> &'static ::aegis::ModuleMeta {
                    static META: ::aegis::ModuleMeta = #meta;
                    &META
                }

                fn id(&self) -> &Self::Id {
                    &self.#id_ident
                }

                fn version(&self) -> ::core::option::Option<i64> {
                    #version_get
                }

                fn set_version(&mut self, version: i64) {
                    #version_set
                }

                fn from_create(id: Self::Id, create: Self::Create) -> Self {
                    Self {
                        #id_ident: id,
                        #version_init
                        #(#input_idents: create.#input_idents,)*
                        #(#defaulted,)*
                    }
                }

                fn apply_update(&mut self, update: Self::Update) {
                    #(self.#input_idents = update.#input_idents;)*
                }

                fn update_version(update: &Self::Update) -> ::core::option::Option<i64> {
                    #update_version
                }

                #stored_default
            }
        };
    }
}

/// `CrudEntity::stored_default`, when a field has a default: the value as
/// serde writes it, so a filled column reads back as that value.
fn stored_default(fields: &[(&Field, &syn::Field)]) -> Option<TokenStream> {
    let arms: Vec<TokenStream> = fields
        .iter()
        .filter_map(|(ir, field)| {
            let name = &ir.ident;
            let json = quote!(::aegis::export::serde_json);
            let value = match ir.stored_default.as_ref()? {
                StoredDefault::Json(text) => quote!(#json::from_str(#text).ok()),
                StoredDefault::TypeDefault => {
                    let ty = &field.ty;
                    quote_spanned!(ty.span()=>
                        #json::to_value(<#ty as ::core::default::Default>::default()).ok())
                }
                StoredDefault::Function(path) => {
                    let path: syn::ExprPath = syn::parse_str(path).ok()?;
                    quote!(#json::to_value(#path()).ok())
                }
            };
            Some(quote!(#name => #value,))
        })
        .collect();
    if arms.is_empty() {
        return None;
    }
    Some(quote! {
        fn stored_default(name: &str) -> ::core::option::Option<::aegis::export::serde_json::Value> {
            match name {
                #(#arms)*
                _ => ::core::option::Option::None,
            }
        }
    })
}

/// A field of an input type: the entity's field with its docs and serde
/// attributes, so it reads the same JSON.
fn input_field(field: &syn::Field) -> TokenStream {
    let attrs = field
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("serde") || a.path().is_ident("doc"));
    let vis = &field.vis;
    let ident = &field.ident;
    let ty = &field.ty;
    quote!(#(#attrs)* #vis #ident: #ty)
}

fn module_meta(module: &Module) -> TokenStream {
    let names = &module.names;
    let module_name = names.module();
    let feature = names.feature();
    let entity = names.entity();
    let entity_type = names.entity_type();
    let fields = module
        .fields
        .iter()
        .filter(|field| !field.is_transient())
        .map(field_meta);
    quote! {
        ::aegis::ModuleMeta {
            module: #module_name,
            feature: #feature,
            entity: #entity,
            entity_type: #entity_type,
            fields: &[#(#fields),*],
        }
    }
}

fn field_meta(field: &Field) -> TokenStream {
    let name = &field.ident;
    let wire_name = &field.wire_name;
    let kind = match field.storage {
        StorageKind::Integer => quote!(Integer),
        StorageKind::Float => quote!(Float),
        StorageKind::Boolean => quote!(Boolean),
        StorageKind::Text => quote!(Text),
        StorageKind::Json => quote!(Json),
    };
    let role = match field.role {
        FieldRole::Id => quote!(Id),
        FieldRole::Version => quote!(Version),
        FieldRole::Data => quote!(Data),
    };
    let nullable = field.nullable;
    let instant = field.is_instant();
    let readonly = field.readonly;
    let hidden = field.hidden;
    let label = &field.label;
    let required_input = field.is_input() && !field.input_optional;
    let renamed_from = match &field.renamed_from {
        Some(old) => quote!(::core::option::Option::Some(#old)),
        None => quote!(::core::option::Option::None),
    };
    let rules = rules(&field.rules);
    let stamp = match field.stamp {
        Some(stamp) => {
            let variant = match stamp {
                aegis_model::Stamp::CreatedAt => quote!(CreatedAt),
                aegis_model::Stamp::UpdatedAt => quote!(UpdatedAt),
                aegis_model::Stamp::CreatedBy => quote!(CreatedBy),
                aegis_model::Stamp::UpdatedBy => quote!(UpdatedBy),
            };
            quote!(::core::option::Option::Some(::aegis::Stamp::#variant))
        }
        None => quote!(::core::option::Option::None),
    };
    let references = match &field.references {
        Some(reference) => {
            let module = &reference.module;
            let on_delete = match reference.on_delete {
                aegis_model::OnDelete::Restrict => quote!(Restrict),
                aegis_model::OnDelete::Cascade => quote!(Cascade),
                aegis_model::OnDelete::SetNull => quote!(SetNull),
            };
            quote!(::core::option::Option::Some(::aegis::Reference {
                module: #module,
                on_delete: ::aegis::OnDelete::#on_delete,
            }))
        }
        None => quote!(::core::option::Option::None),
    };
    quote! {
        ::aegis::FieldMeta {
            name: #name,
            wire_name: #wire_name,
            kind: ::aegis::FieldKind::#kind,
            instant: #instant,
            nullable: #nullable,
            role: ::aegis::FieldRole::#role,
            readonly: #readonly,
            hidden: #hidden,
            label: #label,
            required_input: #required_input,
            renamed_from: #renamed_from,
            rules: #rules,
            stamp: #stamp,
            references: #references,
        }
    }
}

fn rules(rules: &aegis_model::Rules) -> TokenStream {
    if rules.is_empty() {
        return quote!(::aegis::Rules::NONE);
    }
    let number = |n: Option<f64>| match n {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    };
    let length = |n: Option<u32>| match n {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    };
    let (min, max) = (number(rules.min), number(rules.max));
    let (min_length, max_length) = (length(rules.min_length), length(rules.max_length));
    let pattern = match &rules.pattern {
        Some(p) => quote!(::core::option::Option::Some(#p)),
        None => quote!(::core::option::Option::None),
    };
    let (email, url) = (rules.email, rules.url);
    let one_of = rules.one_of.iter().map(|v| match v {
        aegis_model::RuleValue::Text(t) => quote!(::aegis::RuleValue::Text(#t)),
        aegis_model::RuleValue::Number(n) => quote!(::aegis::RuleValue::Number(#n)),
    });
    quote! {
        ::aegis::Rules {
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

#[cfg(test)]
mod tests {
    use quote::quote;

    /// Rules of the `validator` or `garde` crates stay where they were
    /// written, for those crates' derives; only `#[crud]` is taken.
    #[test]
    fn other_crates_attributes_stay_on_the_struct() {
        let output = super::crud_module(
            quote!(),
            quote! {
                #[derive(Serialize, Deserialize, Clone, Validate)]
                #[garde(allow_unvalidated)]
                pub struct Author {
                    pub id: i64,
                    #[validate(length(min = 1))]
                    #[garde(length(min = 1))]
                    #[crud(length(min = 1))]
                    pub name: String,
                }
            },
        );
        let file: syn::File = syn::parse2(output).unwrap();
        let author = file
            .items
            .iter()
            .find_map(|item| match item {
                syn::Item::Struct(s) if s.ident == "Author" => Some(s),
                _ => None,
            })
            .expect("the struct is kept");
        let name = author.fields.iter().nth(1).unwrap();
        let paths: Vec<String> = name
            .attrs
            .iter()
            .map(|a| a.path().get_ident().unwrap().to_string())
            .collect();
        assert_eq!(paths, ["validate", "garde"]);
        assert!(author.attrs.iter().any(|a| a.path().is_ident("garde")));
    }
}
