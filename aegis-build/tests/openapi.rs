//! The OpenAPI document aegis-build writes beside the web files and into
//! `aegis_modules.rs`: what the model puts in it. That it is valid OpenAPI
//! 3.1, and that the example app answers as it says, the end-to-end suite
//! checks (`example-app/web/e2e/openapi.test.mjs`).

mod common;

use common::{Crate, GENERATOR};
use serde_json::{Value, json};

fn document(krate: &Crate) -> (String, Value) {
    let generated = krate.config().generate().unwrap();
    let text = generated.web[std::path::Path::new(aegis_build::OPENAPI_PATH)].clone();
    let modules = &generated.rust[aegis_build::MODULES_FILE];
    assert!(
        modules.contains("pub const OPENAPI: &str = "),
        "aegis_modules.rs carries the document"
    );
    assert!(modules.contains(".openapi(OPENAPI)"));
    let value = serde_json::from_str(&text).unwrap();
    (text, value)
}

const BUDGETS: &str = "use aegis::crud_module;\n\
    #[crud_module]\npub struct Department { pub id: i64, pub name: String }\n\
    #[derive(serde::Serialize, serde::Deserialize)]\n\
    #[serde(rename_all = \"snake_case\")]\npub enum Status { Draft, Approved }\n\
    #[crud_module(with_import)]\npub struct Budget {\n    pub id: i64,\n    \
    #[crud(length(min = 1, max = 80))]\n    pub name: String,\n    \
    #[crud(min = 0)]\n    pub amount: f64,\n    pub approved: bool,\n    \
    pub status: Status,\n    pub note: Option<String>,\n    \
    #[crud(references = \"departments\")]\n    pub department: Option<i64>,\n    \
    pub version: i64,\n}\n";

#[test]
fn the_document_follows_the_model() {
    let krate = Crate::new(GENERATOR, &[("lib.rs", BUDGETS)]);
    let (text, doc) = document(&krate);
    assert!(
        text.lines().next().unwrap().contains(aegis_build::MARKER),
        "the writer knows it as generated"
    );
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "fixture API");

    // Routes: CRUD, export and bulk delete for each; import where it is on.
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/budgets",
        "/api/budgets/{id}",
        "/api/budgets/export",
        "/api/budgets/bulk-delete",
    ] {
        assert!(paths.contains_key(path), "{path}");
    }
    assert!(paths.contains_key("/api/budgets/import/{jobId}"));
    assert!(!paths.contains_key("/api/departments/import"));
    assert_eq!(doc["security"], json!([{ "bearer": [] }]));
    assert_eq!(paths["/healthz"]["get"]["security"], json!([]));

    // The entity, and what clients send, with the rules on the inputs only.
    let schemas = &doc["components"]["schemas"];
    let budget = &schemas["Budget"];
    assert_eq!(budget["properties"]["id"]["readOnly"], true);
    assert_eq!(
        budget["properties"]["note"]["type"],
        json!(["string", "null"])
    );
    assert_eq!(budget["properties"]["name"].get("minLength"), None);
    assert_eq!(
        budget["properties"]["department"]["x-aegis-references"],
        "departments"
    );
    assert_eq!(
        budget["properties"]["status"]["allOf"][0]["$ref"],
        "#/components/schemas/Status"
    );
    assert_eq!(schemas["Status"]["enum"], json!(["draft", "approved"]));
    let create = &schemas["BudgetCreate"];
    assert_eq!(create["properties"]["name"]["minLength"], 1);
    assert_eq!(create["properties"]["name"]["maxLength"], 80);
    assert_eq!(create["properties"]["amount"]["minimum"], 0);
    assert_eq!(
        create["required"],
        json!(["name", "amount", "approved", "status"])
    );
    assert_eq!(
        schemas["BudgetUpdate"]["required"]
            .as_array()
            .unwrap()
            .last(),
        Some(&json!("version"))
    );
    assert_eq!(
        schemas["BudgetList"]["properties"]["total"]["type"],
        "integer"
    );
    assert!(
        schemas.get("DepartmentConflict").is_none(),
        "no version, no conflict"
    );

    // The filters each field takes.
    let parameters: Vec<&str> = paths["/api/budgets"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in [
        "page",
        "pageSize",
        "q",
        "sort",
        "amount.gte",
        "name.contains",
        "note.empty",
        "status.in",
        "approved.eq",
    ] {
        assert!(parameters.contains(&name), "{name} in {parameters:?}");
    }
    for name in [
        "approved.in",
        "approved.gte",
        "amount.contains",
        "amount.empty",
        "status.gt",
    ] {
        assert!(!parameters.contains(&name), "{name} in {parameters:?}");
    }

    // The create example keeps the rules.
    let example =
        &paths["/api/budgets"]["post"]["requestBody"]["content"]["application/json"]["example"];
    assert!(
        example["name"]
            .as_str()
            .is_some_and(|n| !n.is_empty() && n.chars().count() <= 80)
    );
    assert!(example["amount"].as_f64().is_some_and(|a| a >= 0.0));
}

#[test]
fn a_type_named_like_a_protocol_body_is_refused() {
    // The collector refuses two types of one name among the app's own; the
    // document also holds the protocol's bodies and the entities' lists.
    let krate = Crate::new(
        GENERATOR,
        &[(
            "lib.rs",
            "#[derive(serde::Serialize, serde::Deserialize)]\npub struct ImportJob { pub label: String }\n\
             #[aegis::crud_module]\npub struct Post { pub id: i64, pub job: ImportJob }\n",
        )],
    );
    let error = krate.config().generate().unwrap_err().to_string();
    assert!(
        error.contains("cannot name two types `ImportJob`: aegis-protocol and module `posts`"),
        "{error}"
    );
}
