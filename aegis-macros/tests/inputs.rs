//! The input types' own `Serialize` and `Deserialize` (plain fields) read
//! and write what serde's derives would: each is checked against a mirror
//! struct with serde's derives, on the same JSON, for the same value or
//! the same error message.

use aegis::{CrudEntity, crud_module};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

fn seven() -> i32 {
    7
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

#[crud_module(with_events)]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: i64,
    pub customer_name: String,
    pub total: f64,
    pub note: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default = "seven", skip_serializing_if = "is_zero")]
    pub priority: i32,
    #[serde(rename = "ref")]
    pub reference: Option<i64>,
    pub version: i64,
}

/// What serde's derives make of the same fields.
mod mirror {
    use super::{is_zero, seven};
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Debug)]
    #[serde(rename_all = "camelCase")]
    pub struct OrderCreate {
        pub customer_name: String,
        pub total: f64,
        pub note: Option<String>,
        #[serde(default)]
        pub tags: Vec<String>,
        #[serde(default = "seven", skip_serializing_if = "is_zero")]
        pub priority: i32,
        #[serde(rename = "ref")]
        pub reference: Option<i64>,
    }

    #[derive(Serialize, Deserialize, Debug)]
    #[serde(rename_all = "camelCase")]
    pub struct OrderUpdate {
        pub customer_name: String,
        pub total: f64,
        pub note: Option<String>,
        #[serde(default)]
        pub tags: Vec<String>,
        #[serde(default = "seven", skip_serializing_if = "is_zero")]
        pub priority: i32,
        #[serde(rename = "ref")]
        pub reference: Option<i64>,
        pub version: i64,
    }
}

/// JSON texts for an input: whole, with keys missing, repeated, unknown,
/// mistyped, and not an object at all.
const CORPUS: &[&str] = &[
    r#"{"customerName":"Ada","total":12.5,"note":"rush","tags":["a"],"priority":2,"ref":9,"version":3}"#,
    r#"{"customerName":"Ada","total":12.5,"version":1}"#,
    r#"{"customerName":"Ada","total":12.5,"priority":0,"version":1}"#,
    r#"{"customerName":"Ada","total":12.5,"note":null,"ref":null,"version":1}"#,
    r#"{"total":12.5,"version":1}"#,
    r#"{"customerName":"Ada","version":1}"#,
    r#"{"customerName":"Ada","total":12.5}"#,
    r#"{"customerName":"Ada","customerName":"Bob","total":12.5,"version":1}"#,
    r#"{"customerName":"Ada","total":12.5,"version":1,"unknown":{"deep":[1,2]},"customer_name":"x"}"#,
    r#"{"customerName":5,"total":12.5,"version":1}"#,
    r#"{"customerName":"Ada","total":"ten","version":1}"#,
    r#"{"customerName":"Ada","total":12.5,"tags":"a","version":1}"#,
    r#"{"customerName":"Ada","total":12.5,"reference":4,"version":1}"#,
    r#"{}"#,
    r#""an order""#,
    r#"null"#,
    r#"{"customerName":"Ada","total":12.5,"version":1"#,
];

/// The same text through both types: the same error, or values that
/// serialise alike.
fn same<Ours, Theirs>(text: &str) -> Result<Value, String>
where
    Ours: serde::de::DeserializeOwned + Serialize + std::fmt::Debug,
    Theirs: serde::de::DeserializeOwned + Serialize + std::fmt::Debug,
{
    let ours = serde_json::from_str::<Ours>(text);
    let theirs = serde_json::from_str::<Theirs>(text);
    match (ours, theirs) {
        (Ok(ours), Ok(theirs)) => {
            let (ours, theirs) = (
                serde_json::to_value(ours).unwrap(),
                serde_json::to_value(theirs).unwrap(),
            );
            assert_eq!(ours, theirs, "{text}");
            Ok(ours)
        }
        (Err(ours), Err(theirs)) => {
            let (ours, theirs) = (ours.to_string(), theirs.to_string());
            // serde names the type it expected; ours are named alike.
            assert_eq!(ours, theirs, "{text}");
            Err(ours)
        }
        (ours, theirs) => panic!("{text}: ours {ours:?}, serde's {theirs:?}"),
    }
}

