//! Lowering whole modules, from a Rust struct and from modules.toml.

use aegis_model::{FieldRole, Module, Origin, StorageKind, StoredDefault};
use proc_macro2::TokenStream;
use quote::quote;

fn module(args: TokenStream, item: TokenStream) -> Module {
    let item: syn::DeriveInput = syn::parse2(item).unwrap();
    Module::from_derive_input(args, &item).unwrap_or_else(|errors| {
        panic!(
            "{:?}",
            errors.iter().map(|e| &e.message).collect::<Vec<_>>()
        )
    })
}

fn errors(args: TokenStream, item: TokenStream) -> Vec<String> {
    let item: syn::DeriveInput = syn::parse2(item).unwrap();
    Module::from_derive_input(args, &item)
        .expect_err("refused")
        .into_iter()
        .map(|d| d.message)
        .collect()
}

#[test]
fn budget() {
    let budget = module(
        quote!(with_events, with_import),
        quote! {
            pub struct Budget {
                pub id: i64,
                pub name: String,
                pub amount: f64,
                pub fiscal_year: i32,
                pub version: i64,
            }
        },
    );
    assert_eq!(budget.names.module(), "budgets");
    assert_eq!(budget.names.feature(), "budgets");
    assert_eq!(budget.rust_name, "Budget");
    assert!(budget.with_events && budget.with_import);
    assert_eq!(budget.origin, Origin::Attribute);
    assert_eq!(budget.id_field().ident, "id");
    assert_eq!(budget.version_field().unwrap().ident, "version");
    let inputs: Vec<_> = budget.input_fields().map(|f| f.ident.as_str()).collect();
    assert_eq!(inputs, ["name", "amount", "fiscal_year"]);
    let fiscal = &budget.fields[3];
    assert_eq!(fiscal.label, "Fiscal year");
    assert_eq!(fiscal.ts.to_string(), "number");
    assert_eq!(fiscal.storage, StorageKind::Integer);
}

/// Plain text that clients send takes the default longest length unless
/// the declaration says otherwise; other text (readonly, stamps, dates,
/// uuids) and numbers take none.
#[test]
fn plain_text_takes_the_default_longest_length() {
    let module = module(
        quote!(),
        quote! {
            pub struct Note {
                pub id: uuid::Uuid,
                pub title: String,
                pub note: Option<String>,
                #[crud(length(max = 20000))]
                pub body: String,
                #[crud(length(min = 12000))]
                pub essay: String,
                #[crud(readonly)]
                pub code: String,
                pub day: chrono::NaiveDate,
                pub count: i64,
            }
        },
    );
    let longest = |name: &str| {
        let field = module.fields.iter().find(|f| f.ident == name).unwrap();
        field.rules.max_length
    };
    let default = Some(aegis_model::rules::DEFAULT_MAX_TEXT_CHARS);
    assert_eq!(longest("title"), default);
    assert_eq!(longest("note"), default);
    assert_eq!(longest("body"), Some(20_000));
    assert_eq!(longest("essay"), Some(12_000));
    for other in ["id", "code", "day", "count"] {
        assert_eq!(longest(other), None, "{other}");
    }
}

