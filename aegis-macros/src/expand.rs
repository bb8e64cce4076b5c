//! From a checked [`Module`] to Rust: the struct as written (less its
//! `#[crud]` attributes), the create and update inputs, and the
//! `CrudEntity` impl.

use aegis_model::diagnostic::to_syn_error;
use aegis_model::{Diagnostic, Field, FieldRole, Module, StoredDefault};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Fields, Item};

use crate::text::{Source, emit, rust};
use crate::{input, meta};

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
    let parts = Parts::of(&fields);
    let entity = &item.ident;
    let (inputs, serde_impls) = input_structs(module, &item, &parts);
    let version = parts.versioned.map(|(_, field)| field);
    let methods = methods(entity, module, parts.id, &fields, version).into_tokens();
    let from_create = from_create(&parts);
    let stored_default = stored_default(&fields);
    quote! {
        #item

        #inputs

        const _: () = {
            use ::aegis::__private as __a;

            #serde_impls

            impl __a::CrudEntity for #entity {
                #methods

                #from_create

                #stored_default
            }
        };
    }
}

/// The fields of an entity by what they are to it.
struct Parts<'a> {
    all: &'a [(&'a Field, &'a syn::Field)],
    /// What a create sends.
    inputs: Vec<(&'a Field, &'a syn::Field)>,
    versioned: Option<(&'a Field, &'a syn::Field)>,
    /// What an update sends: the inputs, then the version.
    update_inputs: Vec<(&'a Field, &'a syn::Field)>,
    id: &'a syn::Field,
}

impl<'a> Parts<'a> {
    fn of(fields: &'a [(&'a Field, &'a syn::Field)]) -> Self {
        let inputs: Vec<(&Field, &syn::Field)> = fields
            .iter()
            .filter(|(ir, _)| ir.is_input())
            .copied()
            .collect();
        let versioned = fields
            .iter()
            .find(|(ir, _)| ir.role == FieldRole::Version)
            .copied();
        Parts {
            all: fields,
            update_inputs: inputs.iter().copied().chain(versioned).collect(),
            inputs,
            versioned,
            id: fields
                .iter()
                .find(|(ir, _)| ir.role == FieldRole::Id)
                .map(|(_, field)| *field)
                .expect("the model guarantees an id field"),
        }
    }
}

/// `<Entity>Create` and `<Entity>Update`, and their serde impls when they
/// are plain enough for the small ones of `input`.
fn input_structs(
    module: &Module,
    item: &DeriveInput,
    parts: &Parts<'_>,
) -> (TokenStream, TokenStream) {
    let entity = &item.ident;
    let vis = &item.vis;
    let create = format_ident!("{}Create", entity);
    let update = format_ident!("{}Update", entity);
    let rename_all = module.rename_all.map(|rule| {
        let rule = rule.as_str();
        quote!(#[serde(rename_all = #rule)])
    });
    // Plain inputs get the small impls of `input`, any other serde's derives.
    let plain_attrs = input::plain(item, &parts.update_inputs);
    let plain = plain_attrs.is_some();
    let create_fields = parts
        .inputs
        .iter()
        .map(|(_, field)| input::field(field, plain));
    let update_fields = parts
        .update_inputs
        .iter()
        .map(|(_, field)| input::field(field, plain));
    let serde_derive = (!plain).then(|| {
        quote! {
            #[derive(::aegis::__private::serde::Serialize, ::aegis::__private::serde::Deserialize)]
            #[serde(crate = "::aegis::__private::serde")]
            #rename_all
        }
    });
    let create_doc = format!("What a client sends to create a [`{entity}`].");
    let update_doc = format!(
        "What a client sends to replace a [`{entity}`]: every editable field{}.",
        if parts.versioned.is_some() {
            ", and the version it last saw"
        } else {
            ""
        }
    );
    // The impls, as text (see `text`), but for what keeps the user's spans.
    let mut serde_impls = Source::default();
    if let Some(attrs) = &plain_attrs {
        // The update's fields are the create's, then the version.
        let inputs = &parts.inputs;
        input::serde_impls(&mut serde_impls, &create, inputs, &attrs[..inputs.len()]);
        input::serde_impls(&mut serde_impls, &update, &parts.update_inputs, attrs);
    }
    let structs = quote! {
        #[doc = #create_doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug)]
        #serde_derive
        #vis struct #create {
            #(#create_fields,)*
        }

        #[doc = #update_doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug)]
        #serde_derive
        #vis struct #update {
            #(#update_fields,)*
        }
    };
    (structs, serde_impls.into_tokens())
}

/// `from_create`: the id, version 1, the inputs, and a skipped or
/// readonly field's `Default`, where an error about it points at its type.
fn from_create(parts: &Parts<'_>) -> TokenStream {
    let id_ident = &parts.id.ident;
    let input_idents: Vec<_> = parts.inputs.iter().map(|(_, f)| &f.ident).collect();
    let defaulted = parts
        .all
        .iter()
        .filter(|(ir, _)| ir.role == FieldRole::Data && !ir.is_input())
        .map(|(_, field)| {
            let ident = &field.ident;
            let default = quote_spanned!(field.ty.span()=> __a::Default::default());
            quote!(#ident: #default)
        });
    let version_init = parts.versioned.map(|(_, field)| {
        let ident = &field.ident;
        quote!(#ident: 1,)
    });
    quote! {
        fn from_create(id: Self::Id, create: Self::Create) -> Self {
            Self {
                #id_ident: id,
                #version_init
                #(#input_idents: create.#input_idents,)*
                #(#defaulted,)*
            }
        }
    }
}

/// The `CrudEntity` items that need no span of the user's code: its types,
/// its `ModuleMeta`, and every method but `from_create` and
/// `stored_default`.
fn methods(
    entity: &syn::Ident,
    module: &Module,
    id: &syn::Field,
    fields: &[(&Field, &syn::Field)],
    version: Option<&syn::Field>,
) -> Source {
    let mut out = Source::default();
    let (id_ident, id_ty) = (rust(&id.ident), rust(&id.ty));
    emit!(
        out,
        "type Id = {id_ty}; type Create = {entity}Create; type Update = {entity}Update;\
         fn meta() -> &'static __a::ModuleMeta {{ static META: __a::ModuleMeta = "
    );
    meta::module(&mut out, module);
    emit!(
        out,
        "; &META }} fn id(&self) -> &Self::Id {{ &self.{id_ident} }}"
    );
    match version {
        Some(field) => {
            let version = rust(&field.ident);
            emit!(
                out,
                "fn version(&self) -> __a::Option<i64> {{ __a::Some(self.{version}) }}\
                 fn set_version(&mut self, version: i64) {{ self.{version} = version; }}\
                 fn update_version(update: &Self::Update) -> __a::Option<i64> {{ __a::Some(update.{version}) }}"
            );
        }
        None => out.push(
            "fn version(&self) -> __a::Option<i64> { __a::None }\
             fn set_version(&mut self, version: i64) { let _ = version; }\
             fn update_version(update: &Self::Update) -> __a::Option<i64> { let _ = update; __a::None }",
        ),
    }
    out.push("fn apply_update(&mut self, update: Self::Update) {");
    for (ir, field) in fields {
        if ir.is_input() {
            let ident = rust(&field.ident);
            emit!(out, "self.{ident} = update.{ident};");
        }
    }
    out.push("}");
    out
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
                        #json::to_value(<#ty as __a::Default>::default()).ok())
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
        fn stored_default(name: &str) -> __a::Option<::aegis::export::serde_json::Value> {
            match name {
                #(#arms)*
                _ => __a::None,
            }
        }
    })
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