#[test]
fn inputs_read_and_write_what_serde_derives_would() {
    let mut outcomes = Vec::new();
    for text in CORPUS {
        outcomes.push(same::<OrderCreate, mirror::OrderCreate>(text));
        same::<OrderUpdate, mirror::OrderUpdate>(text).ok();
    }
    // The corpus reaches every rule, so agreeing is not agreeing on little.
    let errors: Vec<&String> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    for expected in [
        "missing field `customerName`",
        "missing field `total`",
        "duplicate field `customerName`",
        "invalid type: integer `5`, expected a string",
        "invalid type: string \"ten\", expected f64",
        "expected struct OrderCreate",
        "EOF while parsing",
    ] {
        assert!(
            errors.iter().any(|e| e.contains(expected)),
            "no error says {expected:?}: {errors:#?}"
        );
    }
    let whole = outcomes[0].as_ref().unwrap();
    assert_eq!(
        whole,
        &json!({"customerName": "Ada", "total": 12.5, "note": "rush", "tags": ["a"], "priority": 2, "ref": 9})
    );
    // Missing: `None`, the type's default, the default function's value.
    let sparse = outcomes[1].as_ref().unwrap();
    assert_eq!(
        sparse,
        &json!({"customerName": "Ada", "total": 12.5, "note": null, "tags": [], "priority": 7, "ref": null})
    );
    // `skip_serializing_if` leaves the key out.
    assert!(outcomes[2].as_ref().unwrap().get("priority").is_none());
}

#[test]
fn a_missing_version_is_an_error_of_the_update_only() {
    let text = r#"{"customerName":"Ada","total":12.5}"#;
    assert!(serde_json::from_str::<OrderCreate>(text).is_ok());
    let error = serde_json::from_str::<OrderUpdate>(text).unwrap_err();
    assert!(error.to_string().starts_with("missing field `version`"));
    let update: OrderUpdate =
        serde_json::from_value(json!({"customerName": "Bo", "total": 1.0, "version": 4})).unwrap();
    assert_eq!(Order::update_version(&update), Some(4));
}

#[test]
fn a_value_reads_as_well_as_a_text() {
    // CSV import reads rows as JSON values, not text.
    let create: OrderCreate =
        serde_json::from_value(json!({"customerName": "Ada", "total": 3, "ref": 2})).unwrap();
    assert_eq!(create.total, 3.0);
    assert_eq!(create.reference, Some(2));
    assert_eq!(create.priority, 7);
    let error = serde_json::from_value::<OrderCreate>(json!({"total": 3})).unwrap_err();
    assert_eq!(error.to_string(), "missing field `customerName`");
}

/// A field with a serde attribute the small impls do not read (`alias`)
/// keeps serde's derives on the input types, and so the attribute's meaning.
#[crud_module]
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Label {
    pub id: i64,
    #[serde(alias = "title")]
    pub name: String,
}

#[test]
fn other_serde_attributes_keep_serdes_derives() {
    let create: LabelCreate = serde_json::from_value(json!({"title": "urgent"})).unwrap();
    assert_eq!(create.name, "urgent");
}

/// No input field: an empty object, or any, reads; a mistyped one does not.
#[crud_module]
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Tally {
    pub id: i64,
    #[crud(readonly)]
    #[serde(default)]
    pub count: i64,
}

#[test]
fn an_input_of_no_field_reads_any_object() {
    assert!(serde_json::from_value::<TallyCreate>(json!({})).is_ok());
    assert!(serde_json::from_value::<TallyCreate>(json!({"count": 3, "x": [1]})).is_ok());
    let error = serde_json::from_value::<TallyCreate>(json!([1])).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid type: sequence, expected struct TallyCreate"
    );
}

/// As many input fields as the runtime's tuples hold, and one more (which
/// gets serde's derives): both read every field, and name the one missing.
/// A module of `i64` fields named as given.
macro_rules! wide {
    ($name:ident: $($field:ident)*) => {
        #[crud_module]
        #[derive(Serialize, Deserialize, Clone, Debug)]
        pub struct $name {
            pub id: i64,
            $(pub $field: i64,)*
        }
    };
}

wide!(Wide: f0 f1 f2 f3 f4 f5 f6 f7 f8 f9 f10 f11 f12 f13 f14 f15 f16 f17 f18 f19 f20 f21 f22 f23 f24 f25 f26 f27 f28 f29 f30 f31);
wide!(Wider: f0 f1 f2 f3 f4 f5 f6 f7 f8 f9 f10 f11 f12 f13 f14 f15 f16 f17 f18 f19 f20 f21 f22 f23 f24 f25 f26 f27 f28 f29 f30 f31 f32);

fn wide_json(fields: usize, missing: usize) -> Value {
    let object = (0..fields)
        .filter(|n| *n != missing)
        .map(|n| (format!("f{n}"), json!(n)));
    Value::Object(object.collect())
}

#[test]
fn inputs_of_many_fields_read_each_one() {
    let wide: WideCreate = serde_json::from_value(wide_json(32, usize::MAX)).unwrap();
    assert_eq!((wide.f0, wide.f31), (0, 31));
    let wider: WiderCreate = serde_json::from_value(wide_json(33, usize::MAX)).unwrap();
    assert_eq!((wider.f0, wider.f32), (0, 32));
    let error = serde_json::from_value::<WideCreate>(wide_json(32, 31)).unwrap_err();
    assert_eq!(error.to_string(), "missing field `f31`");
    let error = serde_json::from_value::<WiderCreate>(wide_json(33, 32)).unwrap_err();
    assert_eq!(error.to_string(), "missing field `f32`");
}
