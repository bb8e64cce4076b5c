//! `aegis_event_tests.rs`: per module with events, tests of the events the
//! runtime builds for it, through the app's real router, with sample inputs
//! that keep the module's rules and references.

use aegis_model::decl::TsDeclBody;
use aegis_model::{Field, TsType, ValueFormat};
use heck::ToSnakeCase;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::{Value, json};

use super::{file_tests, pretty};
use crate::collect::Unit;

/// A sample JSON value of a field's type that keeps the field's rules;
/// `variant` 0 and 1 differ where the rules allow.
pub(crate) fn sample(field: &Field, unit: &Unit, variant: u8) -> Value {
    if field.file.is_some() {
        // A file exists only once the test has uploaded it.
        return if field.nullable {
            Value::Null
        } else {
            json!(super::file_tests::placeholder(field))
        };
    }
    if field.many.is_some() {
        // Links to rows the test has not made: none.
        return json!([]);
    }
    if let Some(reference) = &field.references {
        // An id that exists only once the test has made its row: a
        // placeholder, replaced at run time (`null` when allowed).
        return if field.nullable {
            Value::Null
        } else {
            json!(placeholder(&reference.module))
        };
    }
    let rules = &field.rules;
    if let Some(value) = rules
        .one_of
        .get(usize::from(variant) % rules.one_of.len().max(1))
    {
        return match value {
            aegis_model::RuleValue::Text(text) => json!(text),
            aegis_model::RuleValue::Number(n) => json!(n),
        };
    }
    let text = if rules.email {
        Some(format!(
            "{}{variant}@example.com",
            field.ident.replace('_', ".")
        ))
    } else if rules.url {
        Some(format!("https://example.com/{}/{variant}", field.ident))
    } else {
        rules.pattern.as_deref().and_then(|pattern| {
            aegis_model::rules::pattern_example(pattern, variant, rules.min_length.unwrap_or(0))
        })
    };
    if let Some(text) = text {
        return json!(text);
    }
    match sample_of_type(field, unit, variant) {
        Value::String(text) if rules.min_length.is_some() || rules.max_length.is_some() => {
            let mut text: String = text
                .chars()
                .take(rules.max_length.map_or(usize::MAX, |n| n as usize))
                .collect();
            while text.chars().count() < rules.min_length.unwrap_or(0) as usize {
                text.push('x');
            }
            json!(text)
        }
        Value::Number(n) if rules.min.is_some() || rules.max.is_some() => {
            let n = n.as_f64().unwrap_or_default();
            let clamped = n
                .max(rules.min.unwrap_or(f64::MIN))
                .min(rules.max.unwrap_or(f64::MAX));
            if field.storage == aegis_model::StorageKind::Integer {
                json!(clamped.ceil() as i64)
            } else {
                json!(clamped)
            }
        }
        other => other,
    }
}

/// A sample JSON value of a field's type; `variant` 0 and 1 differ.
fn sample_of_type(field: &Field, unit: &Unit, variant: u8) -> Value {
    let day = 1 + variant;
    match field.format {
        Some(ValueFormat::Instant) => return json!(format!("2026-01-0{day}T00:00:00Z")),
        Some(ValueFormat::LocalDateTime) => return json!(format!("2026-01-0{day}T00:00:00")),
        Some(ValueFormat::Date) => return json!(format!("2026-01-0{day}")),
        Some(ValueFormat::Time) => return json!(format!("1{day}:00:00")),
        Some(ValueFormat::Uuid) => {
            return json!(format!("00000000-0000-0000-0000-00000000000{day}"));
        }
        Some(ValueFormat::Decimal) => return json!(format!("{day}.5")),
        Some(ValueFormat::Char) => return json!(if variant == 0 { "a" } else { "b" }),
        // Decided by `sample` before: a file is uploaded.
        Some(ValueFormat::File) | None => {}
    }
    let integer = field.storage == aegis_model::StorageKind::Integer;
    sample_of(&field.ts, unit, variant, integer, &field.wire_name, 0)
}

