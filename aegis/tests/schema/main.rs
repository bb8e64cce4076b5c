//! Schema evolution: a struct changes while its table holds rows. Additive
//! changes, renames and nullability are applied at install with every row
//! kept value by value; everything else is refused with an error naming
//! the module, the column and the way out, and the table is left as it was.
//! Runs on SQLite, and on PostgreSQL with `AEGIS_TEST_DATABASE_URL`.

use aegis::auth::Auth;
use aegis::schema::{Plan, Step};
use aegis::store::Db;
use aegis::testing::{SECRET, TestApp, fresh_postgres_database, test_database};
use aegis::{Aegis, Api, CrudEntity, Error, Limits, ModuleSettings};
use serde_json::{Value, json};

const SETTINGS: ModuleSettings = ModuleSettings {
    module: "budgets",
    with_events: true,
    with_import: false,
    with_history: true,
    sortable: None,
};

mod models;

use models::{owner_required, refused, v1, v2, v3};

fn api<T: CrudEntity>() -> Api {
    Api::new().module::<T>(SETTINGS)
}

fn runtime(db: &Db) -> Aegis {
    Aegis::new(db.clone(), Auth::new(SECRET), Limits::default())
}

async fn serve<T: CrudEntity>(db: &Db) -> TestApp {
    TestApp::on(runtime(db), api::<T>()).await
}

/// v1 with three budgets.
async fn v1_with_rows(db: &Db) -> TestApp {
    let app = serve::<v1::Budget>(db).await;
    for (name, amount) in [("Roads", 10.5), ("Parks", 20.0), ("Libraries", 0.25)] {
        let reply = app
            .call(
                "POST",
                "/api/budgets",
                Some(&app.admin()),
                Some(json!({"name": name, "amount": amount})),
                &[],
            )
            .await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.text);
    }
    app
}

