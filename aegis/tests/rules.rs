//! Validation rules: the corpus the generated front end's validators are
//! run through too (`rules-corpus.json`: every value gets the same verdict
//! and message on both sides), and the rules enforced by REST (a 422 listing
//! every failing field, nothing written) and by CSV import (row errors).
//! Runs on SQLite, and on PostgreSQL with `AEGIS_TEST_DATABASE_URL`.

use aegis::testing::TestApp;
use aegis::{Api, ModuleSettings, RuleValue, Rules, crud_module};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[crud_module(with_import)]
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Contact {
    pub id: i64,
    #[crud(length(min = 2, max = 40))]
    pub name: String,
    #[crud(email)]
    pub email: Option<String>,
    #[crud(url)]
    pub homepage: Option<String>,
    #[crud(min = 0, max = 150)]
    pub age: i32,
    #[crud(one_of = ["EUR", "USD"])]
    pub currency: String,
    #[crud(pattern = "[A-Z]{2}-[0-9]{3}")]
    pub code: String,
}

const SETTINGS: ModuleSettings = ModuleSettings {
    module: "contacts",
    with_events: false,
    with_import: true,
    with_history: true,
    sortable: None,
};

async fn app() -> TestApp {
    TestApp::new(Api::new().module::<Contact>(SETTINGS)).await
}

fn valid() -> Value {
    json!({
        "name": "Ada", "email": "ada@example.com", "homepage": null,
        "age": 36, "currency": "EUR", "code": "AB-123"
    })
}

fn leak(text: &str) -> &'static str {
    Box::leak(text.to_owned().into_boxed_str())
}

/// The corpus's rules (as the TypeScript `FieldRules` writes them).
fn rules_of(json: &Value) -> Rules {
    let number = |key: &str| json.get(key).and_then(Value::as_f64);
    let length = |key: &str| json.get(key).and_then(Value::as_u64).map(|n| n as u32);
    let one_of: Vec<RuleValue> = json
        .get("oneOf")
        .and_then(Value::as_array)
        .map(|values| {
            values
                .iter()
                .map(|v| match v {
                    Value::String(t) => RuleValue::Text(leak(t)),
                    other => RuleValue::Number(other.as_f64().expect("a number")),
                })
                .collect()
        })
        .unwrap_or_default();
    Rules {
        min: number("min"),
        max: number("max"),
        min_length: length("minLength"),
        max_length: length("maxLength"),
        pattern: json.get("pattern").and_then(Value::as_str).map(leak),
        email: json.get("email") == Some(&Value::Bool(true)),
        url: json.get("url") == Some(&Value::Bool(true)),
        one_of: Box::leak(one_of.into_boxed_slice()),
    }
}