fn sample_of(ty: &TsType, unit: &Unit, variant: u8, integer: bool, name: &str, depth: u8) -> Value {
    match ty {
        TsType::Number if integer => json!(7 + i64::from(variant)),
        TsType::Number => json!(1.5 + f64::from(variant)),
        TsType::String => json!(format!("{name} {}", ["one", "two"][usize::from(variant)])),
        TsType::Boolean => json!(variant == 0),
        TsType::Union(members) => members
            .iter()
            .find(|m| **m != TsType::Null)
            .map_or(Value::Null, |m| {
                sample_of(m, unit, variant, integer, name, depth)
            }),
        TsType::Array(_) => json!([]),
        TsType::Record(_) => json!({}),
        TsType::Json => json!({ "sample": variant }),
        TsType::Literal(text) => json!(text),
        TsType::Tuple(members) => Value::Array(
            members
                .iter()
                .map(|m| sample_of(m, unit, variant, integer, name, depth + 1))
                .collect(),
        ),
        TsType::Named(named) if depth < 4 => match unit.decls.get(named).map(|d| &d.body) {
            Some(TsDeclBody::Alias(TsType::Union(members))) => members
                .get(usize::from(variant) % members.len().max(1))
                .map_or(Value::Null, |m| {
                    sample_of(m, unit, variant, integer, name, depth + 1)
                }),
            Some(TsDeclBody::Alias(other)) => {
                sample_of(other, unit, variant, integer, name, depth + 1)
            }
            Some(TsDeclBody::Interface(properties)) => Value::Object(
                properties
                    .iter()
                    .map(|p| {
                        (
                            p.name.clone(),
                            sample_of(&p.ty, unit, variant, false, &p.name, depth + 1),
                        )
                    })
                    .collect(),
            ),
            None => Value::Null,
        },
        _ => Value::Null,
    }
}

/// `aegis_event_tests.rs`: per module with events, tests of the events the
/// runtime builds for it. The app's test target includes it.
pub(crate) fn event_tests_file(units: &[Unit], crate_ident: &str, modules_mod: &str) -> String {
    let crate_ident = format_ident!("{}", crate_ident);
    let modules_mod = format_ident!("{}", modules_mod);
    let tests = units
        .iter()
        .filter(|u| u.module.with_events)
        .map(|unit| module_event_tests(unit, &crate_ident, &modules_mod));
    let samples = samples_module(units);
    pretty(quote! {
        #samples
        #(#tests)*
    })
}

/// What a sample input holds where a required reference's id goes.
fn placeholder(module: &str) -> String {
    format!("@@{module}@@")
}

/// The modules a module's sample input needs a row of: its required
/// references' targets.
fn required_targets(unit: &Unit) -> Vec<String> {
    let mut targets: Vec<String> = unit
        .module
        .input_fields()
        .filter(|f| !f.nullable)
        .filter_map(|f| f.references.as_ref().map(|r| r.module.clone()))
        .collect();
    targets.sort();
    targets.dedup();
    targets
}

/// The many-to-many fields a module's tests link through: (wire name,
/// linked module, linked feature), for linked modules with events (whose
/// delete the test hears).
fn link_targets(unit: &Unit) -> Vec<(String, String, String)> {
    unit.module
        .input_fields()
        .filter_map(|f| {
            let many = f.many.as_ref()?;
            let target = unit.references.get(&f.wire_name)?;
            Some((
                f.wire_name.clone(),
                many.module.clone(),
                target.feature.clone(),
            ))
        })
        .collect()
}