async fn rows(app: &TestApp) -> Vec<Value> {
    let reply = app
        .call(
            "GET",
            "/api/budgets?pageSize=100",
            Some(&app.admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    reply.body["data"].as_array().unwrap().clone()
}

fn steps(plan: &Plan) -> Vec<Step> {
    plan.modules.iter().flat_map(|m| m.steps.clone()).collect()
}

async fn refusal<T: CrudEntity>(db: &Db) -> String {
    match api::<T>().install(&runtime(db)).await {
        Err(Error::Schema(error)) => error.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// After a refusal the table is still v1's: v1 plans nothing and serves
/// the same rows.
async fn untouched(db: &Db, before: &[Value]) {
    let plan = api::<v1::Budget>().plan(&runtime(db)).await.unwrap();
    assert!(plan.is_empty(), "the table changed:\n{plan}");
    assert_eq!(rows(&serve::<v1::Budget>(db).await).await, before);
}

#[tokio::test]
async fn additive_changes_keep_every_row_and_fill_new_columns() {
    let db = test_database().await;
    let old = v1_with_rows(&db).await;
    let before = rows(&old).await;

    let plan = api::<v2::Budget>().plan(&runtime(&db)).await.unwrap();
    assert_eq!(
        steps(&plan),
        vec![
            Step::AddColumn {
                column: "owner".into(),
                filled_with: None
            },
            Step::AddColumn {
                column: "currency".into(),
                filled_with: Some("''".into())
            },
            Step::AddColumn {
                column: "fiscal_year".into(),
                filled_with: Some("2026".into())
            },
            // `owner` and `currency` are text to search too.
            Step::FillSearch { rows: 3 },
        ]
    );
    let new = serve::<v2::Budget>(&db).await;
    let after = rows(&new).await;
    assert_eq!(after.len(), 3);
    for (old_row, new_row) in before.iter().zip(&after) {
        for key in ["id", "name", "amount", "version"] {
            assert_eq!(old_row[key], new_row[key], "{key} kept");
        }
        assert_eq!(new_row["owner"], Value::Null);
        assert_eq!(new_row["currency"], "");
        assert_eq!(new_row["fiscal_year"], 2026);
    }

    // Creates and edits work on the new model.
    let created = new
        .call(
            "POST",
            "/api/budgets",
            Some(&new.admin()),
            Some(json!({"name": "Ports", "amount": 5.0, "owner": "ana", "fiscal_year": 2027})),
            &[],
        )
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.text);
    assert_eq!(created.body["id"], 4, "ids continue");
    let edited = new
        .call(
            "PUT",
            "/api/budgets/1",
            Some(&new.admin()),
            Some(json!({"name": "Roads", "amount": 11.0, "owner": "bo", "currency": "EUR", "fiscal_year": 2026, "version": 1})),
            &[],
        )
        .await;
    assert_eq!(edited.status.as_u16(), 200, "{}", edited.text);
    assert_eq!(edited.body["currency"], "EUR");

    // The instance still running the previous build keeps working.
    let created_by_old = old
        .call(
            "POST",
            "/api/budgets",
            Some(&old.admin()),
            Some(json!({"name": "Old build", "amount": 1.0})),
            &[],
        )
        .await;
    assert_eq!(
        created_by_old.status.as_u16(),
        201,
        "{}",
        created_by_old.text
    );
    assert_eq!(rows(&old).await.len(), 5);
    let seen_by_new = new
        .call("GET", "/api/budgets/5", Some(&new.admin()), None, &[])
        .await;
    assert_eq!(
        (
            &seen_by_new.body["owner"],
            &seen_by_new.body["currency"],
            &seen_by_new.body["fiscal_year"]
        ),
        (&Value::Null, &json!(""), &json!(2026))
    );

    // Nothing left to do the second time.
    assert!(
        api::<v2::Budget>()
            .plan(&runtime(&db))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_rename_and_a_nullable_column_keep_every_value() {
    let db = test_database().await;
    v1_with_rows(&db).await;
    let v2 = serve::<v2::Budget>(&db).await;
    let before = rows(&v2).await;

    let applied = api::<v3::Budget>().install(&runtime(&db)).await.unwrap();
    assert_eq!(
        steps(&applied),
        vec![
            Step::RenameColumn {
                from: "name".into(),
                to: "title".into()
            },
            Step::MakeNullable {
                column: "amount".into()
            },
            Step::FillSearch { rows: 3 },
        ]
    );
    let v3 = serve::<v3::Budget>(&db).await;
    let after = rows(&v3).await;
    assert_eq!(after.len(), before.len());
    for (old, new) in before.iter().zip(&after) {
        assert_eq!(old["name"], new["title"]);
        for key in [
            "id",
            "amount",
            "owner",
            "currency",
            "fiscal_year",
            "version",
        ] {
            assert_eq!(old[key], new[key], "{key} kept");
        }
    }
    let found = v3
        .call("GET", "/api/budgets?q=LIBRAR", Some(&v3.admin()), None, &[])
        .await;
    assert_eq!(
        found.body["data"][0]["title"], "Libraries",
        "{}",
        found.text
    );
    assert_eq!(found.body["total"], 1);
    let created = v3
        .call(
            "POST",
            "/api/budgets",
            Some(&v3.admin()),
            Some(json!({"title": "Unpriced", "amount": null, "owner": null, "fiscal_year": 2026})),
            &[],
        )
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.text);
    assert_eq!(created.body["amount"], Value::Null);

    // The v2 instance still running names a column that is gone: an
    // error, never its own column name served as data.
    let stale = v2
        .call("GET", "/api/budgets", Some(&v2.admin()), None, &[])
        .await;
    assert_eq!(stale.status.as_u16(), 500, "{}", stale.text);
    assert_eq!(stale.body["code"], "internal");
    assert!(!stale.text.contains("\"name\":\"name\""), "{}", stale.text);
}

#[tokio::test]
async fn refused_changes_name_the_column_and_the_way_out_and_change_nothing() {
    let db = test_database().await;
    let app = v1_with_rows(&db).await;
    let before = rows(&app).await;

    assert_eq!(
        refusal::<refused::dropped::Budget>(&db).await,
        "the database does not match the modules, and 1 change(s) cannot be made \
         automatically:\n  - module `budgets`, column `amount`: the column is no longer a \
         field, and 3 row(s) hold a value in it; bring the field back, declare its new name \
         with `#[crud(renamed_from = \"amount\")]`, or allow dropping it \
         (`Api::allow_drop(\"budgets\", \"amount\")`)"
    );
    untouched(&db, &before).await;

    let retyped = refusal::<refused::retyped::Budget>(&db).await;
    assert!(
        retyped.contains(
            "module `budgets`, column `amount`: the column is DOUBLE PRECISION and the model \
             now stores TEXT (text); a type change is not made automatically"
        ),
        "{retyped}"
    );
    untouched(&db, &before).await;

    let required = refusal::<refused::required::Budget>(&db).await;
    assert!(
        required.contains(
            "module `budgets`, column `priority`: a new required column with no default, and \
             the 3 row(s) stored have no value for it; make the field an `Option`"
        ),
        "{required}"
    );
    untouched(&db, &before).await;

    let new_id = refusal::<refused::new_id::Budget>(&db).await;
    assert!(
        new_id
            .contains("module `budgets`, column `code`: the id field is not a column of the table"),
        "{new_id}"
    );
    untouched(&db, &before).await;

    let new_version = refusal::<refused::new_version::Budget>(&db).await;
    assert!(
        new_version.contains(
            "module `budgets`, column `revision`: the version was column `version`, the model \
             now versions with `revision`"
        ),
        "{new_version}"
    );
    untouched(&db, &before).await;

    // Dropping is allowed when the app says so, and then only that column goes.
    let allowed = Api::new()
        .module::<refused::dropped::Budget>(SETTINGS)
        .allow_drop("budgets", "amount")
        .install(&runtime(&db))
        .await
        .unwrap();
    assert_eq!(
        steps(&allowed),
        vec![Step::DropColumn {
            column: "amount".into(),
            rows_with_data: 3
        }]
    );
    let dropped = rows(&serve::<refused::dropped::Budget>(&db).await).await;
    for (old, new) in before.iter().zip(&dropped) {
        assert_eq!(
            (&old["id"], &old["name"], &old["version"]),
            (&new["id"], &new["name"], &new["version"])
        );
        assert!(new.get("amount").is_none());
    }
}

#[tokio::test]
async fn a_required_column_is_filled_by_its_default_or_refused() {
    let db = test_database().await;
    v1_with_rows(&db).await;
    let v2 = serve::<v2::Budget>(&db).await;
    let before = rows(&v2).await;

    let bare = refusal::<owner_required::bare::Budget>(&db).await;
    assert!(
        bare.contains(
            "module `budgets`, column `owner`: the field is now required, and 3 row(s) have no \
             value"
        ),
        "{bare}"
    );
    let plan = api::<v2::Budget>().plan(&runtime(&db)).await.unwrap();
    assert!(plan.is_empty(), "the table changed:\n{plan}");

    let applied = api::<owner_required::filled::Budget>()
        .install(&runtime(&db))
        .await
        .unwrap();
    assert_eq!(
        steps(&applied),
        vec![Step::MakeRequired {
            column: "owner".into(),
            filled_with: Some("'nobody'".into())
        }]
    );
    let after = rows(&serve::<owner_required::filled::Budget>(&db).await).await;
    for (old, new) in before.iter().zip(&after) {
        assert_eq!(new["owner"], "nobody");
        assert_eq!(
            (&old["name"], &old["amount"]),
            (&new["name"], &new["amount"])
        );
    }
}

#[tokio::test]
async fn events_and_replay_carry_across_a_migration() {
    let db = test_database().await;
    v1_with_rows(&db).await;
    let new = serve::<v2::Budget>(&db).await;
    let created = new
        .call(
            "POST",
            "/api/budgets",
            Some(&new.admin()),
            Some(json!({"name": "After", "amount": 1.0, "fiscal_year": 2026})),
            &[],
        )
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.text);
    let replayed = aegis::log::replay(&db, "budgets", 1, 100).await.unwrap();
    let seqs: Vec<u64> = replayed.iter().map(|e| e.seq()).collect();
    assert_eq!(seqs, vec![2, 3, 4], "the log goes on where it was");
    assert_eq!(replayed[2].message.data["currency"], "");
    assert_eq!(replayed[0].message.data["name"], "Parks");
}

/// Two instances starting together with a new build migrate once: the
/// second finds the work done.
#[tokio::test]
async fn two_instances_starting_together_migrate_once() {
    // On SQLite, two pools on one file (with its WAL files) in a folder
    // of its own, removed at the end.
    let (url, folder) = match fresh_postgres_database().await {
        Some(url) => (url, None),
        None => {
            let folder = std::env::temp_dir().join(format!("aegis-schema-{}", uuid_like()));
            std::fs::create_dir_all(&folder).unwrap();
            let url = format!("sqlite://{}?mode=rwc", folder.join("app.db").display());
            (url, Some(folder))
        }
    };
    let first = Db::connect(&url).await.unwrap();
    v1_with_rows(&first).await;
    let second = Db::connect(&url).await.unwrap();
    let (api_a, api_b) = (api::<v2::Budget>(), api::<v2::Budget>());
    let (runtime_a, runtime_b) = (runtime(&first), runtime(&second));
    let (a, b) = tokio::join!(api_a.install(&runtime_a), api_b.install(&runtime_b));
    let (a, b) = (a.unwrap(), b.unwrap());
    let applied: Vec<usize> = [&a, &b].iter().map(|p| p.statements().count()).collect();
    assert!(
        applied == [3, 0] || applied == [0, 3],
        "exactly one instance applies the three statements: {applied:?}"
    );
    assert_eq!(
        count_records(&first).await,
        2,
        "one record for the first model, one for the change"
    );
    first.pool().close().await;
    second.pool().close().await;
    if let Some(folder) = folder {
        let _ = std::fs::remove_dir_all(folder);
    }
}

async fn count_records(db: &Db) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) FROM aegis_schema WHERE module = 'budgets'")
        .fetch_one(db.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

fn uuid_like() -> String {
    aegis::export::uuid::Uuid::new_v4().simple().to_string()
}
