//! The attribute grammar's unit tests.

use super::*;
use quote::quote;

fn module_errors(tokens: TokenStream) -> Vec<String> {
    let mut diags = Diagnostics::new();
    parse_module_args(tokens, &mut diags);
    diags.into_vec().into_iter().map(|d| d.message).collect()
}

fn field_errors(field: syn::Field) -> Vec<String> {
    let mut diags = Diagnostics::new();
    parse_field_args(&field.attrs, &mut diags);
    diags.into_vec().into_iter().map(|d| d.message).collect()
}

#[test]
fn reads_flags_and_options() {
    let mut diags = Diagnostics::new();
    let args = parse_module_args(
        quote!(
            with_events,
            with_import,
            name = "budgets",
            singular = "budget"
        ),
        &mut diags,
    );
    assert!(diags.is_empty());
    assert!(args.with_events.is_some());
    assert!(args.with_import.is_some());
    assert_eq!(args.name.unwrap().value, "budgets");
    assert_eq!(args.singular.unwrap().value, "budget");
    let args = parse_module_args(TokenStream::new(), &mut diags);
    assert!(args.with_events.is_none() && args.name.is_none());
}

#[test]
fn suggests_close_words() {
    assert_eq!(suggest("with_imports", MODULE_FLAGS), Some("with_import"));
    assert_eq!(suggest("with_event", MODULE_FLAGS), Some("with_events"));
    assert_eq!(suggest("readonyl", FIELD_FLAGS), Some("readonly"));
    assert_eq!(suggest("colour", MODULE_FLAGS), None);
}

#[test]
fn reports_every_module_mistake() {
    let errors = module_errors(quote!(
        with_imports,
        with_events,
        with_events,
        name,
        singular = 3,
        with_import = true,
        colour
    ));
    assert_eq!(
        errors,
        [
            "unknown crud_module option `with_imports`, did you mean `with_import`?",
            "duplicate crud_module flag `with_events`",
            "crud_module option `name` needs a value, as in `name = \"...\"`",
            "crud_module option `singular` expects a string literal, as in `singular = \"...\"`",
            "crud_module flag `with_import` takes no value, write `with_import` alone",
            "unknown crud_module option `colour`, expected one of `with_events`, \
             `with_import`, `name`, `singular`, `label`, `optimistic_updates`, \
             `conflict_detection`, `cache`, `history`",
        ]
    );
}

#[test]
fn reads_field_arguments() {
    let field: syn::Field = syn::parse_quote! {
        #[crud(readonly, label = "Fiscal year")]
        #[crud(ts_type = "number")]
        pub fiscal_year: i32
    };
    let mut diags = Diagnostics::new();
    let args = parse_field_args(&field.attrs, &mut diags);
    assert!(diags.is_empty());
    assert!(args.readonly.is_some());
    assert_eq!(args.label.unwrap().value, "Fiscal year");
    assert_eq!(args.ts_type.unwrap().value, "number");
}

#[test]
fn reads_the_sortable_switch() {
    let field: syn::Field = syn::parse_quote! {
        #[crud(sortable = false)]
        pub notes: String
    };
    let mut diags = Diagnostics::new();
    let args = parse_field_args(&field.attrs, &mut diags);
    assert!(diags.is_empty());
    assert_eq!(args.sortable.map(|(on, _)| on), Some(false));
    let wrong = "crud switch `sortable` takes `true` or `false`, write `sortable = false` to \
                 turn it off";
    assert_eq!(
        field_errors(syn::parse_quote!(#[crud(sortable)] pub v: i64)),
        [wrong]
    );
    assert_eq!(
        field_errors(syn::parse_quote!(#[crud(sortable = "no")] pub v: i64)),
        [wrong]
    );
    assert_eq!(
        field_errors(syn::parse_quote!(#[crud(sortable = false, sortable = true)] pub v: i64)),
        ["duplicate crud switch `sortable`"]
    );
    assert_eq!(
        field_errors(syn::parse_quote!(#[crud(skip, sortable = false)] pub v: i64)),
        [
            "conflicting crud attributes `skip` and `sortable`, a skipped field is not sent \
             to the front end"
        ]
    );
}

#[test]
fn reports_every_field_mistake() {
    let errors = field_errors(syn::parse_quote! {
        #[crud(id, skip, primary, readonly = true, label, ts_type = "")]
        pub id: i64
    });
    assert_eq!(
        errors,
        [
            "unknown crud attribute `primary`, expected one of `id`, `version`, `skip`, \
             `readonly`, `created_at`, `updated_at`, `created_by`, `updated_by`, \
             `sortable`, `children`, `ts_type`, `label`, `default`, `renamed_from`, \
             `references`, `on_delete`, `children_label`, `many`, `file`, `min`, `max`, `length`, \
             `pattern`, `email`, `url`, `one_of`",
            "crud flag `readonly` takes no value, write `readonly` alone",
            "crud option `label` needs a value, as in `label = \"...\"`",
            "crud option `ts_type` cannot be empty",
            "conflicting crud attributes `skip` and `id`, a skipped field is not sent to \
             the front end",
        ]
    );
    assert_eq!(
        field_errors(syn::parse_quote!(#[crud(id, version)] pub v: i64)),
        ["conflicting crud attributes `id` and `version`, a field cannot be both"]
    );
    assert_eq!(
        field_errors(syn::parse_quote!(#[crud(id)] #[crud(id)] pub v: i64)),
        ["duplicate crud flag `id`"]
    );
}