#[test]
fn serde_shapes_the_wire() {
    let module = module(
        quote!(),
        quote! {
            #[serde(rename_all = "camelCase")]
            pub struct Invoice {
                #[crud(id)]
                pub number: String,
                pub due_date: chrono::NaiveDate,
                #[serde(rename = "total")]
                pub amount_cents: i64,
                #[serde(skip_serializing_if = "Option::is_none", default)]
                pub note: Option<String>,
                #[serde(default)]
                pub paid: bool,
                #[serde(skip)]
                pub cache: std::cell::Cell<Box<dyn Fn()>>,
                #[crud(skip)]
                pub internal_code: String,
                #[crud(readonly, label = "Created")]
                pub created_at: chrono::DateTime<chrono::Utc>,
                pub r#type: Kind,
            }
        },
    );
    assert_eq!(module.names.module(), "invoices");
    assert_eq!(module.id_field().wire_name, "number");
    assert!(module.version_field().is_none());
    let wire: Vec<_> = module.sent_fields().map(|f| f.wire_name.as_str()).collect();
    assert_eq!(
        wire,
        [
            "number",
            "dueDate",
            "total",
            "note",
            "paid",
            "createdAt",
            "type"
        ]
    );
    let by_ident = |name: &str| module.fields.iter().find(|f| f.ident == name).unwrap();
    let note = by_ident("note");
    assert!(note.may_be_omitted && note.input_optional && note.nullable);
    assert_eq!(note.ts.to_string(), "string | null");
    assert!(by_ident("paid").input_optional);
    assert!(!by_ident("amount_cents").input_optional);
    assert!(by_ident("cache").is_transient());
    assert!(by_ident("internal_code").hidden);
    assert!(!by_ident("internal_code").is_sent());
    let created = by_ident("created_at");
    assert!(created.readonly);
    assert_eq!(created.label, "Created");
    assert_eq!(by_ident("type").ts.named_references(), ["Kind"]);
    let inputs: Vec<_> = module.input_fields().map(|f| f.ident.as_str()).collect();
    assert_eq!(inputs, ["due_date", "amount_cents", "note", "paid", "type"]);
}

#[test]
fn roles_by_attribute() {
    let module = module(
        quote!(with_events, name = "people", singular = "person"),
        quote! {
            pub struct Human {
                #[crud(id)]
                pub key: uuid::Uuid,
                #[crud(version)]
                pub revision: i64,
                pub id: String,
                #[crud(ts_type = "`${number}-${number}`")]
                pub range: (u8, u8),
            }
        },
    );
    assert_eq!(module.id_field().ident, "key");
    assert_eq!(module.id_field().role, FieldRole::Id);
    assert_eq!(module.version_field().unwrap().ident, "revision");
    assert_eq!(module.fields[2].role, FieldRole::Data);
    assert_eq!(module.fields[3].ts.to_string(), "`${number}-${number}`");
    assert_eq!(module.names.entity_type(), "Person");
    assert_eq!(module.names.feature(), "people");
}

#[test]
fn stored_defaults_and_renames() {
    let module = module(
        quote!(),
        quote! {
            pub struct Budget {
                pub id: i64,
                #[serde(default)]
                pub currency: String,
                #[serde(default = "default_year")]
                pub year: i32,
                #[crud(default = "EUR", renamed_from = "money")]
                #[serde(default)]
                pub unit: String,
                #[crud(default = "{\"a\": [1]}")]
                pub extra: serde_json::Value,
                pub plain: String,
            }
        },
    );
    let defaults: Vec<_> = module
        .fields
        .iter()
        .map(|f| (f.ident.as_str(), f.stored_default.clone()))
        .collect();
    assert_eq!(
        defaults,
        [
            ("id", None),
            ("currency", Some(StoredDefault::TypeDefault)),
            ("year", Some(StoredDefault::Function("default_year".into()))),
            ("unit", Some(StoredDefault::Json("\"EUR\"".into()))),
            ("extra", Some(StoredDefault::Json("{\"a\":[1]}".into()))),
            ("plain", None),
        ]
    );
    assert_eq!(module.fields[3].renamed_from.as_deref(), Some("money"));

    let errors = errors(
        quote!(),
        quote! {
            pub struct Budget {
                pub id: i64,
                #[crud(default = "1.5")]
                pub count: u32,
                #[crud(default = "yes")]
                pub done: bool,
                #[crud(default = "inf")]
                pub ratio: f64,
                #[crud(default = "{")]
                pub extra: serde_json::Value,
                #[crud(renamed_from = "old name")]
                pub a: String,
                #[crud(renamed_from = "b")]
                pub b: String,
                #[crud(renamed_from = "gone")]
                pub c: String,
                #[crud(renamed_from = "gone")]
                pub d: String,
            }
        },
    );
    assert_eq!(
        errors,
        [
            "the default of `count` must be an integer, found `1.5`",
            "the default of `done` must be `true` or `false`, found `yes`",
            "the default of `ratio` must be a finite number, found `inf`",
            "the default of `extra` must be JSON text, found `{`",
            "`renamed_from` expects the old column's name, ASCII letters, digits and `_`, found \
             `old name`",
            "field `b` cannot be renamed from itself",
            "fields `c` and `d` are both renamed from `gone`",
        ]
    );
}