/// Per many-to-many field: a row created with a link carries it, and the
/// linked row's delete takes it off with an `updated` event.
fn links_tests(unit: &Unit) -> TokenStream {
    let feature = unit.module.names.feature();
    let tests = link_targets(unit).into_iter().map(|(field, module, target)| {
        let name = format_ident!("links_of_{}_follow_the_linked_rows", field.to_snake_case());
        let create = format_ident!("create_{}", module);
        let base = format!("/api/{feature}");
        let target_base = format!("/api/{target}");
        quote! {
            #[test]
            fn #name() {
                run(async {
                    let app = app().await;
                    let linked = super::samples::#create(&app).await;
                    let mut input = create_input();
                    input[#field] = json!([linked.clone()]);
                    let mut events = app.events();
                    let reply = app.call("POST", #base, Some(&app.admin()), Some(input), &[]).await;
                    ::core::assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
                    ::core::assert_eq!(reply.body[#field], json!([linked.clone()]));
                    let created = events.try_recv().expect("a created event");
                    ::core::assert_eq!(created.message.data[#field], json!([linked.clone()]));
                    let id = match &linked {
                        Value::String(text) => text.clone(),
                        other => other.to_string(),
                    };
                    let path = format!("{}/{id}", #target_base);
                    let gone = app.call("DELETE", &path, Some(&app.admin()), None, &[]).await;
                    ::core::assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.text);
                    let updated = ::std::iter::from_fn(|| events.try_recv().ok())
                        .find(|e| e.message.feature == #feature && e.message.action == EventAction::Updated)
                        .expect("an updated event of the linking row");
                    ::core::assert_eq!(updated.message.data[#field], json!([]));
                });
            }
        }
    });
    quote!(#(#tests)*)
}

/// Code that fills the placeholders of `input` (a `mut Value` in scope)
/// with ids of rows it creates first, through `samples`.
fn fill_placeholders(unit: &Unit) -> TokenStream {
    let fills = required_targets(unit).into_iter().map(|module| {
        let create = format_ident!("create_{}", module);
        let mark = placeholder(&module);
        quote! {
            let id = super::samples::#create(app).await;
            super::samples::replace(&mut input, #mark, &id);
        }
    });
    let uploads = file_tests::required(unit)
        .into_iter()
        .map(|(field, name, bytes)| {
            let mark = file_tests::placeholder(field);
            let upload = file_tests::upload(unit, field, name, bytes);
            quote! {
                let file = #upload;
                super::samples::replace(&mut input, #mark, &file);
            }
        });
    quote!(#(#fills)* #(#uploads)*)
}

/// `mod samples`: per module some sample input references, a function
/// that creates one row of it (its own references' rows first) and
/// returns its id.
fn samples_module(units: &[Unit]) -> TokenStream {
    let mut needed: Vec<String> = units
        .iter()
        .flat_map(|unit| {
            let mut targets = required_targets(unit);
            targets.extend(link_targets(unit).into_iter().map(|(_, module, _)| module));
            targets
        })
        .collect();
    needed.sort();
    needed.dedup();
    if needed.is_empty() {
        return quote!();
    }
    let creators = units
        .iter()
        .filter(|u| needed.contains(&u.module.names.module().to_owned()))
        .map(|unit| {
            let module = unit.module.names.module();
            let create = format_ident!("create_{}", module);
            let base = format!("/api/{}", unit.module.names.feature());
            let input: serde_json::Map<String, Value> = unit
                .module
                .input_fields()
                .map(|f| (f.wire_name.clone(), sample(f, unit, 0)))
                .collect();
            let input = Value::Object(input).to_string();
            let id_wire = &unit.module.id_field().wire_name;
            let fills = fill_placeholders(unit);
            quote! {
                pub(super) fn #create(
                    app: &TestApp,
                ) -> ::std::pin::Pin<::std::boxed::Box<dyn ::std::future::Future<Output = Value> + '_>> {
                    ::std::boxed::Box::pin(async move {
                        #[allow(unused_mut)]
                        let mut input: Value = serde_json::from_str(#input).expect("sample input is JSON");
                        #fills
                        let reply = app.call("POST", #base, Some(&app.admin()), Some(input), &[]).await;
                        ::core::assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
                        reply.body[#id_wire].clone()
                    })
                }
            }
        });
    // Only required references and files fill placeholders.
    let replace = units
        .iter()
        .any(|u| !required_targets(u).is_empty() || !file_tests::required(u).is_empty())
        .then(|| {
            quote! {
                /// Puts `id` wherever `input` holds `mark`.
                pub(super) fn replace(input: &mut Value, mark: &str, id: &Value) {
                    match input {
                        Value::String(text) if text == mark => *input = id.clone(),
                        Value::Object(map) => map.values_mut().for_each(|v| replace(v, mark, id)),
                        _ => {}
                    }
                }
            }
        });
    quote! {
        /// Rows that sample inputs reference, made on demand.
        mod samples {
            use ::aegis::axum::http::StatusCode;
            use ::aegis::export::serde_json::{self, Value};
            use ::aegis::testing::TestApp;

            #replace

            #(#creators)*
        }
    }
}

/// One CSV row of JSON values, every cell quoted (empty for `null`).
pub(super) fn csv_row(values: &[&Value]) -> String {
    values
        .iter()
        .map(|value| match value {
            Value::Null => String::new(),
            Value::String(text) => format!("\"{}\"", text.replace('"', "\"\"")),
            other => format!("\"{}\"", other.to_string().replace('"', "\"\"")),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A module's sample inputs, as the event tests send them.
struct Inputs<'a> {
    fields: Vec<&'a Field>,
    /// The create input, by wire name.
    create: serde_json::Map<String, Value>,
    create_text: String,
    update_text: String,
}

impl<'a> Inputs<'a> {
    fn of(unit: &'a Unit) -> Self {
        let module = &unit.module;
        let fields: Vec<&Field> = module.input_fields().collect();
        let create: serde_json::Map<String, Value> = fields
            .iter()
            .map(|f| (f.wire_name.clone(), sample(f, unit, 0)))
            .collect();
        let mut update: serde_json::Map<String, Value> = fields
            .iter()
            .map(|f| (f.wire_name.clone(), sample(f, unit, 1)))
            .collect();
        if let Some(version) = module.version_field() {
            update.insert(version.wire_name.clone(), json!(1));
        }
        Inputs {
            create_text: Value::Object(create.clone()).to_string(),
            update_text: Value::Object(update).to_string(),
            fields,
            create,
        }
    }
}

/// The code that puts the ids of the rows a module's required references
/// need into its inputs; all empty when it has none.
#[derive(Default)]
struct References {
    /// `REFERENCED` and `with_references`.
    declared: TokenStream,
    /// Makes the referenced rows (in `app()`).
    make_targets: TokenStream,
    /// Fills `changed`, the update input.
    fill_changed: TokenStream,
    /// Fills `csv`, an import's file.
    fill_csv: TokenStream,
}

impl References {
    fn of(unit: &Unit) -> Self {
        let targets = required_targets(unit);
        let files = file_tests::required(unit);
        if targets.is_empty() && files.is_empty() {
            return References::default();
        }
        let creates = targets.iter().map(|module| {
            let create = format_ident!("create_{}", module);
            let mark = placeholder(module);
            quote! {
                let id = super::samples::#create(&app).await;
                REFERENCED.with(|r| r.borrow_mut().push((#mark, id)));
            }
        });
        let uploads = files.into_iter().map(|(field, name, bytes)| {
            let mark = file_tests::placeholder(field);
            let upload = file_tests::upload(unit, field, name, bytes);
            quote! {
                let file = #upload;
                REFERENCED.with(|r| r.borrow_mut().push((#mark, file)));
            }
        });
        let creates = quote!(#(#creates)* #(#uploads)*);
        References {
            declared: quote! {
                ::std::thread_local! {
                    /// The ids of the rows this test made for the sample's references.
                    static REFERENCED: ::std::cell::RefCell<::std::vec::Vec<(&'static str, Value)>> =
                        const { ::std::cell::RefCell::new(::std::vec::Vec::new()) };
                }

                fn with_references(mut input: Value) -> Value {
                    REFERENCED.with(|r| {
                        for (mark, id) in r.borrow().iter() {
                            super::samples::replace(&mut input, mark, id);
                        }
                    });
                    input
                }
            },
            make_targets: creates,
            fill_changed: quote!(let changed = with_references(changed);),
            fill_csv: quote! {
                let csv = REFERENCED.with(|r| {
                    r.borrow().iter().fold(::std::string::String::from(csv), |csv, (mark, id)| {
                        // A file is its JSON, its quotes doubled in a quoted cell.
                        let id = match id {
                            Value::String(text) => text.clone(),
                            other => other.to_string().replace('"', "\"\""),
                        };
                        csv.replace(mark, &id)
                    })
                });
                let csv = csv.as_str();
            },
        }
    }
}

fn module_event_tests(
    unit: &Unit,
    crate_ident: &syn::Ident,
    modules_mod: &syn::Ident,
) -> TokenStream {
    let module = &unit.module;
    let names = &module.names;
    let test_mod = format_ident!("{}_events", names.module());
    let feature = names.feature();
    let api = quote!(::#crate_ident::#modules_mod::api());
    let references = References::of(unit);
    let inputs = Inputs::of(unit);
    let sent: Vec<String> = module.sent_fields().map(|f| f.wire_name.clone()).collect();
    let input_names: Vec<String> = inputs.fields.iter().map(|f| f.wire_name.clone()).collect();
    let declared = &references.declared;
    let app_and_input = app_and_input(&api, &references, &inputs.create_text);
    let helpers = helpers(unit);
    let created = created_test(unit);
    let updated = updated_test(unit, &inputs, &references);
    let deleted = deleted_test(unit);
    let history = module.with_history.then(|| {
        super::history_tests::history_test(unit, &inputs.update_text, &references.fill_changed)
    });
    let links = links_tests(unit);
    let files = file_tests::files_tests(unit);
    let import_test = module.with_import.then(|| {
        super::import_tests::import_tests(
            module,
            &inputs.fields,
            &inputs.create,
            &references.fill_csv,
        )
    });
    let doc = format!("The events of the `{feature}` feature, through the app's real router.");
    quote! {
        #[doc = #doc]
        mod #test_mod {
            use ::aegis::axum::http::StatusCode;
            use ::aegis::export::serde_json::{self, Value, json};
            use ::aegis::protocol::{EventAction, EventMessage, FEATURE_VERSION};
            use ::aegis::testing::{TestApp, run};

            const SENT: &[&str] = &[#(#sent),*];
            const INPUTS: &[&str] = &[#(#input_names),*];

            #declared

            #app_and_input

            #helpers

            #created

            #updated

            #deleted

            #history

            #links

            #files

            #import_test
        }
    }
}

/// `app()`, with the referenced rows made, and `create_input()`.
fn app_and_input(api: &TokenStream, references: &References, create_text: &str) -> TokenStream {
    if references.make_targets.is_empty() {
        quote! {
            async fn app() -> TestApp {
                TestApp::new(#api).await
            }

            fn create_input() -> Value {
                serde_json::from_str(#create_text).expect("sample input is JSON")
            }
        }
    } else {
        let make_targets = &references.make_targets;
        quote! {
            async fn app() -> TestApp {
                let app = TestApp::new(#api).await;
                #make_targets
                app
            }

            fn create_input() -> Value {
                with_references(serde_json::from_str(#create_text).expect("sample input is JSON"))
            }
        }
    }
}

/// `check_envelope`, `keys` and `create`, which the tests share.
fn helpers(unit: &Unit) -> TokenStream {
    let names = &unit.module.names;
    let (feature, entity) = (names.feature(), names.entity());
    let base = format!("/api/{feature}");
    let id_wire = &unit.module.id_field().wire_name;
    quote! {
    fn check_envelope(event: &EventMessage, action: EventAction, seq: u64) {
        ::core::assert_eq!(event.feature, #feature);
        ::core::assert_eq!(event.entity, #entity);
        ::core::assert_eq!(event.action, action);
        ::core::assert_eq!(event.meta.feature_version, FEATURE_VERSION);
        ::core::assert_eq!(event.meta.seq, seq, "seq is +1 per event");
        ::core::assert_eq!(event.meta.user_id, "u1");
        let age = ::aegis::export::chrono::Utc::now() - event.meta.timestamp;
        ::core::assert!(
            age >= ::aegis::export::chrono::TimeDelta::zero()
                && age < ::aegis::export::chrono::TimeDelta::seconds(60),
            "meta.timestamp is when the change committed: {}",
            event.meta.timestamp
        );
    }

    fn keys(value: &Value) -> ::std::vec::Vec<&str> {
        let mut keys: ::std::vec::Vec<&str> = value
            .as_object()
            .expect("entity data is an object")
            .keys()
            .map(::std::string::String::as_str)
            .collect();
        keys.sort_unstable();
        keys
    }

    /// Creates the sample entity; returns its path.
    async fn create(app: &TestApp) -> ::std::string::String {
        let reply = app
            .call("POST", #base, Some(&app.admin()), Some(create_input()), &[])
            .await;
        ::core::assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        match &reply.body[#id_wire] {
            Value::String(id) => ::std::format!("{}/{}", #base, id),
            id => ::std::format!("{}/{}", #base, id),
        }
    }
    }
}

/// The version a test expects in its event's data, if the module has one.
fn version_check(unit: &Unit, version: i64, what: &str) -> Option<TokenStream> {
    unit.module.version_field().map(|field| {
        let wire = &field.wire_name;
        let version = proc_macro2::Literal::i64_unsuffixed(version);
        quote! {
            ::core::assert_eq!(event.message.data[#wire], #version, #what);
        }
    })
}

fn created_test(unit: &Unit) -> TokenStream {
    let base = format!("/api/{}", unit.module.names.feature());
    let created_version_check = version_check(unit, 1, "a new entity's version");
    quote! {
    #[test]
    fn created_event_carries_the_entity() {
        run(async {
            let app = app().await;
            let mut events = app.events();
            let reply = app
                .call("POST", #base, Some(&app.admin()), Some(create_input()), &[("x-aegis-mutation-id", "m-1")])
                .await;
            ::core::assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
            let event = events.try_recv().expect("a created event");
            check_envelope(&event.message, EventAction::Created, 1);
            ::core::assert_eq!(event.message.meta.origin.as_deref(), Some("m-1"));
            ::core::assert_eq!(event.message.data, reply.body);
            let mut sent = SENT.to_vec();
            sent.sort_unstable();
            ::core::assert_eq!(keys(&event.message.data), sent, "exactly the fields the front end sees");
            let input = create_input();
            for name in INPUTS {
                ::core::assert_eq!(event.message.data[*name], input[*name], "field `{}`", name);
            }
            #created_version_check
            ::core::assert!(events.try_recv().is_err(), "one change, one event");
        });
    }
    }
}

fn updated_test(unit: &Unit, inputs: &Inputs, references: &References) -> TokenStream {
    let update_text = &inputs.update_text;
    let fill_changed = &references.fill_changed;
    let version_checks = version_check(unit, 2, "the version after one update");
    quote! {
    #[test]
    fn updated_event_carries_the_changes() {
        run(async {
            let app = app().await;
            let path = create(&app).await;
            let mut events = app.events();
            let changed: Value = serde_json::from_str(#update_text).expect("sample update is JSON");
            #fill_changed
            let reply = app.call("PUT", &path, Some(&app.admin()), Some(changed.clone()), &[]).await;
            ::core::assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
            let event = events.try_recv().expect("an updated event");
            check_envelope(&event.message, EventAction::Updated, 2);
            ::core::assert_eq!(event.message.meta.origin, None);
            ::core::assert_eq!(event.message.data, reply.body);
            for name in INPUTS {
                ::core::assert_eq!(event.message.data[*name], changed[*name], "field `{}`", name);
            }
            #version_checks
        });
    }
    }
}

fn deleted_test(unit: &Unit) -> TokenStream {
    let id_wire = &unit.module.id_field().wire_name;
    quote! {
    #[test]
    fn deleted_event_carries_the_id_alone() {
        run(async {
            let app = app().await;
            let path = create(&app).await;
            let created = app.call("GET", &path, Some(&app.admin()), None, &[]).await;
            let mut events = app.events();
            let reply = app.call("DELETE", &path, Some(&app.admin()), None, &[]).await;
            ::core::assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
            let event = events.try_recv().expect("a deleted event");
            check_envelope(&event.message, EventAction::Deleted, 2);
            ::core::assert_eq!(event.message.data, json!({ "id": created.body[#id_wire] }));
        });
    }
    }
}