#[test]
fn every_corpus_value_gets_its_verdict() {
    let corpus: Vec<Value> =
        serde_json::from_str(include_str!("rules-corpus.json")).expect("the corpus is JSON");
    let mut checked = 0;
    let mut wrong = Vec::new();
    for group in &corpus {
        let rules = rules_of(&group["rules"]);
        for case in group["cases"].as_array().unwrap() {
            let (value, expected) = (&case[0], case[1].as_str());
            let got = rules.violation(value);
            if got.as_deref() != expected {
                wrong.push(format!(
                    "{} with {value}: {got:?}, expected {expected:?}",
                    group["rules"]
                ));
            }
            checked += 1;
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(checked > 60, "the corpus holds {checked} values");
}

#[test]
fn the_macro_carries_the_declared_rules() {
    use aegis::CrudEntity;
    let fields = Contact::meta().fields;
    let rules = |name: &str| fields.iter().find(|f| f.name == name).unwrap().rules;
    assert_eq!(rules("name").min_length, Some(2));
    assert_eq!(rules("name").max_length, Some(40));
    assert!(rules("email").email && rules("homepage").url);
    assert_eq!(
        (rules("age").min, rules("age").max),
        (Some(0.0), Some(150.0))
    );
    assert_eq!(
        rules("currency").one_of,
        [RuleValue::Text("EUR"), RuleValue::Text("USD")]
    );
    assert_eq!(rules("code").pattern, Some("[A-Z]{2}-[0-9]{3}"));
    assert!(rules("id").is_empty());
}

async fn total(app: &TestApp) -> u64 {
    let reply = app
        .call("GET", "/api/contacts", Some(&app.admin()), None, &[])
        .await;
    reply.body["total"].as_u64().unwrap()
}

#[tokio::test]
async fn rest_lists_every_failing_field_and_writes_nothing() {
    let app = app().await;
    let admin = app.admin();
    let bad = json!({
        "name": "A", "email": "not-an-email", "homepage": "ftp://example.com",
        "age": 151, "currency": "GBP", "code": "ab-123"
    });
    let reply = app
        .call("POST", "/api/contacts", Some(&admin), Some(bad), &[])
        .await;
    assert_eq!(reply.status.as_u16(), 422, "{}", reply.text);
    assert_eq!(reply.body["code"], "unprocessable");
    let fields: Vec<(String, String)> = reply.body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let text = |k: &str| f[k].as_str().unwrap().to_owned();
            (text("field"), text("message"))
        })
        .collect();
    let expected = [
        ("name", "must be at least 2 characters"),
        ("email", "must be an email address"),
        (
            "homepage",
            "must be a web address starting with http:// or https://",
        ),
        ("age", "must be at most 150"),
        ("currency", "must be one of EUR, USD"),
        ("code", "must match the pattern [A-Z]{2}-[0-9]{3}"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(f, m)| ((*f).to_owned(), (*m).to_owned()))
        .collect();
    assert_eq!(fields, expected);
    assert_eq!(total(&app).await, 0, "nothing was written");

    // `null` keeps every rule; a valid contact is created.
    let created = app
        .call("POST", "/api/contacts", Some(&admin), Some(valid()), &[])
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.text);

    // An update is held to the same rules, and leaves the row as it was.
    let id = created.body["id"].as_i64().unwrap();
    let mut update = valid();
    update["age"] = json!(-1);
    let reply = app
        .call(
            "PUT",
            &format!("/api/contacts/{id}"),
            Some(&admin),
            Some(update),
            &[],
        )
        .await;
    assert_eq!(reply.status.as_u16(), 422, "{}", reply.text);
    assert_eq!(reply.body["fields"][0]["field"], "age");
    assert_eq!(reply.body["fields"][0]["message"], "must be at least 0");
    let stored = app
        .call(
            "GET",
            &format!("/api/contacts/{id}"),
            Some(&admin),
            None,
            &[],
        )
        .await;
    assert_eq!(stored.body["age"], 36);
}

#[tokio::test]
async fn an_import_reports_a_row_that_breaks_a_rule_and_imports_the_others() {
    let app = app().await;
    let csv = "name,email,homepage,age,currency,code\n\
               Ada,ada@example.com,https://ada.example,36,EUR,AB-123\n\
               Bob,bob@example,,200,USD,CD-456\n\
               Cy,,,40,GBP,EF-789\n";
    let reply = app.import("contacts", csv, false).await;
    assert_eq!(reply.status.as_u16(), 202, "{}", reply.text);
    let job = app
        .finished_job("contacts", reply.body["jobId"].as_str().unwrap())
        .await;
    assert_eq!(job["successfulRows"], 1, "{job}");
    assert_eq!(job["failedRows"], 2, "{job}");
    let errors: Vec<(u64, String, String)> = job["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["field"].as_str().unwrap().to_owned(),
                e["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            (2, "age".to_owned(), "must be at most 150".to_owned()),
            (
                3,
                "currency".to_owned(),
                "must be one of EUR, USD".to_owned()
            ),
        ]
    );
    assert_eq!(total(&app).await, 1);
}