#[test]
fn every_problem_at_once() {
    let errors = errors(
        quote!(with_events, name = "bad name"),
        quote! {
            pub struct Budget {
                pub label: &'static str,
                #[crud(skip, readonly)]
                pub code: String,
                #[serde(rename = "amount")]
                pub total: f64,
                pub amount: f64,
            }
        },
    );
    assert_eq!(
        errors,
        [
            "conflicting crud attributes `skip` and `readonly`, a skipped field is not sent to \
             the front end",
            "invalid module name `bad name`, expected ASCII letters, digits, `_` or `-`, \
             starting with a letter",
            "field `label` has type `&'static str`, which is a reference and cannot be \
             deserialised into an owned entity; use a type serde_json can round-trip, or give \
             its TypeScript type with `#[crud(ts_type = \"...\")]`",
            "`Budget` has no id field, name a field `id` or mark one with `#[crud(id)]`",
            "`with_events` needs a version field for conflict detection, add `version: i64` to \
             `Budget` or mark an `i64` field with `#[crud(version)]`",
            "fields `total` and `amount` are both sent as `amount`",
        ]
    );
}

#[test]
fn id_and_version_types() {
    let errors = errors(
        quote!(with_events),
        quote! {
            pub struct Budget {
                pub id: Option<i64>,
                pub version: i32,
            }
        },
    );
    assert_eq!(errors.len(), 2);
    assert!(errors[0].starts_with("the id field `id` must be an integer"));
    assert!(errors[1].contains("must be an `i64`"));
}

#[test]
fn wire_names_must_be_identifiers() {
    let errors = errors(
        quote!(),
        quote! {
            pub struct Budget {
                pub id: i64,
                #[serde(rename = "first-name")]
                pub first_name: String,
                #[serde(rename = "__proto__")]
                pub proto: String,
            }
        },
    );
    assert_eq!(errors.len(), 2);
    assert!(errors[0].contains("`first-name`, which is not a TypeScript identifier"));
    assert!(errors[1].contains("`__proto__`, a name JavaScript objects reserve"));
}

#[test]
fn serde_attributes_beyond_support() {
    let errors = errors(
        quote!(),
        quote! {
            #[serde(tag = "kind")]
            pub struct Budget {
                pub id: i64,
                #[serde(flatten)]
                pub extra: Extra,
                #[serde(with = "my_format")]
                pub when: Moment,
            }
        },
    );
    assert_eq!(errors.len(), 3);
    assert!(errors[0].contains("serde `tag` is not supported"));
    assert!(errors[1].contains("serde `flatten` is not supported"));
    assert!(errors[2].contains("serialised by custom code"));
}

#[test]
fn reserved_entity_names() {
    let errors = errors(
        quote!(singular = "class"),
        quote!(
            pub struct Lesson {
                pub id: i64,
            }
        ),
    );
    assert_eq!(errors.len(), 1);
    assert!(errors[0].contains("`class` is a TypeScript reserved word"));
    let errors = errors_of_struct(quote!(
        pub struct Event {
            pub id: i64,
        }
    ));
    assert!(errors[0].contains("`Event` is already used"));
}

fn errors_of_struct(item: TokenStream) -> Vec<String> {
    errors(quote!(), item)
}

