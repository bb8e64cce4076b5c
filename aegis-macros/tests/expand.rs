//! A crate using `#[crud_module]`, calling what it generates.

use aegis::{CrudEntity, FieldKind, FieldRole, crud_module};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[crud_module(with_events, with_import)]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Budget {
    pub id: i64,
    pub name: String,
    pub amount: f64,
    pub fiscal_year: i32,
    pub version: i64,
}

#[crud_module(name = "people", singular = "person")]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Human {
    #[crud(id)]
    pub code: String,
    /// The name people call them by.
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick_name: Option<String>,
    #[crud(readonly, label = "Joined")]
    pub joined_on: String,
    #[crud(skip)]
    pub password_hash: String,
    #[serde(skip)]
    pub visits: u32,
    pub r#type: Kind,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    #[default]
    Staff,
    Guest,
}

#[test]
fn budget_meta() {
    let meta = Budget::meta();
    assert_eq!(meta.module, "budgets");
    assert_eq!(meta.feature, "budgets");
    assert_eq!(meta.entity, "budget");
    assert_eq!(meta.entity_type, "Budget");
    let fields: Vec<_> = meta
        .fields
        .iter()
        .map(|f| (f.name, f.kind, f.role))
        .collect();
    assert_eq!(
        fields,
        [
            ("id", FieldKind::Integer, FieldRole::Id),
            ("name", FieldKind::Text, FieldRole::Data),
            ("amount", FieldKind::Float, FieldRole::Data),
            ("fiscal_year", FieldKind::Integer, FieldRole::Data),
            ("version", FieldKind::Integer, FieldRole::Version),
        ]
    );
    assert_eq!(meta.id_field().name, "id");
    assert_eq!(meta.version_field().unwrap().name, "version");
    assert_eq!(meta.fields[3].label, "Fiscal year");
}

#[test]
fn budget_create_and_update() {
    let create: BudgetCreate =
        serde_json::from_value(json!({"name": "Q1", "amount": 100.5, "fiscal_year": 2026}))
            .unwrap();
    let mut budget = Budget::from_create(3, create);
    assert_eq!(
        budget,
        Budget {
            id: 3,
            name: "Q1".into(),
            amount: 100.5,
            fiscal_year: 2026,
            version: 1,
        }
    );
    assert_eq!(budget.id(), &3);
    assert_eq!(budget.version(), Some(1));

    let update: BudgetUpdate = serde_json::from_value(
        json!({"name": "Q2", "amount": 7.0, "fiscal_year": 2027, "version": 1}),
    )
    .unwrap();
    assert_eq!(Budget::update_version(&update), Some(1));
    budget.apply_update(update);
    budget.set_version(2);
    assert_eq!(
        (budget.id, budget.name.as_str(), budget.version),
        (3, "Q2", 2)
    );

    // The update must carry the version it was based on.
    let missing_version = serde_json::from_value::<BudgetUpdate>(
        json!({"name": "Q2", "amount": 7.0, "fiscal_year": 2027}),
    );
    assert!(missing_version.unwrap_err().to_string().contains("version"));
}

#[test]
fn human_names_and_fields() {
    let meta = Human::meta();
    assert_eq!(meta.module, "people");
    assert_eq!(meta.feature, "people");
    assert_eq!(meta.entity, "person");
    assert_eq!(meta.entity_type, "Person");
    assert!(meta.version_field().is_none());
    let wire: Vec<_> = meta.fields.iter().map(|f| f.wire_name).collect();
    // `visits` is never serialised, so the runtime never sees it.
    assert_eq!(
        wire,
        [
            "code",
            "displayName",
            "nickName",
            "joinedOn",
            "passwordHash",
            "type"
        ]
    );
    let hash = meta
        .fields
        .iter()
        .find(|f| f.name == "password_hash")
        .unwrap();
    assert!(hash.hidden);
    let joined = meta.fields.iter().find(|f| f.name == "joined_on").unwrap();
    assert!(joined.readonly);
    assert_eq!(joined.label, "Joined");
    assert!(
        meta.fields
            .iter()
            .find(|f| f.name == "nick_name")
            .unwrap()
            .nullable
    );
    assert_eq!(meta.fields[5].kind, FieldKind::Json);
}

#[test]
fn human_inputs_read_the_same_json() {
    // Inputs repeat rename_all and field serde attributes; `nickName` may be
    // left out because of its `default`.
    let create: HumanCreate =
        serde_json::from_value(json!({"displayName": "Ada", "type": "guest"})).unwrap();
    assert_eq!(create.nick_name, None);
    let human = Human::from_create("h-1".into(), create);
    assert_eq!(human.code, "h-1");
    assert_eq!(human.display_name, "Ada");
    assert_eq!(human.r#type, Kind::Guest);
    // Readonly, skipped and transient fields start at their default.
    assert_eq!(human.joined_on, "");
    assert_eq!(human.password_hash, "");
    assert_eq!(human.visits, 0);
    assert_eq!(human.version(), None);

    // Readonly and skipped fields are not inputs: sent anyway, they are ignored.
    let update: HumanUpdate = serde_json::from_value(json!({
        "displayName": "Grace",
        "nickName": "G",
        "type": "staff",
        "joinedOn": "forged",
        "passwordHash": "forged",
    }))
    .unwrap();
    assert_eq!(Human::update_version(&update), None);
    let mut human = human;
    human.joined_on = "2026-01-01".into();
    human.apply_update(update);
    assert_eq!(human.display_name, "Grace");
    assert_eq!(human.nick_name.as_deref(), Some("G"));
    assert_eq!(human.joined_on, "2026-01-01");
    assert_eq!(human.password_hash, "");

    let json = serde_json::to_value(HumanCreate {
        display_name: "Ada".into(),
        nick_name: None,
        r#type: Kind::Staff,
    })
    .unwrap();
    assert_eq!(json, json!({"displayName": "Ada", "type": "staff"}));
}