mod manifest {
    use super::*;
    use aegis_model::Location;
    use aegis_model::manifest::Manifest;

    const MANIFEST: &str = r#"
[generator]
web_root = "example-app/web/src/app"

[modules.budgets]
with_events = true

[modules.user_roles]
with_events = true
fields = { id = "i64", user_id = "i64", role = "string", granted_at = "datetime", note = { type = "string", nullable = true, label = "Remark" }, version = "i64" }
"#;

    fn line_col(text: &str, offset: usize) -> (usize, usize) {
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        (line, col)
    }

    #[test]
    fn reads_the_design_example() {
        let manifest: Manifest = toml::from_str(MANIFEST).unwrap();
        assert_eq!(
            manifest.generator.unwrap().web_root.get_ref(),
            "example-app/web/src/app"
        );
        let budgets = manifest.modules["budgets"].get_ref();
        assert!(!budgets.declares_fields());
        assert!(*budgets.with_events.as_ref().unwrap().get_ref());

        let entry = &manifest.modules["user_roles"];
        let module = Module::from_manifest_entry("user_roles", entry).unwrap();
        assert_eq!(module.origin, Origin::Manifest);
        assert_eq!(module.rust_name, "UserRole");
        assert_eq!(module.names.feature(), "user-roles");
        assert!(module.with_events && !module.with_import);
        let fields: Vec<_> = module
            .fields
            .iter()
            .map(|f| (f.ident.as_str(), f.ts.to_string()))
            .collect();
        assert_eq!(
            fields,
            [
                ("id", "number".to_owned()),
                ("user_id", "number".to_owned()),
                ("role", "string".to_owned()),
                ("granted_at", "string".to_owned()),
                ("note", "string | null".to_owned()),
                ("version", "number".to_owned()),
            ]
        );
        assert_eq!(module.fields[4].label, "Remark");
        assert_eq!(module.version_field().unwrap().ident, "version");
    }

    #[test]
    fn errors_carry_manifest_positions() {
        let text =
            "[modules.tags]\nwith_events = true\nfields = { id = \"i64\", name = \"strng\" }\n";
        let manifest: Manifest = toml::from_str(text).unwrap();
        let errors = Module::from_manifest_entry("tags", &manifest.modules["tags"]).unwrap_err();
        let found: Vec<_> = errors
            .iter()
            .map(|e| match &e.location {
                Location::Manifest(range) => (line_col(text, range.start), e.message.clone()),
                other => panic!("expected a manifest location, got {other:?}"),
            })
            .collect();
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].0, (3, 31));
        assert_eq!(
            found[0].1,
            "unknown field type `strng` for `name`, did you mean `string`?"
        );
        assert_eq!(found[1].0.0, 2, "with_events is on line 2");
        assert!(found[1].1.contains("needs a version field"));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let error = toml::from_str::<Manifest>("[modules.tags]\nwith_event = true\n").unwrap_err();
        assert!(
            error.message().contains("unknown field `with_event`"),
            "{error}"
        );
        let error =
            toml::from_str::<Manifest>("[modules.tags]\nfields = { id = 3 }\n").unwrap_err();
        assert!(error.message().contains("a type name such as"), "{error}");
        let error = toml::from_str::<Manifest>(
            "[modules.tags]\nfields = { id = { type = \"i64\", primary = true } }\n",
        )
        .unwrap_err();
        assert!(
            error.message().contains("unknown field `primary`"),
            "{error}"
        );
    }

    #[test]
    fn files_from_the_manifest() {
        let text = "[modules.people]\nfields = { id = \"i64\", \
            photo = { type = \"image\", nullable = true }, \
            cv = { type = \"file\", max_bytes = 2000, types = [\"application/pdf\"] }, \
            any = \"file\" }\n";
        let manifest: Manifest = toml::from_str(text).unwrap();
        let module = Module::from_manifest_entry("people", &manifest.modules["people"]).unwrap();
        let spec = |name: &str| {
            let field = module.fields.iter().find(|f| f.ident == name).unwrap();
            (field.nullable, field.file.clone().unwrap())
        };
        let (nullable, photo) = spec("photo");
        assert!(nullable);
        assert_eq!(photo.types, aegis_model::file::IMAGE_TYPES);
        assert_eq!(photo.max_bytes, aegis_model::file::DEFAULT_MAX_BYTES);
        assert_eq!(spec("cv").1.max_bytes, 2000);
        assert_eq!(spec("cv").1.types, ["application/pdf"]);
        assert!(spec("any").1.types.is_empty());

        let bad = text.replace("application/pdf", "PDF");
        let manifest: Manifest = toml::from_str(&bad).unwrap();
        let errors =
            Module::from_manifest_entry("people", &manifest.modules["people"]).unwrap_err();
        assert_eq!(
            errors[0].message,
            "`types` lists content types such as \"image/png\", not `PDF`"
        );
    }

    /// Rows keep a history unless the module says `history = false`, in
    /// modules.toml or in the attribute; a word there other than a boolean
    /// is refused where it stands.
    #[test]
    fn history_is_kept_unless_turned_off() {
        let text = "[modules.logs]\nhistory = false\nfields = { id = \"i64\" }\n\
                    [modules.notes]\nfields = { id = \"i64\" }\n";
        let manifest: Manifest = toml::from_str(text).unwrap();
        let lowered = |name: &str| {
            Module::from_manifest_entry(name, &manifest.modules[name])
                .unwrap()
                .with_history
        };
        assert!(!lowered("logs"));
        assert!(lowered("notes"));
        let item = quote!(
            pub struct Log {
                pub id: i64,
            }
        );
        assert!(!module(quote!(history = false), item.clone()).with_history);
        assert!(module(quote!(), item.clone()).with_history);
        assert_eq!(
            errors(quote!(history = "no"), item),
            [
                "crud_module switch `history` takes `true` or `false`, write `history = false` to \
              turn it off"
            ]
        );
    }

    #[test]
    fn defaults_and_renames_from_the_manifest() {
        let text = "[modules.tags]\nfields = { id = \"i64\", \
            label = { type = \"string\", default = \"none\", renamed_from = \"name\" }, \
            weight = { type = \"f64\", default = 1 }, \
            pinned = { type = \"bool\", default = false }, \
            rank = { type = \"i32\", default = \"high\" } }\n";
        let manifest: Manifest = toml::from_str(text).unwrap();
        let errors = Module::from_manifest_entry("tags", &manifest.modules["tags"]).unwrap_err();
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            messages,
            ["the default of `rank` must be an integer, found `high`"]
        );

        let fixed = text.replace("default = \"high\"", "default = 3");
        let manifest: Manifest = toml::from_str(&fixed).unwrap();
        let module = Module::from_manifest_entry("tags", &manifest.modules["tags"]).unwrap();
        let defaults: Vec<_> = module
            .fields
            .iter()
            .map(|f| (f.ident.as_str(), f.stored_default.clone()))
            .collect();
        assert_eq!(
            defaults,
            [
                ("id", None),
                ("label", Some(StoredDefault::Json("\"none\"".into()))),
                ("weight", Some(StoredDefault::Json("1.0".into()))),
                ("pinned", Some(StoredDefault::Json("false".into()))),
                ("rank", Some(StoredDefault::Json("3".into()))),
            ]
        );
        assert_eq!(module.fields[1].renamed_from.as_deref(), Some("name"));
    }

    #[test]
    fn settings_only_entry_is_not_a_module() {
        let manifest: Manifest = toml::from_str("[modules.budgets]\nwith_import = true\n").unwrap();
        let errors =
            Module::from_manifest_entry("budgets", &manifest.modules["budgets"]).unwrap_err();
        assert!(errors[0].message.contains("needs `fields`"));
    }
}
